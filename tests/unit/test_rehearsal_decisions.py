"""The rehearsal's pure decisions over plain data: which color a run serves, the exit code, and the final state
(serving color, availability) measured from nodes and pods."""

from __future__ import annotations

import pytest

from bluegreen.rehearsal import ColorChoiceRefused, ColorState, ExitCode, choose_colors, exit_code
from bluegreen.sandbox.outcome import ColorNodes, availability, final_state, serving

OLD, NEW = "ami-0aaaaaaaaaaaaaaaa", "ami-0bbbbbbbbbbbbbbbb"


def states(blue: tuple[bool, str | None], green: tuple[bool, str | None]) -> dict[str, ColorState]:
    return {"blue": ColorState("blue", *blue), "green": ColorState("green", *green)}


@pytest.mark.parametrize(
    ("blue", "green", "ami", "target", "drain"),
    [
        ((True, OLD), (False, OLD), NEW, "green", True),  # a cutover: drain blue
        ((True, OLD), (False, OLD), OLD, "blue", False),  # unchanged config: nothing to do
        ((True, OLD), (True, NEW), NEW, "green", True),  # interrupted cutover, resumed
        ((True, OLD), (True, NEW), OLD, "blue", True),  # interrupted cutover, going back
        ((False, OLD), (True, NEW), OLD, "blue", True),  # after a finished cutover, going back
        ((False, None), (False, None), NEW, "blue", False),  # nothing deployed
    ],
)
def test_the_run_picks_the_color_the_program_would(blue, green, ami, target, drain) -> None:
    choice = choose_colors(states(blue, green), ami)
    assert (choice.target, choice.drain_other) == (target, drain)
    assert choice.other != choice.target


@pytest.mark.parametrize(("blue", "green"), [((True, OLD), (True, OLD)), ((True, OLD), (True, NEW))])
def test_both_serving_without_exactly_one_on_the_ami_is_refused(blue, green) -> None:
    ami = "ami-0cccccccccccccccc" if green[1] == NEW else OLD
    with pytest.raises(ColorChoiceRefused, match="both colors serve"):
        choose_colors(states(blue, green), ami)


@pytest.mark.parametrize(
    ("result", "violations", "lost", "forced", "code"),
    [
        ("ok", [], [], [], ExitCode.OK),
        ("failed", [], [], [], ExitCode.STOPPED),
        ("crashed", [], [], [], ExitCode.STOPPED),
        ("forced", [], [], ["default/a"], ExitCode.UNSAFE),
        ("ok", [{"workload": "default/web"}], [], [], ExitCode.UNSAFE),
        ("ok", [], ["default/web-1"], [], ExitCode.UNSAFE),
        ("failed", [], ["default/web-1"], [], ExitCode.UNSAFE),
    ],
)
def test_exit_codes(result, violations, lost, forced, code) -> None:
    assert exit_code(result, budget_violations=violations, pods_lost=lost, pods_forced=forced) == code


def node(name: str, color: str, *, cordoned: bool = False, ready: bool = True) -> dict:
    return {"metadata": {"name": name, "labels": {"bluegreen.io/color": color}},
            "spec": {"unschedulable": cordoned} if cordoned else {},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def pod(name: str, owner: str, on: str | None, *, ready: bool = True, terminating: bool = False) -> dict:
    meta: dict = {"name": name, "namespace": "default", "uid": name, "labels": {"owner": owner}}
    if terminating:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": meta, "spec": {"nodeName": on} if on else {},
            "status": {"phase": "Running" if on else "Pending",
                       "conditions": [{"type": "Ready", "status": "True" if ready and on else "False"}]}}


def owner_of(p: dict):
    owner = p["metadata"]["labels"]["owner"]
    kind = "DaemonSet" if owner == "agent" else "Deployment"
    return (kind, "default", owner)


WEB = {"kind": "Deployment", "metadata": {"namespace": "default", "name": "web"}, "spec": {"replicas": 3}}


def test_availability_counts_ready_and_pending_but_not_terminating_pods() -> None:
    pods = [pod("w1", "web", "b1"), pod("w2", "web", "b1", terminating=True), pod("w3", "web", None),
            pod("w4", "web", "g1", ready=False)]
    found = availability([WEB], pods, owner_of)
    assert {k: v.to_dict() for k, v in found.items()} == {"default/web": {"ready": 1, "desired": 3, "pending": 1}}
    assert not found["default/web"].at_desired


