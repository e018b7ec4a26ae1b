"""The drain's Kubernetes half on the fake API (no AWS): budgets, implicit budgets, moves, resumption."""

from __future__ import annotations

import pytest

from bluegreen.engine.drain import DrainRun, drain_old_nodes
from bluegreen.engine.errors import EvictionBlocked
from bluegreen.engine.groups import GroupSpec
from bluegreen.engine.progress import (
    CanaryPause,
    CollectingReporter,
    EvictionRefused,
    NodeAlreadyDrained,
    NodeDrained,
    PodEvicted,
)
from bluegreen.engine.settings import RolloutSettings
from tests.integration.engine.kube_world import start_kube_world

SETTINGS = RolloutSettings(poll_interval_s=1.0, eviction_timeout_s=20.0, node_drain_timeout_s=300.0,
                           workload_healthy_timeout_s=120.0)


def run_for(world, settings=SETTINGS):
    reporter = CollectingReporter()
    run = DrainRun(world.conn, GroupSpec("c", "blue", "ami-0old", 2), GroupSpec("c", "green", "ami-0new", 2),
               settings, reporter, world.clock)
    return run, reporter


def assert_invariants(summary: dict) -> None:
    assert summary["pods_lost"] == []
    assert summary["budget_violations"] == []
    if summary["pods_evicted"]:
        assert summary["pod_moves_per_evicted_pod"] == 1.0


@pytest.fixture
def world_factory(tmp_path):
    worlds = []

    def make(workloads, **kw):
        world = start_kube_world(tmp_path, workloads, **kw)
        worlds.append(world)
        return world

    yield make
    for world in worlds:
        world.stop()


def test_two_replicas_packed_without_pdb_are_never_both_down(world_factory):
    world = world_factory([dict(kind="Deployment", name="web", replicas=2, ready_seconds=3)])
    run, reporter = run_for(world)
    state = drain_old_nodes(run)
    drained, already = state.drained, state.already
    assert drained == ["blue-0", "blue-1"] and already == []
    summary = world.cluster.measurements.summary()
    assert_invariants(summary)
    assert summary["lowest_availability"]["default/web"]["lowest_ready"] == 1  # one at a time, never zero
    assert summary["pods_evicted"] == 2 and len(reporter.of(PodEvicted)) == 2
    for move in summary["pod_moves"]:
        assert move["from_node"].startswith("blue-") and move["to_node"].startswith("green-")
    nodes = {n["metadata"]["name"]: n for n in world.conn.kube.list_nodes()}
    assert all(nodes[f"blue-{i}"]["spec"].get("unschedulable") for i in range(2))
    assert nodes["blue-0"]["metadata"]["annotations"]["bluegreen.io/drain-state"] == "drained"


def test_rerun_recognises_drained_nodes_and_moves_nothing_twice(world_factory):
    world = world_factory([dict(kind="Deployment", name="web", replicas=3, ready_seconds=2, pdb={"minAvailable": 2}),
                           dict(kind="StatefulSet", name="db", replicas=2, ready_seconds=2)], placement="spread")
    run, _ = run_for(world)
    drain_old_nodes(run)
    evicted = world.cluster.measurements.summary()["pods_evicted"]
    again, reporter = run_for(world)
    state = drain_old_nodes(again)
    drained, already = state.drained, state.already
    assert drained == [] and already == ["blue-0", "blue-1"]
    assert len(reporter.of(NodeAlreadyDrained)) == 2 and not reporter.of(PodEvicted)
    summary = world.cluster.measurements.summary()
    assert summary["pods_evicted"] == evicted == 5
    assert_invariants(summary)
    assert summary["lowest_availability"]["default/web"]["lowest_ready"] >= 2


def test_a_budget_that_never_allows_stops_naming_pod_and_budget(world_factory):
    world = world_factory([dict(kind="Deployment", name="api", replicas=2, pdb={"minAvailable": 2})])
    run, reporter = run_for(world, SETTINGS.with_overrides(eviction_timeout_s=5.0))
    with pytest.raises(EvictionBlocked) as info:
        drain_old_nodes(run)
    assert info.value.pdb == "default/api-pdb" and info.value.pod.startswith("default/api-")
    assert "PodDisruptionBudget default/api-pdb" in str(info.value)
    assert reporter.of(EvictionRefused) and not reporter.of(NodeDrained)
    summary = world.cluster.measurements.summary()
    assert summary["pods_evicted"] == 0 and summary["evictions_refused"] >= 2
    pods = world.conn.kube.list_pods()
    assert len(pods) == 2 and all(p["spec"]["nodeName"].startswith("blue-") for p in pods)  # still serving


def test_forcing_past_a_budget_is_opt_in_and_reported(world_factory):
    world = world_factory([dict(kind="Deployment", name="api", replicas=1, pdb={"minAvailable": 1})])
    run, _ = run_for(world, SETTINGS.with_overrides(eviction_timeout_s=3.0, on_pdb_timeout="force"))
    drain_old_nodes(run)
    assert [f.budget for f in run.state.forced] == ["default/api-pdb"]
    assert run.state.forced[0].pod.startswith("default/api-") and run.state.forced[0].node == "blue-0"
    assert run.state.evicted == []  # a forced delete is not an eviction: it is reported apart
    pods = world.conn.kube.list_pods()
    assert all(p["spec"]["nodeName"].startswith("green-") for p in pods)


def test_parallel_nodes_still_respect_the_implicit_budget(world_factory):
    world = world_factory([dict(kind="Deployment", name="web", replicas=4, ready_seconds=2),
                           dict(kind="Deployment", name="cart", namespace="shop", replicas=2, ready_seconds=1)],
                          placement="spread")
    run, reporter = run_for(world, SETTINGS.with_overrides(max_parallel_nodes=2))
    drained = drain_old_nodes(run).drained
    assert sorted(drained) == ["blue-0", "blue-1"]
    summary = world.cluster.measurements.summary()
    assert_invariants(summary)
    assert summary["lowest_availability"]["default/web"]["lowest_ready"] == 3
    assert summary["lowest_availability"]["shop/cart"]["lowest_ready"] == 1
    assert all(p["spec"]["nodeName"].startswith("green-") for p in world.conn.kube.list_pods(namespace="shop"))


def test_canary_pause_once_after_the_first_drained_node(world_factory):
    world = world_factory([dict(kind="Deployment", name="web", replicas=2, ready_seconds=1)], placement="spread")
    run, reporter = run_for(world, SETTINGS.with_overrides(canary_pause_s=15.0))
    before = world.clock.now()
    drain_old_nodes(run)
    pauses = reporter.of(CanaryPause)
    assert [p.seconds for p in pauses] == [15.0]
    order = [type(e).__name__ for e in reporter.events]
    assert order.index("CanaryPause") == order.index("NodeDrained") + 1
    assert world.clock.now() - before >= 15.0
