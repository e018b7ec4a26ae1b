"""Pure decisions of a drain's units and of its stop: evictions, replacements, cordons, stop state, success."""

from __future__ import annotations

from bluegreen.engine.budgets import budget_from_json, loosen_advice, never_allows, scaling_up_helps
from bluegreen.engine.cordons import to_reclaim, to_release
from bluegreen.engine.drain import (
    DrainReport,
    ForcedPod,
    baseline_ready,
    describe_open_move,
    plan_batch,
    refusal_advice,
)
from bluegreen.engine.eviction import (
    EvictionOutcome,
    ForceDelete,
    GiveUp,
    MovePhase,
    PodMove,
    RetryAt,
    after_refusal,
    may_try_now,
    refusing_budget,
    replacement_due,
    should_report_refusal,
)
from bluegreen.engine.nodes import node_from_json
from bluegreen.engine.pods import pod_from_json
from bluegreen.engine.preflight import PreflightReport, plan_drain
from bluegreen.engine.readiness import judge_readiness
from bluegreen.engine.replacements import Health, below_baseline, judge_workload
from bluegreen.engine.settings import RolloutSettings
from bluegreen.engine.status import ColorStatus
from bluegreen.engine.stop import Shortfall, StopState, kept_off_by_cordon, must_release, shortfalls, workloads_to_check
from bluegreen.engine.view import ClusterView
from bluegreen.engine.workloads import WorkloadRef, WorkloadStatus
from tests.unit.engine.test_decisions import node_json, pod_json

WEB = WorkloadRef("Deployment", "default", "web")
OWNERS = {("default", "web-abc"): ("Deployment", "web")}
STATE = "bluegreen.io/drain-state"
SCHEDULER = "0/6 nodes are available: 3 Insufficient cpu, 3 node(s) were unschedulable."


def pending_json(name, *, message=SCHEDULER, reason="Unschedulable", owner=("ReplicaSet", "web-abc")):
    pod = pod_json(name, node=None, ready=False, phase="Pending", owner=owner)
    pod["status"]["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": reason, "message": message}]
    return pod


def status(desired=3, ready=3):
    return WorkloadStatus(WEB, desired, ready, ready, desired, True)


def test_pod_reads_its_scheduling_failure():
    pod = pod_from_json(pending_json("web-abc-9"))
    assert pod.pending_unschedulable and pod.unscheduled_message == SCHEDULER and kept_off_by_cordon(pod)
    gated = pod_from_json(pending_json("web-abc-8", reason="SchedulingGated", message="gated"))
    assert not gated.pending_unschedulable and gated.unscheduled_reason == "SchedulingGated"
    elsewhere = pod_from_json(pending_json("web-abc-7", message="0/3 nodes are available: 3 Insufficient cpu."))
    assert elsewhere.pending_unschedulable and not kept_off_by_cordon(elsewhere)
    assert pod_from_json(pod_json("web-abc-1")).unscheduled_reason is None


def test_refusal_retries_with_backoff_then_stops_or_forces():
    settings = RolloutSettings(eviction_timeout_s=60.0, poll_interval_s=5.0)
    retry = after_refusal(attempts=1, first_refused=0.0, now=10.0, settings=settings)
    assert isinstance(retry, RetryAt) and 10.0 < retry.at <= 10.0 + 30.0
    assert after_refusal(attempts=9, first_refused=0.0, now=60.0, settings=settings) == GiveUp(60.0)
    forcing = settings.with_overrides(on_pdb_timeout="force")
    assert after_refusal(attempts=9, first_refused=0.0, now=61.0, settings=forcing) == ForceDelete(61.0)
    assert should_report_refusal(1) and should_report_refusal(20) and not should_report_refusal(2)


def test_a_refused_move_waits_out_its_backoff_unless_its_budget_has_room():
    move = PodMove(pod_from_json(pod_json("web-abc-1")), WEB, next_try=20.0)
    assert not may_try_now(move, 10.0, budget_has_room=False)
    assert may_try_now(move, 10.0, budget_has_room=True) and may_try_now(move, 20.0, budget_has_room=False)
    move.phase = MovePhase.LEAVING
    assert not may_try_now(move, 30.0, budget_has_room=True) and move.open
    move.phase = MovePhase.GONE
    assert not move.open


