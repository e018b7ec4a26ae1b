"""Conformance: Deployment rolling updates honour maxSurge, maxUnavailable and minReadySeconds.

Driven through the official Python client with the cluster advanced by hand, and through real kubectl
(`rollout restart`, `rollout status`) with the cluster's ticker running.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from kubernetes import client, config

from bluegreen.sandbox.kube.cluster import FakeCluster
from bluegreen.sandbox.kube.objects import workload_objects
from tests.integration.sandbox.kube_fixtures import add_nodes, needs_kubectl, serve


def _deployment(replicas: int, *, max_surge: int | str, max_unavailable: int | str, min_ready: int = 0) -> dict:
    (deployment,) = workload_objects("Deployment", "web", replicas=replicas, ready_seconds=2)
    deployment["spec"]["strategy"] = {"type": "RollingUpdate",
                                      "rollingUpdate": {"maxSurge": max_surge, "maxUnavailable": max_unavailable}}
    if min_ready:
        deployment["spec"]["minReadySeconds"] = min_ready
    return deployment


def _counts(cluster: FakeCluster) -> tuple[int, int]:
    """(pods that exist and are not terminating, of which Ready) of the web Deployment."""
    with cluster.lock:
        pods = [p for p in cluster.objects("pods") if p["metadata"]["name"].startswith("web-")
                and not p["metadata"].get("deletionTimestamp")]
        ready = sum(1 for p in pods if any(c["type"] == "Ready" and c["status"] == "True"
                                           for c in p["status"].get("conditions") or []))
    return len(pods), ready


def _restart_annotation(stamp: str) -> dict:
    return {"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": stamp}}}}}


# Follows pkg/controller/deployment/rolling.go (rolloutRolling, reconcileNewReplicaSet with
# deployment/util NewRSNewReplicas and MaxSurge; reconcileOldReplicaSets with MaxUnavailable and
# scaleDownOldReplicaSetsForRollingUpdate): during a template change the Deployment never has more than
# replicas + maxSurge pods nor fewer than replicas - maxUnavailable available ones.
@pytest.mark.parametrize(("max_surge", "max_unavailable", "most", "fewest"),
                         [("25%", "25%", 8, 5), (0, 1, 6, 5), (2, 0, 8, 6)])
def test_a_template_change_rolls_within_max_surge_and_max_unavailable(tmp_path: Path, max_surge, max_unavailable,
                                                                       most: int, fewest: int):
    cluster = FakeCluster()
    add_nodes(cluster, 3)
    for served in serve(cluster, tmp_path, speed=None):
        api = config.new_client_from_config(config_file=served.kubeconfig)
        apps = client.AppsV1Api(api)
        apps.create_namespaced_deployment("default", _deployment(6, max_surge=max_surge,
                                                                 max_unavailable=max_unavailable))
        served.advance(20)
        assert _counts(cluster) == (6, 6)
        apps.patch_namespaced_deployment("web", "default", _restart_annotation("2026-01-01T00:00:00Z"))
        totals, readies = [], []
        for _ in range(240):
            served.advance(0.5)
            total, ready = _counts(cluster)
            totals.append(total)
            readies.append(ready)
        status = apps.read_namespaced_deployment("web", "default").status
        replica_sets = apps.list_namespaced_replica_set("default").items
        api.close()
    assert max(totals) == most and min(readies) == fewest
    assert (status.replicas, status.updated_replicas, status.available_replicas) == (6, 6, 6)
    assert sorted(rs.spec.replicas for rs in replica_sets) == [0, 6]


# Follows pkg/controller/replicaset/replica_set_utils.go (calculateStatus: availableReplicas counts pods
# podutil.IsPodAvailable, i.e. Ready for minReadySeconds) and pkg/controller/deployment/sync.go
# (calculateStatus: the Deployment's availableReplicas is the sum over its ReplicaSets).
def test_available_replicas_lag_ready_replicas_by_min_ready_seconds(tmp_path: Path):
    cluster = FakeCluster()
    add_nodes(cluster, 2)
    for served in serve(cluster, tmp_path, speed=None):
        api = config.new_client_from_config(config_file=served.kubeconfig)
        apps = client.AppsV1Api(api)
        apps.create_namespaced_deployment("default", _deployment(2, max_surge=1, max_unavailable=0, min_ready=10))
        seen = []
        for _ in range(40):
            served.advance(0.5)
            status = apps.read_namespaced_deployment("web", "default").status
            seen.append((served.cluster.now, status.ready_replicas or 0, status.available_replicas or 0))
        api.close()
    ready_at = next(t for t, ready, _ in seen if ready == 2)
    available_at = next(t for t, _, available in seen if available == 2)
    assert available_at - ready_at == pytest.approx(10.0)
    assert all(available == 0 for t, _, available in seen if t < ready_at + 10)


# Follows staging/src/k8s.io/kubectl/pkg/polymorphichelpers/objectrestarter.go (rollout restart patches the
# template's kubectl.kubernetes.io/restartedAt annotation), rollout_status.go (DeploymentStatusViewer: waits
# until observedGeneration, updatedReplicas, replicas and availableReplicas say the rollout is complete) and
# pkg/controller/deployment/rolling.go: a 6-replica Deployment with the default 25%/25% strategy keeps at
# least 5 Ready pods and at most 8 pods throughout.
@needs_kubectl
@pytest.mark.kubectl
def test_kubectl_rollout_restart_never_takes_all_replicas_down(tmp_path: Path):
    cluster = FakeCluster()
    add_nodes(cluster, 3)
    (deployment,) = workload_objects("Deployment", "web", replicas=6, ready_seconds=2)
    cluster.apply(deployment)
    cluster.settle(20)
    samples: list[tuple[int, int]] = []
    lock = threading.Lock()
    for served in serve(cluster, tmp_path, speed=20.0):
        assert served.ticker is not None

        def record(_now: float) -> None:
            with lock:
                samples.append(_counts(cluster))

        served.ticker.callbacks.append(record)
        restarted = served.kubectl("rollout", "restart", "deployment/web")
        assert restarted.returncode == 0, restarted.stderr
        assert "restarted" in restarted.stdout
        status = served.kubectl("rollout", "status", "deployment/web", "--timeout=60s", timeout=90)
        assert status.returncode == 0, status.stderr
        assert 'deployment "web" successfully rolled out' in status.stdout
        assert "Waiting for deployment" in status.stdout  # it did watch a rollout in progress
        replica_sets = served.kubectl("get", "rs", "-o", "jsonpath={.items[*].spec.replicas}").stdout.split()
    with lock:
        assert samples and min(ready for _, ready in samples) >= 5
        assert max(total for total, _ in samples) <= 8
    assert sorted(replica_sets) == ["0", "6"]


# Follows pkg/controller/deployment/recreate.go (rolloutRecreate: scale every old ReplicaSet to zero, wait until
# none of their pods is running (oldPodsRunning: pods in a terminal phase do not count), then scale the new
# ReplicaSet up).
def test_recreate_removes_every_old_pod_before_the_new_ones_start(tmp_path: Path):
    cluster = FakeCluster()
    add_nodes(cluster, 2)
    for served in serve(cluster, tmp_path, speed=None):
        api = config.new_client_from_config(config_file=served.kubeconfig)
        apps = client.AppsV1Api(api)
        deployment = _deployment(3, max_surge=1, max_unavailable=0)
        deployment["spec"]["strategy"] = {"type": "Recreate"}
        deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 5
        apps.create_namespaced_deployment("default", deployment)
        served.advance(20)
        apps.patch_namespaced_deployment("web", "default", _restart_annotation("2026-01-01T00:00:00Z"))
        hashes_seen = []
        for _ in range(60):
            served.advance(0.5)
            with cluster.lock:
                hashes_seen.append({p["metadata"]["labels"]["pod-template-hash"] for p in cluster.objects("pods")
                                    if p["status"].get("phase") not in ("Succeeded", "Failed")})
        status = apps.read_namespaced_deployment("web", "default").status
        api.close()
    assert all(len(hashes) <= 1 for hashes in hashes_seen)  # old and new pods never run together
    old_hash, = hashes_seen[0]
    last_old = max(i for i, hashes in enumerate(hashes_seen) if old_hash in hashes)
    first_new = min(i for i, hashes in enumerate(hashes_seen) if hashes - {old_hash})
    assert first_new > last_old
    assert (status.replicas, status.updated_replicas, status.available_replicas) == (3, 3, 3)


def _solo_pods(cluster: FakeCluster) -> list[tuple[str, str, bool, bool]]:
    """(name, node, Ready, terminating) of every pod of the web Deployment not finished yet."""
    with cluster.lock:
        return [(p["metadata"]["name"], p["spec"].get("nodeName") or "",
                 any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions") or []),
                 bool(p["metadata"].get("deletionTimestamp")))
                for p in cluster.objects("pods") if p["metadata"]["name"].startswith("web-")
                and p["status"].get("phase") not in ("Succeeded", "Failed")]


# Follows pkg/controller/deployment/rolling.go (reconcileNewReplicaSet scales the new ReplicaSet up to
# replicas + maxSurge first; reconcileOldReplicaSets scales the old one down only while replicas - maxUnavailable
# pods stay available), pkg/scheduler (a cordoned node, spec.unschedulable, takes no new pod:
# nodeunschedulable plugin) and the ReplicaSet controller (the old pod is deleted, not evicted). A single-replica
# Deployment restarted while its node is cordoned surges its new pod onto an uncordoned node and keeps one pod
# Ready throughout; with maxSurge 0 the old pod goes first (what a surge move cannot help, and the engine's plan
# says so).
@pytest.mark.parametrize(("max_surge", "fewest_ready", "most_pods"), [("25%", 1, 2), (0, 0, 1)])
def test_a_restart_of_one_replica_surges_onto_an_uncordoned_node(tmp_path: Path, max_surge, fewest_ready: int,
                                                                 most_pods: int):
    cluster = FakeCluster()
    old_node, new_node = add_nodes(cluster, 2)
    for served in serve(cluster, tmp_path, speed=None):
        api = config.new_client_from_config(config_file=served.kubeconfig)
        apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
        core.patch_node(new_node, {"spec": {"unschedulable": True}})  # the pod lands on the old node
        apps.create_namespaced_deployment("default", _deployment(1, max_surge=max_surge, max_unavailable="25%"))
        served.advance(20)
        (first,) = _solo_pods(cluster)
        assert first[1] == old_node and first[2]
        core.patch_node(old_node, {"spec": {"unschedulable": True}})
        core.patch_node(new_node, {"spec": {"unschedulable": False}})
        with cluster.lock:
            cluster.measurements.start(cluster.now, cluster.availability_now())
        apps.patch_namespaced_deployment("web", "default", _restart_annotation("2026-01-01T00:00:00Z"))
        seen = []
        for _ in range(120):
            served.advance(0.5)
            seen.append(_solo_pods(cluster))
        status = apps.read_namespaced_deployment("web", "default").status
        api.close()
    with cluster.lock:
        measured = cluster.measurements.summary()
    assert min(sum(ready and not gone for _, _, ready, gone in pods) for pods in seen) == fewest_ready
    assert max(sum(not gone for _, _, _, gone in pods) for pods in seen) == most_pods
    (last,) = seen[-1]
    assert last[0] != first[0] and last[1] == new_node and last[2]
    assert (status.replicas, status.updated_replicas, status.available_replicas) == (1, 1, 1)
    # The old pod was removed by its controller, not evicted: the meter counts it as a surge move, apart.
    assert measured["pods_evicted"] == 0
    assert [m["pod"] for m in measured["surge_moves"]] == [f"default/{first[0]}"]
