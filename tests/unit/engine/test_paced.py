"""The paced strategy's decisions (engine/paced.py) as plain data: which pods go in the next wave, when a
workload's gate opens, which nodes count as drained."""

from __future__ import annotations

import pytest

from bluegreen.engine.eviction import implicit_room
from bluegreen.engine.paced import (
    FULL_LOOK_EVERY,
    Candidate,
    GateStep,
    NodeMove,
    emptied_nodes,
    gate_needs_pods,
    gate_step,
    overdue_nodes,
    plan_wave,
)
from bluegreen.engine.workloads import WorkloadRef

WEB = WorkloadRef("Deployment", "shop", "web")
API = WorkloadRef("Deployment", "shop", "api")
WORKER = WorkloadRef("Deployment", "shop", "worker")
BARE = WorkloadRef("Pod", "shop", "debug")
JOB = WorkloadRef("Job", "shop", "report")


def pods(ref: WorkloadRef, ranks: list[int], budget: str | None = "shop/web-pdb", **kw) -> list[Candidate]:
    return [Candidate(f"shop/{ref.name}-{i}", ref, rank, (budget,) if budget else (), **kw)
            for i, rank in enumerate(ranks)]


def test_a_wave_takes_as_many_pods_as_the_budget_allows_oldest_node_first() -> None:
    candidates = pods(WEB, [4, 0, 3, 1, 2])
    wave = plan_wave(candidates, open_workloads={WEB}, budget_room={"shop/web-pdb": 2}, implicit={}, now=0.0)
    # ranks 0 and 1 (the two oldest nodes) go; the rest wait for the next wave
    assert wave.pods == ("shop/web-1", "shop/web-3")
    assert wave.workloads == {WEB: 2} and wave.probes == ()


def test_a_workload_whose_gate_is_closed_gets_nothing_whatever_its_budget_says() -> None:
    candidates = pods(WEB, [0, 1]) + pods(API, [0, 1], budget="shop/api-pdb")
    wave = plan_wave(candidates, open_workloads={API}, budget_room={"shop/web-pdb": 5, "shop/api-pdb": 1},
                     implicit={}, now=0.0)
    assert wave.pods == ("shop/api-0",)


def test_workloads_sharing_one_budget_share_its_room() -> None:
    candidates = pods(WEB, [0, 1], budget="shop/shared") + pods(API, [0, 1], budget="shop/shared")
    wave = plan_wave(candidates, open_workloads={WEB, API}, budget_room={"shop/shared": 3}, implicit={}, now=0.0)
    assert len(wave.pods) == 3 and wave.probes == ()


def test_a_pod_under_two_budgets_needs_room_in_both() -> None:
    candidates = [Candidate("shop/web-0", WEB, 0, ("shop/a", "shop/b")), Candidate("shop/web-1", WEB, 1, ("shop/a",))]
    wave = plan_wave(candidates, open_workloads={WEB}, budget_room={"shop/a": 1, "shop/b": 0}, implicit={}, now=0.0)
    assert wave.pods == ("shop/web-1",)


def test_unready_pods_cost_no_room() -> None:
    candidates = pods(WEB, [0, 1], ready=False) + pods(API, [2, 3], budget="shop/web-pdb")
    wave = plan_wave(candidates, open_workloads={WEB, API}, budget_room={"shop/web-pdb": 1}, implicit={}, now=0.0)
    assert wave.pods == ("shop/web-0", "shop/web-1", "shop/api-0")


def test_a_workload_without_a_pdb_takes_its_implicit_room() -> None:
    candidates = pods(WORKER, [0, 1, 2, 3], budget=None)
    wave = plan_wave(candidates, open_workloads={WORKER}, budget_room={}, implicit={WORKER: 2}, now=0.0)
    assert wave.pods == ("shop/worker-0", "shop/worker-1")
    none = plan_wave(candidates, open_workloads={WORKER}, budget_room={}, implicit={WORKER: 0}, now=0.0)
    assert none.pods == () and none.probes == ()  # no API budget to ask: nothing is probed


@pytest.mark.parametrize(("allowance", "desired", "ready", "room"), [
    (1, 2, 2, 1),  # whole: its allowance
    (25, 100, 100, 25),
    (25, 100, 90, 15),  # ten down already
    (1, 2, 1, 0),
    (2, 5, 7, 2),  # more Ready than desired (a surge) does not add room
])
def test_implicit_room_is_the_allowance_less_what_is_unavailable(allowance, desired, ready, room) -> None:
    assert implicit_room(allowance=allowance, desired=desired, ready=ready) == room


def test_no_implicit_room_while_the_controller_rolls_out_a_new_template() -> None:
    assert implicit_room(allowance=25, desired=100, ready=100, controller_rolling=True) == 0