def test_refusing_budget_is_namespaced_and_outcomes_are_typed():
    pod = pod_from_json(pod_json("web-abc-1", ns="shop"))
    assert refusing_budget("web-pdb", pod, []) == "shop/web-pdb"
    assert refusing_budget("other/x", pod, []) == "other/x"
    assert refusing_budget(None, pod, ["shop/a"]) == "shop/a" and refusing_budget(None, pod, []) is None
    assert EvictionOutcome("refused") is EvictionOutcome.REFUSED and EvictionOutcome.EVICTED == "evicted"


def test_open_moves_say_what_they_wait_on():
    pod = pod_from_json(pod_json("web-abc-1", node="old0"))
    assert "evicted 5s ago, still on old0" in describe_open_move(
        PodMove(pod, WEB, phase=MovePhase.LEAVING, left_at=10.0), 15.0)
    assert "refused by budget default/web 3 time(s)" in describe_open_move(
        PodMove(pod, WEB, attempts=3, pdb="default/web"), 15.0)
    assert "implicit budget" in describe_open_move(PodMove(pod, WEB), 15.0)


def test_workload_verdicts_tell_unschedulable_from_slow():
    ready = [pod_from_json(pod_json(f"web-abc-{i}")) for i in range(2)]
    pending = pod_from_json(pending_json("web-abc-9"))
    starting = pod_from_json(pod_json("web-abc-8", node="new0", ready=False))
    stuck = judge_workload(WEB, status(ready=2), ready + [pending])
    assert stuck.health is Health.UNSCHEDULABLE and stuck.unschedulable == (pending,)
    assert f'pod default/web-abc-9 is Pending, the scheduler says: "{SCHEDULER}"' in stuck.why()
    slow = judge_workload(WEB, status(ready=2), ready + [starting])
    assert slow.health is Health.STARTING and slow.starting == (starting,)
    assert slow.why(waited_s=42) == "2/3 Ready; slow: default/web-abc-8 on new0 placed but not Ready for 42s"
    whole = judge_workload(WEB, status(), ready + [pod_from_json(pod_json("web-abc-3"))])
    assert whole.health is Health.AVAILABLE and whole.whole
    # Even at its desired count, a Pending pod is not "whole" (success demands nothing Pending).
    assert judge_workload(WEB, status(), ready + [pod_from_json(pod_json("web-abc-3")), pending]).health is \
        Health.UNSCHEDULABLE
    assert judge_workload(WEB, None, []).health is Health.GONE


def test_stop_releases_the_cordon_when_a_pod_is_pending_or_a_workload_lost_ready_pods():
    ready = [pod_from_json(pod_json(f"web-abc-{i}")) for i in range(2)]
    slow = judge_workload(WEB, status(ready=2), ready)
    assert below_baseline(slow, 3) and not below_baseline(slow, 2) and not below_baseline(slow, None)
    assert must_release([slow], {WEB: 3})
    assert not must_release([slow], {WEB: 2})  # it was 2/3 before the run already: the drain took nothing
    stuck = judge_workload(WEB, status(ready=2), ready + [pod_from_json(pending_json("web-abc-9"))])
    assert must_release([stuck], {})
    whole = judge_workload(WEB, status(ready=2, desired=2), ready)
    assert [(s.workload, s.pending) for s in shortfalls([stuck, whole])] == [
        ("Deployment default/web", ("default/web-abc-9",))]


def test_workloads_to_check_adds_those_a_cordon_keeps_pending():
    pending = [pod_from_json(pending_json("web-abc-9")), pod_from_json(pending_json("lone", owner=None)),
               pod_from_json(pending_json("other-abc-1", message="0/3 nodes are available: 3 Insufficient cpu."))]
    refs = workloads_to_check({WorkloadRef("StatefulSet", "default", "db")}, pending, OWNERS)
    # The bare pod has no workload to wait on; a pod no cordon keeps away is not the drain's business.
    assert refs == {WEB, WorkloadRef("StatefulSet", "default", "db")}


