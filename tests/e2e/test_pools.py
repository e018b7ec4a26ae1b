"""Rehearsals with several worker pools (issue 13): each pool its own blue/green pair, cut over one after another
(or scaled up all at once with poolsInParallel), each drain touching only its own pool's old nodes, and every
invariant at the end: no pod lost, no budget violated, every workload at desired, nothing cordoned on the serving
colors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bluegreen.engine.naming import COLOR_LABEL, POOL_LABEL
from bluegreen.engine.progress import Event, GroupScaled, NodeDrained
from bluegreen.rehearsal import ExitCode, rehearse
from bluegreen.sandbox import world
from bluegreen.sandbox.scenario import load_scenario, parse_scenario

SPEED = 40.0
BUILTIN = Path(__file__).resolve().parents[2] / "bluegreen" / "sandbox" / "scenarios"


class PoolWatch:
    """A reporter that, at each drained node, reads from the sandbox's cluster the node's pool and color and the
    pools of every node cordoned at that moment; and records when each group was scaled."""

    def __init__(self, boxes: list) -> None:
        self.boxes = boxes
        self.drained: list[tuple[str, str, str]] = []  # (node, pool, color)
        self.cordoned_pools: list[set[str]] = []  # at each drained node: the pools of the cordoned nodes
        self.order: list[str] = []  # "scaled <group> <n>" / "drained <pool>"

    def emit(self, event: Event) -> None:
        if isinstance(event, GroupScaled):
            self.order.append(f"scaled {event.group} {event.desired}")
        if not isinstance(event, NodeDrained):
            return
        cluster = self.boxes[0].cluster
        with cluster.lock:
            nodes = {n["metadata"]["name"]: n for n in cluster.list("nodes")}
        labels = nodes[event.node]["metadata"]["labels"]
        pool = labels.get(POOL_LABEL, "workers")
        self.drained.append((event.node, pool, labels[COLOR_LABEL]))
        self.order.append(f"drained {pool}")
        self.cordoned_pools.append({n["metadata"]["labels"].get(POOL_LABEL, "workers")
                                    for n in nodes.values() if n["spec"].get("unschedulable")})


@pytest.fixture
def watch(monkeypatch) -> PoolWatch:
    boxes: list = []
    start = world.Sandbox.start.__func__

    def capturing_start(cls, *args, **kwargs):
        box = start(cls, *args, **kwargs)
        boxes.append(box)
        return box

    monkeypatch.setattr(world.Sandbox, "start", classmethod(capturing_start))
    return PoolWatch(boxes)


def assert_every_invariant(report) -> None:
    assert report.exit_code == ExitCode.OK, (report.error, report.budget_violations, report.pods_lost)
    assert report.budget_violations == [] and report.pods_lost == [] and report.pods_forced == []
    below = {k: v for k, v in report.final_availability.items() if v["ready"] != v["desired"] or v["pending"]}
    assert report.final_availability and below == {}
    assert report.cordoned_nodes == []
    assert {pool: state["serving_color"] for pool, state in report.final_pools.items()} == {
        "workers": "green", "gpu": "green"}, report.final_pools


def test_two_pools_cut_over_one_after_another_each_drain_on_its_own_nodes(watch: PoolWatch) -> None:
    report = rehearse(load_scenario("two-pools"), speed=SPEED, reporter=watch)
    assert_every_invariant(report)
    assert [(pool, color) for _, pool, color in watch.drained] == [("workers", "blue")] * 3 + [("gpu", "blue")] * 2
    # While a pool drains, only that pool's nodes are cordoned.
    assert [pools for pools in watch.cordoned_pools] == [{"workers"}] * 3 + [{"gpu"}] * 2
    # The gpu pool's new group scales up only after the default pool's drain (one pool's surge at a time).
    assert watch.order.index("scaled sandbox-gpu-green 2") > max(
        i for i, step in enumerate(watch.order) if step == "drained workers")
    (run,) = report.runs
    assert run.pool_colors == (("workers", "green"), ("gpu", "green"))
    assert {pool: len(nodes) for pool, nodes in run.pool_drained} == {"workers": 3, "gpu": 2}
    assert report.plan["ok"] and [p["pool"] for p in report.plan["pools"]] == ["workers", "gpu"]


def test_pools_in_parallel_cut_over_at_once_each_drain_on_its_own_nodes(watch: PoolWatch) -> None:
    document = yaml.safe_load((BUILTIN / "two-pools.yaml").read_text())
    document.update(name="two-pools-parallel", rollout={"poolsInParallel": True})
    scenario = parse_scenario(document, source="two-pools-parallel.yaml")
    assert scenario.pools_in_parallel
    report = rehearse(scenario, speed=SPEED, reporter=watch)
    assert_every_invariant(report)
    first_drain = min(i for i, step in enumerate(watch.order) if step.startswith("drained"))
    assert {"scaled sandbox-workers-green 3", "scaled sandbox-gpu-green 2"} <= set(watch.order[:first_drain])
    # Both drains run at once: the gpu pool's first node is done before the default pool's last one.
    assert watch.order.index("drained gpu") < max(i for i, s in enumerate(watch.order) if s == "drained workers")
    # Each pool's drain reported only nodes of its own pool, all of the old color.
    pool_of = {node: (pool, color) for node, pool, color in watch.drained}
    (run,) = report.runs
    assert {pool: sorted(pool_of[n] for n in nodes) for pool, nodes in run.pool_drained} == {
        "workers": [("workers", "blue")] * 3, "gpu": [("gpu", "blue")] * 2}


def test_a_workload_that_fits_no_pool_stops_the_rehearsal_at_its_plan() -> None:
    document = yaml.safe_load((BUILTIN / "two-pools.yaml").read_text())
    document["workloads"].append({"kind": "Deployment", "name": "big-infer", "replicas": 3, "cpu": "3",
                                  "nodeSelector": {"workload-class": "gpu"},
                                  "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}]})
    report = rehearse(parse_scenario(document, source="too-small.yaml"), speed=SPEED)
    assert report.exit_code == ExitCode.STOPPED and str(report.result) == "failed"
    assert not report.plan["ok"]
    # Packed largest first: big-infer takes one 3-CPU slot per gpu node, and inference no longer fits either.
    big, small = report.plan["blockers"]
    assert big.startswith("Deployment default/big-infer: 1 of its 3 pod(s) (3 CPU, 128Mi each) fit on no node")
    assert small.startswith("Deployment default/inference: 2 of its 2 pod(s)")
    assert all("pools.gpu.desiredCapacity" in b for b in (big, small))
    assert report.error.startswith("plan: 2 blocker(s)")
    assert report.final_state_error and report.runs[0].nodes_drained == ()


def test_a_crash_kills_every_pools_thread_and_the_rerun_finishes_both() -> None:
    document = yaml.safe_load((BUILTIN / "two-pools.yaml").read_text())
    document.update(name="two-pools-parallel-crash", rollout={"poolsInParallel": True},
                    runs=[{"to": "to", "crash": "after_first_node"}, {"to": "to"}])
    report = rehearse(parse_scenario(document, source="two-pools-parallel-crash.yaml"), speed=SPEED)
    crashed, rerun = report.runs
    assert (str(crashed.result), str(rerun.result)) == ("crashed", "ok"), [r.error for r in report.runs]
    # The process died at the first drained node: no pool finished its drain in that run.
    assert crashed.pool_drained == () and len(crashed.nodes_drained) == 1
    assert rerun.pool_colors == (("workers", "green"), ("gpu", "green"))
    assert_every_invariant(report)
