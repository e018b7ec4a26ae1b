"""Controllers of the fake cluster under manual advance(): scheduling, workloads, kubelet, determinism."""

from __future__ import annotations

import time

import pytest

from bluegreen.sandbox.kube.cluster import FakeCluster
from bluegreen.sandbox.kube.errors import AlreadyExists, TooManyRequests
from bluegreen.sandbox.kube.objects import WorkloadSpecError, workload_objects
from tests.integration.sandbox.kube_fixtures import add_nodes, demo_cluster, node_name, ready_pods


def _ready(pod: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))


def _cordon(cluster: FakeCluster, name: str) -> None:
    cluster.patch("nodes", None, name, {"spec": {"unschedulable": True}}, "application/strategic-merge-patch+json")


def _snapshot(cluster: FakeCluster) -> list[tuple]:
    return [(p["metadata"]["namespace"], p["metadata"]["name"], p["metadata"]["uid"], p["spec"].get("nodeName"),
             p["status"].get("phase"), _ready(p), p["metadata"]["resourceVersion"]) for p in cluster.list("pods")]


def test_demo_cluster_builds_and_settles_in_under_five_seconds():
    started = time.perf_counter()
    cluster = demo_cluster(settle_until=20)  # db: 3 pods one after another, 3 s each
    elapsed = time.perf_counter() - started
    assert elapsed < 5.0, f"building and settling took {elapsed:.2f}s"
    pods = cluster.list("pods")
    assert len(pods) == 3 + 3 + 4 + 6 + 1 and all(_ready(p) for p in pods)
    assert {p["spec"]["nodeName"] for p in pods if p["metadata"]["name"].startswith("agent-")} == {
        node_name(i) for i in range(6)}
    statuses = {p["metadata"]["name"]: p["status"] for p in cluster.list("poddisruptionbudgets")}
    assert {k: (v["currentHealthy"], v["desiredHealthy"], v["disruptionsAllowed"], v["expectedPods"])
            for k, v in statuses.items()} == {"web-pdb": (3, 2, 1, 3), "db-pdb": (3, 2, 1, 3), "api-pdb": (4, 3, 1, 4)}


def _scripted_run(seed: int) -> list[tuple]:
    cluster = demo_cluster(seed=seed)
    for i in range(3):
        _cordon(cluster, node_name(i))
    cluster.advance(61)
    for pod in cluster.list("pods"):
        if pod["spec"]["nodeName"] == node_name(0) and not pod["metadata"]["name"].startswith("agent-"):
            try:
                cluster.evict(pod["metadata"]["namespace"], pod["metadata"]["name"], None)
            except TooManyRequests:
                pass
    cluster.settle(80)
    cluster.remove_node(node_name(1))
    cluster.settle(100)
    return _snapshot(cluster)


def test_controllers_are_deterministic_for_a_given_sequence_of_calls():
    first, second = _scripted_run(seed=3), _scripted_run(seed=3)
    assert first == second
    assert _scripted_run(seed=4) != first  # the seed matters (names and uids), so the comparison is not vacuous


def test_evicted_pods_are_recreated_only_on_schedulable_nodes():
    cluster = demo_cluster()
    blue = [node_name(i) for i in range(3)]
    for name in blue:
        _cordon(cluster, name)
    cluster.measurements.start(cluster.now)
    movable = [p for p in cluster.list("pods") if p["spec"]["nodeName"] in blue
               and not p["metadata"]["name"].startswith(("agent-", "lonely"))]
    pending = [(p["metadata"]["namespace"], p["metadata"]["name"]) for p in movable]
    t = cluster.now
    while pending and t < cluster.now + 300:
        namespace, name = pending[0]
        try:
            cluster.evict(namespace, name, None)
            pending.pop(0)
        except TooManyRequests:
            pass
        t += 1
        cluster.advance(t)
    assert not pending
    cluster.settle(cluster.now + 30)
    for pod in cluster.list("pods"):
        name = pod["metadata"]["name"]
        if not name.startswith(("agent-", "lonely")):
            assert pod["spec"]["nodeName"] not in blue, f"{name} landed on a cordoned node"
            assert _ready(pod)
    summary = cluster.measurements.summary()
    assert summary["pods_evicted"] == len(movable)
    assert len(summary["pod_moves"]) == len(movable) and summary["pod_moves_per_evicted_pod"] == 1.0
    assert all(m["from_node"] in blue and m["to_node"] not in blue for m in summary["pod_moves"])
    assert summary["pods_lost"] == [] and summary["budget_violations"] == []
    assert summary["evictions_refused"] > 0  # web and db had to wait for their replacements
    lowest = summary["lowest_availability"]
    assert lowest["default/web"]["lowest_ready"] == 2 and lowest["default/web"]["budget"] == 2
    assert lowest["data/db"]["lowest_ready"] >= 2 and lowest["default/agent"]["lowest_ready"] == 6