def test_a_refused_pod_waits_out_its_backoff_unless_its_budget_shows_room() -> None:
    backing_off = [Candidate("shop/web-0", WEB, 0, ("shop/web-pdb",), next_try=10.0)]
    assert plan_wave(backing_off, open_workloads={WEB}, budget_room={"shop/web-pdb": 0}, implicit={},
                     now=5.0).pods == ()
    assert plan_wave(backing_off, open_workloads={WEB}, budget_room={"shop/web-pdb": 1}, implicit={},
                     now=5.0).pods == ("shop/web-0",)
    assert plan_wave(backing_off, open_workloads={WEB}, budget_room={"shop/web-pdb": 0}, implicit={},
                     now=10.0).probes == ("shop/web-0",)


def test_an_open_workload_whose_budget_shows_no_room_gets_one_probe_so_the_api_answers() -> None:
    candidates = pods(WEB, [2, 0, 1])
    wave = plan_wave(candidates, open_workloads={WEB}, budget_room={"shop/web-pdb": 0}, implicit={}, now=0.0)
    assert wave.pods == wave.probes == ("shop/web-1",)  # its oldest node's pod, and only one
    assert wave.workloads == {WEB: 1}
    unknown = plan_wave(candidates, open_workloads={WEB}, budget_room={}, implicit={}, now=0.0)
    assert unknown.probes == ("shop/web-1",)  # a budget not read counts as no room


def test_no_probe_for_a_workload_that_got_pods_in_this_wave() -> None:
    candidates = pods(WEB, [0, 1, 2])
    wave = plan_wave(candidates, open_workloads={WEB}, budget_room={"shop/web-pdb": 1}, implicit={}, now=0.0)
    assert wave.pods == ("shop/web-0",) and wave.probes == ()


def test_bare_pods_go_at_once_and_job_pods_only_once_released() -> None:
    candidates = [Candidate("shop/debug", BARE, 3), Candidate("shop/report-x", JOB, 0, held=True),
                  Candidate("shop/report-y", JOB, 1)]
    wave = plan_wave(candidates, open_workloads=set(), budget_room={}, implicit={}, now=0.0)
    assert wave.pods == ("shop/report-y", "shop/debug")


@pytest.mark.parametrize(("whole", "unschedulable", "waited", "step"), [
    (True, False, 999.0, GateStep.OPEN),
    (False, True, 1.0, GateStep.UNSCHEDULABLE),
    (False, False, 10.0, GateStep.WAIT),
    (False, False, 600.0, GateStep.TIMED_OUT),
])
def test_a_gate_opens_when_the_moved_pods_are_ready_and_stops_when_they_cannot_be(whole, unschedulable, waited,
                                                                                  step) -> None:
    assert gate_step(whole=whole, unschedulable=unschedulable, waited_s=waited, timeout_s=600.0) is step


def test_nodes_are_drained_as_they_empty_in_drain_order_once_each() -> None:
    order = ["n0", "n1", "n2", "n3"]
    assert emptied_nodes(order, {"n0": 0, "n1": 2, "n3": 0}, set()) == ["n0", "n2", "n3"]
    assert emptied_nodes(order, {"n1": 1}, {"n0", "n2", "n3"}) == []
    assert emptied_nodes(order, {}, {"n0", "n2", "n3"}) == ["n1"]


@pytest.mark.parametrize(("status_whole", "excused", "looks", "waited", "reads_pods"), [
    (True, False, 0, 1.0, True),  # the controller says whole: the pods confirm it (Ready, nothing Pending)
    (False, False, 0, 1.0, False),  # still short by its own count: one read of its status is enough
    (False, False, FULL_LOOK_EVERY - 1, 5.0, True),  # now and then the pods anyway (a Pending replacement, named)
    (False, True, 0, 1.0, True),  # an unready pod not moved yet may be excused: only its pods can tell
    (False, False, 0, 600.0, True),  # at the timeout the message quotes the pods
])
def test_a_gate_reads_the_pods_only_when_they_can_decide(status_whole, excused, looks, waited, reads_pods) -> None:
    assert gate_needs_pods(status_whole=status_whole, excused=excused, status_only_looks=looks, waited_s=waited,
                           timeout_s=600.0) is reads_pods


def test_a_paced_node_times_out_from_its_first_eviction_not_from_the_start_of_the_phase():
    moves = [
        NodeMove("n1", 100.0, False), NodeMove("n1", 400.0, True),  # first eviction at 100, one pod still open
        NodeMove("n2", None, True),  # queued behind its workloads' next waves: no clock yet
        NodeMove("n3", 900.0, True),  # started late
        NodeMove("n4", 50.0, False),  # emptied
    ]
    assert overdue_nodes(moves, now=1000.0, timeout_s=1000.0) == []
    assert overdue_nodes(moves, now=1100.0, timeout_s=1000.0) == ["n1"]
    assert overdue_nodes(moves, now=1900.0, timeout_s=1000.0) == ["n1", "n3"]  # the longest-waiting first