def test_the_serving_color_is_where_the_application_pods_run_on_nodes_that_take_pods() -> None:
    nodes = [node("b1", "blue", cordoned=True), node("b2", "blue", cordoned=True), node("g1", "green")]
    pods = [pod("w1", "web", "g1"), pod("w2", "web", "g1"), pod("w3", "web", "g1"), pod("a1", "agent", "b1")]
    state = final_state(nodes, pods, [WEB], owner_of)
    assert state.serving_color == "green"  # the DaemonSet pod on blue does not count
    assert state.cordoned_nodes == ("b1", "b2")
    assert state.colors["blue"] == ColorNodes(nodes=2, schedulable=0, application_pods=0)
    assert state.below_desired == {}


def test_no_serving_color_when_pods_sit_on_cordoned_nodes_or_on_both_colors() -> None:
    color, why = serving({"blue": ColorNodes(3, 0, 5), "green": ColorNodes(3, 3, 0)})
    assert color is None and "none of its 3 node(s) takes pods" in why
    color, why = serving({"blue": ColorNodes(3, 3, 1), "green": ColorNodes(3, 3, 4)})
    assert color is None and "both colors: blue (1) and green (4)" in why
    assert serving({"blue": ColorNodes(0, 0, 0), "green": ColorNodes(2, 2, 0)})[0] == "green"


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


class FakeSandbox:
    """Just what ``settle`` reads: a clock, the scenario's join delay, and a cluster (snapshots are scripted)."""

    def __init__(self, join_seconds: float = 10.0) -> None:
        self.clock = FakeClock()
        self.scenario = type("S", (), {"join_seconds": join_seconds})()
        self.cluster = object()


def scripted(monkeypatch, sandbox: FakeSandbox, states) -> None:
    """The cluster as ``states(t)`` describes it at the sandbox's simulated time t."""
    import bluegreen.sandbox.outcome as outcome

    monkeypatch.setattr(outcome, "snapshot", lambda _cluster: states(sandbox.clock.t))


def snap(pods: list[dict]):
    from bluegreen.sandbox.outcome import ClusterSnapshot

    return ClusterSnapshot(nodes=[node("g1", "green")], pods=pods, workloads=[WEB],
                           owners={p["metadata"]["uid"]: owner_of(p) for p in pods})


def test_settle_lets_started_pods_become_ready_then_stops(monkeypatch) -> None:
    from bluegreen.rehearsal import settle

    sandbox = FakeSandbox()
    scripted(monkeypatch, sandbox, lambda t: snap([pod("w1", "web", "g1"), pod("w2", "web", "g1"),
                                                  pod("w3", "web", "g1", ready=t >= 30)]))
    done = settle(sandbox, 1.0)
    assert done.how == "at desired" and 30 <= done.seconds <= 31


def test_settle_gives_up_on_a_pod_pending_for_good_once_quiet(monkeypatch) -> None:
    from bluegreen.rehearsal import SETTLE_QUIET_S, settle

    sandbox = FakeSandbox()
    scripted(monkeypatch, sandbox, lambda t: snap([pod("w1", "web", "g1"), pod("w2", "web", "g1"),
                                                  pod("w3", "web", None)]))
    done = settle(sandbox, 1.0)
    assert done.how == "quiet" and SETTLE_QUIET_S <= done.seconds <= SETTLE_QUIET_S + 1


def test_settle_is_bounded_while_pods_keep_starting(monkeypatch) -> None:
    from bluegreen.rehearsal import settle

    sandbox = FakeSandbox()
    scripted(monkeypatch, sandbox, lambda t: snap([pod("w1", "web", "g1"), pod("w2", "web", "g1"),
                                                  pod("w3", "web", "g1", ready=False)]))
    done = settle(sandbox, 5.0, limit_s=120.0)
    assert done.how == "limit" and 120 <= done.seconds <= 125


def test_the_benchmark_driver_finds_the_rehearsals_cutover() -> None:
    import bench.ours
    from bluegreen.rehearsal import cutover

    assert bench.ours.cutover is cutover