def test_stop_state_states_the_truth_and_the_next_step():
    below = (Shortfall("Deployment default/big", 2, 3, "2/3 Ready; pod default/big-x is Pending", ("default/big-x",)),)
    released = StopState("blue", (), ("blue-0", "blue-1"), below)
    text = released.describe()
    assert "uncordoned 2 blue node(s) (blue-0, blue-1)" in text and "below desired: Deployment default/big" in text
    assert "still cordoned" not in text
    held = StopState("blue", ("blue-2",), (), ())
    assert "1 blue node(s) still cordoned (blue-2)" in held.describe() and "go back" in held.describe()
    assert "no blue node is cordoned" in StopState("blue", (), (), ()).describe()
    assert "could not be read" in StopState("blue", (), (), (), read_error="boom").describe()
    assert released.to_dict()["workloads_below_desired"][0]["pending"] == ["default/big-x"]


def test_cordons_reclaimed_and_released_are_only_the_drains_own():
    ours = node_from_json(node_json("a", "i-a", unschedulable=True, annotations={STATE: "drained"}))
    theirs = node_from_json(node_json("b", "i-b", unschedulable=True))
    annotated = node_from_json(node_json("c", "i-c", annotations={STATE: "cordoned"}))
    assert [n.name for n in to_reclaim([ours, theirs, annotated])] == ["a", "c"]
    assert [n.name for n in to_release([ours, theirs, annotated])] == ["a"]


def test_readiness_counts_a_cordoned_node_as_not_ready():
    from bluegreen.engine.groups import Instance

    nodes = [node_from_json(node_json("n1", "i-1", unschedulable=True))]
    verdict = judge_readiness([Instance("i-1", "InService", "Healthy", "a")], nodes, [], expected_ami="ami",
                              desired=1)
    assert not verdict.passed and "node n1 cordoned" in verdict.gaps[0] and "kubectl uncordon n1" in verdict.gaps[0]


def test_preflight_counts_no_room_on_a_cordoned_new_node():
    old = [node_from_json(node_json("old0", "i-o0", color="blue"))]
    new = [node_from_json(node_json("new0", "i-n0")), node_from_json(node_json("new1", "i-n1", unschedulable=True))]
    pods = [pod_from_json(pod_json(f"web-abc-{i}", node="old0", cpu="1500m")) for i in range(2)]
    report = plan_drain(ClusterView(tuple(old), tuple(new), tuple(pods), (), OWNERS), RolloutSettings(),
                        new_desired=2)
    assert report.cpu_free_m == 2000 and any("not enough CPU" in b for b in report.blockers)
    assert any("new1 is cordoned" in w for w in report.warnings)


def test_plan_batch_reverifies_the_drained_hint():
    drained = node_from_json(node_json("old0", "i-o0", color="blue", annotations={STATE: "drained"}))
    web = pod_from_json(pod_json("web-abc-1", node="old0"))
    agent = pod_from_json(pod_json("agent", node="old0", owner=("DaemonSet", "agent")))
    assert plan_batch([(drained, [agent])], RolloutSettings()).nodes[0].already_drained
    again = plan_batch([(drained, [agent, web])], RolloutSettings()).nodes[0]
    assert not again.already_drained and again.evictable == (web,)
    bare = pod_from_json(pod_json("lone", node="old0", owner=None))
    assert plan_batch([(drained, [bare])], RolloutSettings()).blockers


def test_baseline_counts_ready_pods_of_moving_workloads_only():
    old = (node_from_json(node_json("old0", "i-o0", color="blue")),)
    pods = (pod_from_json(pod_json("web-abc-1", node="old0")), pod_from_json(pod_json("web-abc-2", node="new0")),
            pod_from_json(pod_json("web-abc-3", node="new0", ready=False)),
            pod_from_json(pod_json("agent", node="old0", owner=("DaemonSet", "agent"))),
            pod_from_json(pod_json("lone", node="old0", owner=None)))
    view = ClusterView(old, (), pods, (), OWNERS)
    assert baseline_ready(view, {"old0"}, RolloutSettings(unmanaged_pods="evict")) == {WEB: 2}