def test_placement_packed_fills_first_nodes_and_spread_balances():
    for placement, expected in (("packed", {node_name(0): 4}), ("spread", {node_name(i): 1 for i in range(4)})):
        cluster = FakeCluster(placement=placement)
        add_nodes(cluster, 4, cpu="1", pods=10)
        for obj in workload_objects("Deployment", "web", replicas=4, cpu="250m"):
            cluster.apply(obj)
        cluster.settle(5)
        counts: dict[str, int] = {}
        for pod in cluster.list("pods"):
            counts[pod["spec"]["nodeName"]] = counts.get(pod["spec"]["nodeName"], 0) + 1
        assert counts == expected, placement


def test_scheduler_honours_selectors_taints_and_resources():
    cluster = FakeCluster(placement="packed")
    add_nodes(cluster, 2, color="blue", cpu="1")
    add_nodes(cluster, 1, color="green", start=2, cpu="1")
    cluster.patch("nodes", None, node_name(1), {"spec": {"taints": [{"key": "dedicated", "value": "db",
                                                                     "effect": "NoSchedule"}]}},
                  "application/merge-patch+json")
    objects = workload_objects("Deployment", "green-only", replicas=2, cpu="300m")
    objects[0]["spec"]["template"]["spec"]["nodeSelector"] = {"bluegreen.io/color": "green"}
    objects += workload_objects("Deployment", "tolerant", replicas=1, cpu="100m",
                                tolerations=[{"key": "dedicated", "operator": "Equal", "value": "db",
                                              "effect": "NoSchedule"}])
    objects += workload_objects("Deployment", "huge", replicas=1, cpu="4")
    for obj in objects:
        cluster.apply(obj)
    cluster.settle(5)
    pods = {p["metadata"]["labels"]["app.kubernetes.io/name"] + str(i): p
            for i, p in enumerate(cluster.list("pods"))}
    placed = {k: p["spec"].get("nodeName") for k, p in pods.items()}
    assert [v for k, v in placed.items() if k.startswith("green-only")] == [node_name(2)] * 2
    # packed: the tolerant pod goes to the first node that fits, the tainted one is allowed but not first.
    assert [v for k, v in placed.items() if k.startswith("tolerant")] == [node_name(0)]
    huge = next(p for k, p in pods.items() if k.startswith("huge"))
    assert huge["status"]["phase"] == "Pending" and "nodeName" not in huge["spec"]
    condition = huge["status"]["conditions"][0]
    assert condition["reason"] == "Unschedulable" and condition["message"].startswith("0/3 nodes are available:")
    # The tainted node is rejected by TaintToleration before its cpu is looked at (first rejecting filter).
    assert condition["message"] == ("0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: db}, "
                                    "2 Insufficient cpu.")
    events = [(e["reason"], e["type"], e["source"]["component"]) for e in cluster.list("events")
              if e["involvedObject"]["name"] == huge["metadata"]["name"]]
    assert events == [("FailedScheduling", "Warning", "default-scheduler")]  # once, not on every tick
    scheduled = [e["message"] for e in cluster.list("events") if e["reason"] == "Scheduled"]
    assert len(scheduled) == 3 and all(m.startswith("Successfully assigned default/") for m in scheduled)
    # A third green-only pod no longer fits the 1-cpu green node (2 x 300m + 300m > ... is fine; 4 x 300m is not).
    cluster.patch("deployments", "default", "green-only", {"spec": {"replicas": 4}}, "application/merge-patch+json")
    cluster.settle(10)
    unplaced = [p for p in cluster.list("pods") if p["metadata"]["name"].startswith("green-only")
                and not p["spec"].get("nodeName")]
    assert len(unplaced) == 1


