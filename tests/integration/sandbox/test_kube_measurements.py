"""What the cluster measures: pod moves with lineage, lost pods, lowest availability, budget violations."""

from __future__ import annotations

import pytest

from bluegreen.sandbox.kube.cluster import FakeCluster
from bluegreen.sandbox.kube.errors import TooManyRequests
from bluegreen.sandbox.kube.objects import workload_objects
from tests.integration.sandbox.kube_fixtures import add_nodes, node_name


def _cluster() -> FakeCluster:
    cluster = FakeCluster(placement="packed")
    add_nodes(cluster, 3, pods=10)
    for obj in (workload_objects("Deployment", "web", replicas=2, ready_seconds=4, pdb={"minAvailable": 1})
                + workload_objects("Pod", "lonely")):
        cluster.apply(obj)
    cluster.settle(10)
    return cluster


def _names(cluster: FakeCluster, prefix: str) -> list[str]:
    return [p["metadata"]["name"] for p in cluster.list("pods") if p["metadata"]["name"].startswith(prefix)
            and not p["metadata"].get("deletionTimestamp")]


def test_nothing_is_recorded_before_start():
    cluster = _cluster()
    cluster.evict("default", _names(cluster, "web")[0], None)
    cluster.settle(20)
    summary = cluster.measurements.summary()
    assert summary["pods_evicted"] == 0 and summary["pod_moves"] == [] and summary["lowest_availability"] == {}


def test_moves_pair_evicted_pods_with_ready_replacements_and_follow_lineage():
    cluster = _cluster()
    cluster.measurements.start(cluster.now)
    first = _names(cluster, "web")[0]
    from_node = cluster.get("pods", "default", first)["spec"]["nodeName"]
    cluster.evict("default", first, None)
    at = cluster.now
    cluster.settle(at + 8)
    replacement = [n for n in _names(cluster, "web") if n != first]
    summary = cluster.measurements.summary()
    (move,) = summary["pod_moves"]
    assert move["pod"] == f"default/{first}" and move["original"] == f"default/{first}"
    assert move["from_node"] == from_node and move["how"] == "evicted"
    assert move["seconds"] == 7.0  # created on the next tick, bound on the one after, running 1 s later, Ready 4 s on
    new_name = move["replacement"].split("/")[1]
    assert new_name in replacement
    assert move["to_node"] == cluster.get("pods", "default", new_name)["spec"]["nodeName"]
    assert summary["pod_moves_per_evicted_pod"] == 1.0
    # Evicting the replacement again is a second move of the same original pod.
    cluster.evict("default", new_name, None)
    cluster.settle(cluster.now + 8)
    summary = cluster.measurements.summary()
    assert [m["original"] for m in summary["pod_moves"]] == [f"default/{first}"] * 2
    assert summary["pods_evicted"] == 2 and summary["pod_moves_per_evicted_pod"] == 2.0
    assert summary["pods_lost"] == [] and summary["budget_violations"] == []
    assert summary["lowest_availability"]["default/web"] == {"kind": "Deployment", "lowest_ready": 1, "desired": 2,
                                                             "budget": 1, "at": 11.0}  # first sample after the eviction


def test_refusals_lost_pods_and_budget_violations():
    cluster = _cluster()
    cluster.measurements.start(cluster.now)
    web = _names(cluster, "web")
    cluster.evict("default", web[0], None)
    with pytest.raises(TooManyRequests):
        cluster.evict("default", web[1], None)
    cluster.evict("default", "lonely", None)  # no budget, no controller: gone for good
    cluster.advance(cluster.now + 1)
    # Deleting (not evicting) the other web pod bypasses the PDB: 0 ready < budget 1.
    cluster.delete("pods", "default", web[1])
    cluster.advance(cluster.now + 1)
    summary = cluster.measurements.summary()
    assert summary["evictions_refused"] == 1 and summary["pods_evicted"] == 2 and summary["pods_deleted"] == 1
    assert summary["pods_lost"] == sorted(["default/lonely", f"default/{web[0]}", f"default/{web[1]}"])
    (violation,) = summary["budget_violations"]
    assert violation["workload"] == "default/web" and (violation["ready"], violation["budget"]) == (0, 1)
    cluster.settle(cluster.now + 10)
    summary = cluster.measurements.summary()
    assert summary["pods_lost"] == ["default/lonely"] and len(summary["pod_moves"]) == 2
    assert summary["lowest_availability"]["default/web"]["lowest_ready"] == 0


def test_pods_of_a_removed_node_count_as_killed_and_are_replaced():
    cluster = _cluster()
    cluster.measurements.start(cluster.now)
    cluster.remove_node(node_name(0))  # packed: everything was on the first node
    cluster.settle(cluster.now + 10)
    summary = cluster.measurements.summary()
    assert summary["pods_killed_by_node_removal"] == 3 and summary["pods_evicted"] == 0
    assert {m["how"] for m in summary["pod_moves"]} == {"node_removed"} and len(summary["pod_moves"]) == 2
    assert all(m["to_node"] == node_name(1) for m in summary["pod_moves"])
    assert summary["pods_lost"] == ["default/lonely"]
    assert summary["budget_violations"][0]["workload"] == "default/web"


def test_daemonsets_are_measured_over_established_pods_and_end_with_their_nodes():
    """Nodes joining (a DaemonSet pod still starting) or leaving (its pod ends with it) are not disruptions."""
    cluster = FakeCluster()
    old = add_nodes(cluster, 2, color="blue")
    for obj in workload_objects("DaemonSet", "agent", ready_seconds=5):
        cluster.apply(obj)
    cluster.settle(10)
    cluster.measurements.start(cluster.now)
    add_nodes(cluster, 2, color="green", start=2)
    cluster.settle(cluster.now + 2)  # the new nodes' agent pods exist but are not Ready yet
    assert cluster.measurements.summary()["budget_violations"] == []
    cluster.settle(cluster.now + 10)
    for name in old:
        cluster.remove_node(name)
    cluster.settle(cluster.now + 10)
    summary = cluster.measurements.summary()
    assert summary["budget_violations"] == [] and summary["pods_lost"] == []
    assert len(summary["daemonset_pods_ended"]) == 2
    assert summary["lowest_availability"]["default/agent"]["lowest_ready"] == 2
    # An established pod going away without its node is a real loss of availability.
    victim = next(p for p in cluster.list("pods") if p["metadata"]["name"].startswith("agent"))
    cluster.delete("pods", "default", victim["metadata"]["name"], grace_seconds=0)
    cluster.settle(cluster.now + 1)
    summary = cluster.measurements.summary()
    assert summary["lowest_availability"]["default/agent"]["lowest_ready"] == 1


@pytest.mark.parametrize(("strategy", "budget"), [
    (None, 6),  # defaulted like the real API server: maxUnavailable 25% of 8, rounded down
    ({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 1}}, 7),
    ({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "10%", "maxSurge": 1}}, 7),  # never below one
])
def test_implicit_budget_follows_the_deployments_own_max_unavailable(strategy, budget):
    cluster = FakeCluster()
    add_nodes(cluster, 2)
    for obj in workload_objects("Deployment", "queue", replicas=8):
        if strategy is not None and obj["kind"] == "Deployment":
            obj["spec"]["strategy"] = strategy
        cluster.apply(obj)
    cluster.settle(5)
    cluster.measurements.start(cluster.now)
    cluster.settle(cluster.now + 1)
    assert cluster.measurements.summary()["lowest_availability"]["default/queue"]["budget"] == budget