def test_advice_never_suggests_force_for_a_waiting_workload_nor_scaling_where_it_cannot_help():
    zero = budget_from_json({"metadata": {"name": "z", "namespace": "default"}, "spec": {"maxUnavailable": 0}})
    full = budget_from_json({"metadata": {"name": "f", "namespace": "default"}, "spec": {"minAvailable": "100%"}})
    two = budget_from_json({"metadata": {"name": "t", "namespace": "default"}, "spec": {"minAvailable": 2}})
    assert not scaling_up_helps(zero) and not scaling_up_helps(full) and scaling_up_helps(two)
    assert "scale" not in loosen_advice(zero) and "maxUnavailable 0" in loosen_advice(zero)
    assert "scale" not in never_allows(full, 2) and "scale the workload up" in never_allows(two, 2)
    ready = [pod_from_json(pod_json(f"web-abc-{i}")) for i in range(2)]
    stuck = judge_workload(WEB, status(ready=2), ready + [pod_from_json(pending_json("web-abc-9"))])
    slow = judge_workload(WEB, status(ready=2), ready + [pod_from_json(pod_json("web-abc-8", ready=False))])
    for verdict in (stuck, slow):
        advice = refusal_advice(two, verdict)
        assert "force" not in advice and "scale" not in advice
    assert "Insufficient cpu" in refusal_advice(two, stuck)
    assert "scale" not in refusal_advice(full, None) and "onPdbTimeout=force" in refusal_advice(full, None)
    assert "scale the workload up" in refusal_advice(two, judge_workload(WEB, status(), ready + ready[:1]))


def test_a_forced_drain_reports_forced_not_ok():
    preflight = PreflightReport((), (), (), (), (), (), 0, 0, 0, 0)
    plain = DrainReport("old", "new", ("n",), (), ("default/a",), (), ("Deployment default/a",), 1.0, preflight)
    assert plain.result == "ok" and plain.to_dict()["forced"] == []
    forced = DrainReport("old", "new", ("n",), (), (), (ForcedPod("default/a", "n", "default/a-pdb"),), (), 1.0,
                         preflight, (("Deployment default/a", 1, 1),))
    data = forced.to_dict()
    assert forced.result == "forced" == data["result"] and data["pods_forced"] == ["default/a"]
    assert data["forced"] == [{"pod": "default/a", "node": "n", "budget": "default/a-pdb"}]
    assert data["verified"] == {"Deployment default/a": {"ready": 1, "desired": 1}}


def test_a_color_with_every_node_cordoned_or_no_pods_does_not_serve():
    base = dict(color="blue", group_name="g", exists=True, desired=3, nodes=3, app_pods=4)
    assert ColorStatus(**base).serving
    assert not ColorStatus(**base, cordoned_nodes=("a", "b", "c")).serving
    assert ColorStatus(**base, cordoned_nodes=("a", "b")).serving
    assert not ColorStatus(**{**base, "app_pods": 0}).serving
    assert ColorStatus(**{**base, "app_pods": 0}, cluster_has_app_pods=False).serving
    assert not ColorStatus(**{**base, "desired": 0}).serving


def test_status_lines_say_why_a_color_does_not_serve_and_what_is_below_desired():
    from bluegreen.engine.status import StatusReport

    blue = ColorStatus("blue", "c-workers-blue", True, desired=3, nodes=3, cordoned_nodes=("a", "b", "c"), app_pods=2)
    green = ColorStatus("green", "c-workers-green", True, desired=3, nodes=3, app_pods=4)
    why = '2/3 Ready; pod default/big-x is Pending, the scheduler says: "x"'
    below = (Shortfall("Deployment default/big", 2, 3, why),)
    report = StatusReport("c", (blue, green), below)
    text = "\n".join(report.lines())
    assert text.startswith("cluster c: serving green")
    assert "cordoned: a, b, c" in text and "not serving: every node cordoned" in text
    assert 'Deployment default/big 2/3 Ready; pod default/big-x is Pending' in text
    data = report.to_dict()
    assert data["serving"] == ["green"] and data["cordoned_nodes"] == ["a", "b", "c"]
    assert data["workloads_below_desired"][0]["ready"] == 2


def test_a_replacement_is_due_right_after_an_eviction_or_a_deletion():
    pod = pod_from_json(pod_json("web-abc-1"))
    assert not replacement_due(PodMove(pod, WEB), 10.0, 10.0)  # not evicted: nothing to replace yet
    evicted = PodMove(pod, WEB, phase=MovePhase.LEAVING, left_at=100.0)
    assert replacement_due(evicted, 105.0, 10.0) and not replacement_due(evicted, 111.0, 10.0)
    gone = PodMove(pod, WEB, phase=MovePhase.GONE, left_at=100.0, gone_at=140.0)  # a StatefulSet waits for this
    assert replacement_due(gone, 145.0, 10.0) and not replacement_due(gone, 151.0, 10.0)