def test_daemonset_one_pod_per_eligible_node():
    cluster = FakeCluster()
    add_nodes(cluster, 2, color="blue")
    add_nodes(cluster, 1, color="green", start=2)
    cluster.patch("nodes", None, node_name(1), [{"op": "add", "path": "/spec/taints",
                                                 "value": [{"key": "gpu", "effect": "NoSchedule"}]}],
                  "application/json-patch+json")
    for obj in workload_objects("DaemonSet", "agent") + workload_objects("DaemonSet", "green-agent"):
        cluster.apply(obj)
    green_ds = cluster.get("daemonsets", "default", "green-agent")
    green_ds["spec"]["template"]["spec"]["nodeSelector"] = {"bluegreen.io/color": "green"}
    cluster.apply(green_ds)
    cluster.settle(3)

    def placement() -> dict[str, list[str]]:
        result: dict[str, list[str]] = {}
        for pod in cluster.list("pods"):
            result.setdefault(pod["metadata"]["labels"]["app.kubernetes.io/name"], []).append(pod["spec"]["nodeName"])
        return {k: sorted(v) for k, v in result.items()}

    assert placement() == {"agent": [node_name(0), node_name(2)], "green-agent": [node_name(2)]}
    _cordon(cluster, node_name(0))  # daemon pods tolerate unschedulable: they stay and are still created
    add_nodes(cluster, 1, color="blue", start=3)
    cluster.settle(6)
    assert placement()["agent"] == [node_name(0), node_name(2), node_name(3)]
    status = cluster.get("daemonsets", "default", "agent")["status"]
    assert (status["desiredNumberScheduled"], status["numberReady"]) == (3, 3)
    cluster.remove_node(node_name(2))
    cluster.settle(8)
    assert placement() == {"agent": [node_name(0), node_name(3)]}
    pod = cluster.list("pods")[0]
    tolerated = {(t["key"], t["effect"]) for t in pod["spec"]["tolerations"]}
    assert ("node.kubernetes.io/unschedulable", "NoSchedule") in tolerated


def test_not_ready_node_gets_no_pods_and_keeps_terminating_pods():
    cluster = FakeCluster(placement="packed")
    add_nodes(cluster, 1, ready=False)
    add_nodes(cluster, 1, start=1)
    node = cluster.get("nodes", None, node_name(0))
    ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False" and ready["reason"] == "KubeletNotReady"
    assert {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}.items() <= node["spec"]["taints"][0].items()
    for obj in workload_objects("Deployment", "web", replicas=2) + workload_objects("DaemonSet", "agent"):
        cluster.apply(obj)
    cluster.settle(3)
    assert {p["spec"]["nodeName"] for p in cluster.list("pods")} == {node_name(1)}
    with pytest.raises(AlreadyExists):
        add_nodes(cluster, 1)


def test_kubelet_readiness_delay_and_grace_period():
    cluster = FakeCluster()
    add_nodes(cluster, 2)
    for obj in workload_objects("Deployment", "slow", replicas=1, ready_seconds=10, grace_seconds=20):
        cluster.apply(obj)
    cluster.advance(1)
    (pod,) = cluster.list("pods")
    assert pod["status"]["phase"] == "Pending" and not pod["spec"].get("nodeName")  # created, not yet bound
    cluster.advance(2)
    (pod,) = cluster.list("pods")
    assert pod["status"]["phase"] == "Pending" and pod["spec"]["nodeName"]  # bound: ContainerCreating
    cluster.advance(3)
    (pod,) = cluster.list("pods")
    assert pod["status"]["phase"] == "Running" and not _ready(pod)  # container started at t=3
    cluster.advance(12.5)
    assert not _ready(cluster.list("pods")[0])
    cluster.advance(13)
    (pod,) = cluster.list("pods")
    assert _ready(pod) and pod["spec"]["terminationGracePeriodSeconds"] == 20
    cluster.delete("pods", "default", pod["metadata"]["name"])
    cluster.advance(14)
    pods = cluster.list("pods")
    old = next(p for p in pods if p["metadata"]["uid"] == pod["metadata"]["uid"])
    # Terminating, it stays Ready while its container runs out the grace period (as the kubelet reports it).
    assert old["metadata"]["deletionTimestamp"] and _ready(old)
    assert len(pods) == 2  # the ReplicaSet replaced it at once; the old one terminates for 20 s
    cluster.advance(32.9)
    assert len(cluster.list("pods")) == 2
    cluster.advance(33)  # the container has exited: the kubelet reports the pod Succeeded, then removes it
    finished = next(p for p in cluster.list("pods") if p["metadata"]["uid"] == pod["metadata"]["uid"])
    assert finished["status"]["phase"] == "Succeeded" and not _ready(finished)
    cluster.advance(34)
    assert [p["metadata"]["uid"] for p in cluster.list("pods")] != [pod["metadata"]["uid"]]
    assert len(cluster.list("pods")) == 1


