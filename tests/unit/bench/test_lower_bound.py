"""The lower bound of a serial cutover, computed from a scenario mapping alone."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bench.lower_bound import (
    NodeBound,
    allowed_disruptions,
    gates_seconds,
    lower_bound,
    node_bound,
    paced_lower_bound,
)
from bench.placement import PlacementError, initial_placement
from bench.shape import ShapeError, shape_from_mapping

BENCH_SCENARIOS = Path(__file__).resolve().parents[3] / "bench" / "scenarios"


def scenario(**overrides):
    base = {
        "name": "t",
        "nodes_per_color": 2,
        "node": {"cpu": "4", "memory": "16Gi", "pods": 10},
        "join_seconds": 60,
        "load_balancers": {"target_groups": 1, "healthy_after_seconds": 30},
        "placement": "packed",
        "workloads": [],
        # no start-up time of new pods unless a test sets it, so the arithmetic below reads plainly
        "timing": {"schedule_seconds": 0, "container_start_seconds": 0},
    }
    base.update(overrides)
    return shape_from_mapping(base)


def deployment(name, replicas, ready=10, grace=30, pdb=None, cpu="100m", kind="Deployment"):
    w = {"kind": kind, "name": name, "namespace": "app", "replicas": replicas, "cpu": cpu, "memory": "64Mi",
         "ready_seconds": ready, "grace_seconds": grace}
    if pdb is not None:
        w["pdb"] = pdb
    return w


@pytest.mark.parametrize(
    ("pdb", "replicas", "expected"),
    [
        (None, 2, 1),  # implicit budget: one ready replica at a time ...
        (None, 7, 1),  # ... the Deployment's default maxUnavailable 25% rounds down to 1 ...
        (None, 40, 10),  # ... and allows more when it is more than one
        ({"maxUnavailable": 2}, 5, 2),
        ({"maxUnavailable": "25%"}, 10, 3),  # 2.5 rounded up, as the disruption controller does
        ({"minAvailable": 3}, 5, 2),
        ({"minAvailable": "50%"}, 5, 2),  # desired healthy ceil(2.5) = 3
    ],
)
def test_allowed_disruptions_follow_the_disruption_controller(pdb, replicas, expected):
    shape = scenario(workloads=[deployment("w", replicas, pdb=pdb)])
    assert allowed_disruptions(shape.movable[0]) == expected


def test_a_budget_that_never_allows_a_disruption_is_named():
    shape = scenario(workloads=[deployment("stuck", 2, pdb={"minAvailable": 2})])
    with pytest.raises(ShapeError, match="app/stuck"):
        lower_bound(shape)


def test_gates_take_the_longer_of_join_plus_daemonset_and_target_health():
    ds = {"kind": "DaemonSet", "name": "agent", "namespace": "kube-system", "cpu": "50m", "memory": "32Mi",
          "ready_seconds": 5}
    assert gates_seconds(scenario(workloads=[ds])) == 65  # 60 join + 5 DaemonSet ready > 30 healthy
    slow_targets = scenario(workloads=[ds], load_balancers={"target_groups": 1, "healthy_after_seconds": 90})
    assert gates_seconds(slow_targets) == 90
    no_lbs = scenario(workloads=[ds], load_balancers={"target_groups": 0, "healthy_after_seconds": 90})
    assert gates_seconds(no_lbs) == 65


def test_deployment_chain_waits_for_each_replacement_and_the_last_pod_to_go():
    shape = scenario(workloads=[deployment("web", 4, ready=10, grace=30, pdb={"maxUnavailable": 1})])
    node = node_bound(0, {"app/web": 4}, {w.key: w for w in shape.movable})
    # 3 waves each freed by a Ready replacement (10 s), then the last pod needs its 30 s grace to be gone.
    assert (node.waves, node.seconds, node.critical_workload) == (4, 3 * 10 + 30, "app/web")


def test_statefulset_without_pdb_moves_one_pod_at_a_time():
    shape = scenario(workloads=[deployment("db", 40, kind="StatefulSet")])
    assert allowed_disruptions(shape.movable[0]) == 1


def test_statefulset_replacement_waits_for_the_old_pod_to_be_gone():
    shape = scenario(workloads=[deployment("db", 3, ready=20, grace=10, pdb={"maxUnavailable": 1},
                                           kind="StatefulSet")])
    node = node_bound(0, {"app/db": 2}, {w.key: w for w in shape.movable})
    assert node.seconds == 2 * (10 + 20)


def test_workloads_on_one_node_drain_concurrently_and_nodes_serially():
    shape = scenario(
        nodes_per_color=2,
        node={"cpu": "4", "memory": "16Gi", "pods": 4},
        workloads=[
            deployment("a", 4, ready=10, grace=5, pdb={"maxUnavailable": 2}),  # fills node 0: 2 waves
            deployment("b", 2, ready=7, grace=1),  # no PDB -> one at a time, on node 1
            deployment("c", 2, ready=1, grace=1, pdb={"maxUnavailable": 2}),  # node 1 too, one wave
        ],
    )
    assert [dict(n) for n in initial_placement(shape)] == [{"app/a": 4}, {"app/b": 2, "app/c": 2}]
    bound = lower_bound(shape)
    assert [n.seconds for n in bound.nodes] == [10 + 10, 7 + 7]
    assert bound.total_seconds == max(60, 30) + 20 + 14


def test_packed_placement_counts_daemonsets_against_node_room():
    ds = {"kind": "DaemonSet", "name": "agent", "namespace": "kube-system", "cpu": "1", "memory": "32Mi"}
    shape = scenario(node={"cpu": "2", "memory": "16Gi", "pods": 10},
                     workloads=[ds, deployment("w", 4, cpu="500m")])
    assert [dict(n) for n in initial_placement(shape)] == [{"app/w": 2}, {"app/w": 2}]


def test_spread_placement_balances_load():
    shape = scenario(nodes_per_color=3, placement="spread", workloads=[deployment("w", 6)])
    assert [dict(n) for n in initial_placement(shape)] == [{"app/w": 2}] * 3


def test_pods_that_fit_nowhere_are_named():
    shape = scenario(node={"cpu": "1", "memory": "16Gi", "pods": 10}, workloads=[deployment("big", 3, cpu="800m")])
    with pytest.raises(PlacementError, match="replica 2 of app/big"):
        initial_placement(shape)


def test_missing_required_field_is_named():
    with pytest.raises(ShapeError, match="nodes_per_color"):
        shape_from_mapping({"name": "x", "node": {"cpu": "1", "memory": "1Gi", "pods": 5}, "workloads": []})


@pytest.mark.parametrize("name", ["small", "medium", "large"])
def test_bench_scenarios_have_the_sizes_the_issue_asks_for(name):
    data = yaml.safe_load((BENCH_SCENARIOS / f"{name}.yaml").read_text())
    shape = shape_from_mapping(data, name)
    nodes, pods = {"small": (6, 60), "medium": (30, 600), "large": (150, 3000)}[name]
    assert shape.nodes_per_color == nodes
    movable_pods = sum(w.replicas for w in shape.movable)
    assert 0.9 * pods <= movable_pods + nodes * len(shape.daemonsets) <= 1.1 * pods
    kinds = {w.kind for w in shape.workloads}
    assert {"Deployment", "StatefulSet", "DaemonSet"} <= kinds
    assert any(w.pdb is not None for w in shape.movable) and any(w.pdb is None for w in shape.movable)
    placement = initial_placement(shape)
    # some two-replica Deployment without a PDB has both replicas on one node
    pairs = [w.key for w in shape.movable if w.kind == "Deployment" and w.replicas == 2 and w.pdb is None]
    assert any(node.get(key) == 2 for node in placement for key in pairs)
    assert lower_bound(shape, placement).total_seconds > 0


def test_statefulset_pods_are_placed_after_every_deployment():
    shape = scenario(
        nodes_per_color=2,
        node={"cpu": "4", "memory": "16Gi", "pods": 3},
        workloads=[deployment("db", 2, kind="StatefulSet"), deployment("web", 3)],
    )
    assert [dict(n) for n in initial_placement(shape)] == [{"app/web": 3}, {"app/db": 2}]


# -- the paced strategy's bound ----------------------------------------------------------------------------------


def test_paced_bound_is_gates_then_the_canary_node_then_the_longest_chain_across_the_other_nodes():
    shape = scenario(
        nodes_per_color=3,
        node={"cpu": "4", "memory": "16Gi", "pods": 4},
        workloads=[
            deployment("a", 8, ready=10, grace=5, pdb={"maxUnavailable": 2}),  # nodes 0 and 1
            deployment("b", 2, ready=7, grace=1),  # no PDB: one at a time, node 2
            deployment("c", 2, ready=1, grace=30, pdb={"maxUnavailable": 2}),  # node 2, one wave of 2
        ],
    )
    assert [dict(n) for n in initial_placement(shape)] == [{"app/a": 4}, {"app/a": 4}, {"app/b": 2, "app/c": 2}]
    bound = paced_lower_bound(shape)
    assert bound.canary == NodeBound(0, 10 + 10, "app/a", 2)
    chains = {c.workload: (c.pods, c.waves, c.seconds) for c in bound.chains}
    # a: its 4 pods on node 1 in 2 waves; b: 2 waves of 1 (7 s, then the last one 7 s); c: one wave, its 30 s grace
    assert chains == {"app/a": (4, 2, 10 + 10), "app/b": (2, 2, 7 + 7), "app/c": (2, 1, 30)}
    assert bound.critical.workload == "app/c"
    assert bound.total_seconds == 60 + 20 + 30
    # the serial bound drains the three nodes one after the other
    assert lower_bound(shape).total_seconds == 60 + 20 + 20 + max(14, 30)


def test_paced_chain_counts_a_workloads_pods_across_all_remaining_nodes_together():
    shape = scenario(nodes_per_color=4, placement="spread",
                     workloads=[deployment("web", 12, ready=10, grace=5, pdb={"maxUnavailable": 3})])
    bound = paced_lower_bound(shape)
    (chain,) = bound.chains
    # 9 pods on the three nodes after the canary, 3 per wave: 3 waves, not 3 nodes x 1 wave each in series
    assert (chain.pods, chain.waves, chain.seconds) == (9, 3, 2 * 10 + 10)
    assert bound.total_seconds == 60 + 10 + 30
    assert lower_bound(shape).total_seconds == 60 + 4 * 10


def test_canary_pause_counts_once_after_the_first_node_in_both_bounds():
    two = scenario(nodes_per_color=2, placement="spread", rollout={"canaryPauseSeconds": 45},
                   workloads=[deployment("web", 2, ready=10, grace=5)])
    assert paced_lower_bound(two).total_seconds == 60 + 10 + 45 + 10
    assert lower_bound(two).total_seconds == 60 + 10 + 45 + 10
    one = scenario(nodes_per_color=1, rollout={"canaryPauseSeconds": 45}, workloads=[deployment("web", 1, grace=5)])
    assert paced_lower_bound(one).chains == () and paced_lower_bound(one).total_seconds == 60 + 10
    assert lower_bound(one).total_seconds == 60 + 10


@pytest.mark.parametrize("name", ["small", "medium", "large"])
def test_paced_bound_of_the_bench_scenarios_is_below_the_serial_one(name):
    shape = shape_from_mapping(yaml.safe_load((BENCH_SCENARIOS / f"{name}.yaml").read_text()), name)
    paced, serial = paced_lower_bound(shape), lower_bound(shape)
    assert paced.gates_seconds == serial.gates_seconds
    assert paced.canary == serial.nodes[0]
    assert paced.total_seconds < serial.total_seconds


def test_every_new_pod_pays_its_start_before_its_readiness_delay_in_both_bounds():
    ds = {"kind": "DaemonSet", "name": "agent", "namespace": "kube-system", "cpu": "50m", "memory": "32Mi",
          "ready_seconds": 5}
    timing = {"schedule_seconds": 0.5, "container_start_seconds": 2}
    shape = scenario(nodes_per_color=2, placement="spread", timing=timing, workloads=[
        ds, deployment("web", 4, ready=10, grace=5, pdb={"maxUnavailable": 1}),
        deployment("db", 2, ready=8, grace=4, pdb={"maxUnavailable": 1}, kind="StatefulSet")])
    assert shape.start_seconds == 2.5
    assert gates_seconds(shape) == 60 + 2.5 + 5
    # each node: web 2 waves of 12.5 s; db one wave: gone (4 s), then started (2.5 s) and Ready (8 s)
    assert [n.seconds for n in lower_bound(shape).nodes] == [25, 25]
    (web, db) = sorted(paced_lower_bound(shape).chains, key=lambda c: c.workload, reverse=True)
    assert (web.workload, web.seconds, db.seconds) == ("app/web", 25, 14.5)
    sandbox_defaults = scenario(timing=None)
    assert sandbox_defaults.start_seconds == 1.0  # the sandbox's own timing when the scenario sets none