def test_statefulset_ordered_ready_and_stable_names():
    cluster = FakeCluster()
    add_nodes(cluster, 3)
    for obj in workload_objects("StatefulSet", "db", replicas=3, ready_seconds=2):
        cluster.apply(obj)
    seen = []
    for t in range(1, 18):
        cluster.advance(t)
        seen.append(sorted(p["metadata"]["name"] for p in cluster.list("pods")))
    assert seen[0] == ["db-0"] and seen[-1] == ["db-0", "db-1", "db-2"]
    # db-0 is bound at t=2, runs at t=3 and is Ready at t=5 (after the controllers ran); db-1 follows on the
    # next tick, not before.
    assert seen[4] == ["db-0"] and seen[5] == ["db-0", "db-1"]
    before = cluster.get("pods", "default", "db-1")
    cluster.remove_node(before["spec"]["nodeName"])
    cluster.settle(25)
    after = cluster.get("pods", "default", "db-1")
    assert after["metadata"]["uid"] != before["metadata"]["uid"]
    assert after["spec"]["nodeName"] != before["spec"]["nodeName"] and after["spec"]["hostname"] == "db-1"


def test_deleting_a_deployment_collects_its_replicaset_and_pods():
    cluster = FakeCluster()
    add_nodes(cluster, 1)
    for obj in workload_objects("Deployment", "web", replicas=2):
        cluster.apply(obj)
    cluster.settle(2)
    assert len(cluster.list("replicasets")) == 1 and len(cluster.list("pods")) == 2
    cluster.delete("deployments", "default", "web")
    cluster.settle(3)
    assert cluster.list("replicasets") == [] and cluster.list("pods") == []


def test_workload_builder_rejects_bad_specs():
    with pytest.raises(WorkloadSpecError, match="kind 'CronJob'"):
        workload_objects("CronJob", "x")
    with pytest.raises(WorkloadSpecError, match="exactly one of minAvailable or maxUnavailable"):
        workload_objects("Deployment", "x", pdb={"minAvailable": 1, "maxUnavailable": 1})
    objects = workload_objects("StatefulSet", "db", namespace="data", pdb={"maxUnavailable": "50%"}, empty_dir=True)
    assert [o["kind"] for o in objects] == ["Namespace", "StatefulSet", "PodDisruptionBudget"]
    assert objects[1]["spec"]["template"]["spec"]["volumes"] == [{"name": "scratch", "emptyDir": {}}]


def test_advance_refuses_to_go_back_in_time():
    cluster = FakeCluster()
    cluster.advance(5)
    with pytest.raises(ValueError, match="goes back in time"):
        cluster.advance(4)


def test_ready_pods_helper_sees_only_ready_pods():
    cluster = FakeCluster()
    add_nodes(cluster, 1)
    for obj in workload_objects("Deployment", "web", replicas=2, ready_seconds=5):
        cluster.apply(obj)
    cluster.advance(1)
    assert ready_pods(cluster, "web") == []
    cluster.settle(8)  # bound at 2, running at 3, Ready at 8
    assert len(ready_pods(cluster, "web")) == 2


def test_a_node_that_turns_not_ready_keeps_its_pods_and_gets_no_new_ones():
    cluster = FakeCluster(placement="packed")
    add_nodes(cluster, 2)
    for obj in workload_objects("Deployment", "web", replicas=1, grace_seconds=5):
        cluster.apply(obj)
    cluster.settle(4)
    (pod,) = cluster.list("pods")
    assert pod["spec"]["nodeName"] == node_name(0)
    cluster.set_node_ready(node_name(0), False)
    cluster.settle(5)
    taints = cluster.get("nodes", None, node_name(0))["spec"]["taints"]
    assert [(t["key"], t["effect"]) for t in taints] == [("node.kubernetes.io/not-ready", "NoSchedule"),
                                                         ("node.kubernetes.io/not-ready", "NoExecute")]
    # The pod stays (it tolerates not-ready:NoExecute for 300 s) but is marked not Ready (MarkPodsNotReady).
    assert cluster.list("pods")[0]["metadata"]["uid"] == pod["metadata"]["uid"]
    assert not _ready(cluster.list("pods")[0])
    cluster.delete("pods", "default", pod["metadata"]["name"])
    cluster.settle(20)
    pods = cluster.list("pods")
    # The replacement goes to the Ready node; the old pod stays Terminating: no kubelet confirms it.
    assert sorted((p["spec"]["nodeName"], bool(p["metadata"].get("deletionTimestamp"))) for p in pods) == [
        (node_name(0), True), (node_name(1), False)]
    cluster.set_node_ready(node_name(0), True)
    cluster.settle(22)
    assert len(cluster.list("pods")) == 1
    assert "taints" not in cluster.get("nodes", None, node_name(0))["spec"]
