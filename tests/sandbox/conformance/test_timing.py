"""Conformance: a pod's way from creation to Ready takes the steps and delays a real cluster shows.

Driven through the official Python client (and real kubectl for what `kubectl get pods` prints), with the
cluster advanced by hand so every intermediate state is observed deterministically.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes import client, config

from bluegreen.sandbox.kube.cluster import FakeCluster
from bluegreen.sandbox.kube.objects import workload_objects
from bluegreen.sandbox.kube.store import ClusterTiming
from tests.integration.sandbox.kube_fixtures import add_nodes, needs_kubectl, serve

TIMING = ClusterTiming(schedule_seconds=1.0, container_start_seconds=2.0)


def _served(tmp_path: Path):
    cluster = FakeCluster(timing=TIMING)
    add_nodes(cluster, 2)
    return serve(cluster, tmp_path, speed=None)


def _state(pod: client.V1Pod) -> str:
    """What `kubectl get pods` would call the pod: Pending, ContainerCreating, Running 0/1, Running 1/1."""
    if not pod.spec.node_name:
        return "Pending"
    statuses = pod.status.container_statuses or []
    waiting = next((s.state.waiting.reason for s in statuses if s.state and s.state.waiting), None)
    if waiting:
        return waiting
    ready = any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])
    return f"{pod.status.phase} {'1/1' if ready else '0/1'}"


# Follows pkg/scheduler/schedule_one.go (scheduleOne: a pod is bound by the scheduler, not at creation),
# pkg/kubelet/kuberuntime/kuberuntime_manager.go (SyncPod: a container waits in ContainerCreating while its
# image is pulled and it is started) and pkg/kubelet/prober/prober_manager.go (UpdatePodStatus: Ready only
# once the readiness probe passes, after the container started).
def test_a_new_pod_is_pending_then_container_creating_then_running_then_ready(tmp_path: Path):
    for served in _served(tmp_path):
        api = config.new_client_from_config(config_file=served.kubeconfig)
        core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
        (deployment,) = workload_objects("Deployment", "web", replicas=1, ready_seconds=3)
        apps.create_namespaced_deployment("default", deployment)
        seen: list[tuple[float, str]] = []
        for _ in range(30):
            served.advance(0.5)
            pods = core.list_namespaced_pod("default").items
            if pods:
                state = _state(pods[0])
                if not seen or seen[-1][1] != state:
                    seen.append((served.cluster.now, state))
        api.close()
    states = [s for _, s in seen]
    assert states == ["Pending", "ContainerCreating", "Running 0/1", "Running 1/1"]
    times = dict((s, t) for t, s in seen)
    # The ReplicaSet creates the pod at t=1 (the Deployment made its ReplicaSet on the tick before); it is
    # bound 1 s later (schedule_seconds), running 2 s after binding (container_start_seconds), Ready 3 s on.
    assert times["ContainerCreating"] - times["Pending"] == pytest.approx(TIMING.schedule_seconds)
    assert times["Running 0/1"] - times["ContainerCreating"] == pytest.approx(TIMING.container_start_seconds)
    assert times["Running 1/1"] - times["Running 0/1"] == pytest.approx(3.0)


# Follows pkg/kubelet/kuberuntime (ContainerCreating is a container's waiting reason, phase Pending) and
# staging/src/k8s.io/kubectl/pkg/cmd/get + pkg/printers/internalversion/printers.go (printPod: the STATUS
# column shows the waiting reason over the phase).
@needs_kubectl
@pytest.mark.kubectl
def test_kubectl_get_pods_shows_pending_container_creating_and_running(tmp_path: Path):
    for served in _served(tmp_path):
        for obj in workload_objects("Pod", "lonely", ready_seconds=2):
            served.cluster.apply(obj)
        statuses = []
        for _ in range(12):
            out = served.kubectl("get", "pod", "lonely", "--no-headers").stdout.split()
            statuses.append((out[1], out[2]))
            served.advance(0.5)
    assert statuses[0] == ("0/1", "Pending")
    assert ("0/1", "ContainerCreating") in statuses and ("0/1", "Running") in statuses
    assert statuses[-1] == ("1/1", "Running")
    assert statuses.index(("0/1", "ContainerCreating")) < statuses.index(("0/1", "Running"))


# Follows plugin/pkg/admission/defaulttolerationseconds/admission.go (Admit: on pod create, a pod without a
# toleration for node.kubernetes.io/not-ready or /unreachable NoExecute gets one for 300 s).
def test_default_toleration_seconds_admission_on_pod_create(tmp_path: Path):
    for served in _served(tmp_path):
        api = config.new_client_from_config(config_file=served.kubeconfig)
        core = client.CoreV1Api(api)
        container = client.V1Container(name="app", image="registry.k8s.io/pause:3.10")
        plain = core.create_namespaced_pod("default", client.V1Pod(
            metadata=client.V1ObjectMeta(name="plain"), spec=client.V1PodSpec(containers=[container])))
        tolerant = core.create_namespaced_pod("default", client.V1Pod(
            metadata=client.V1ObjectMeta(name="tolerant"), spec=client.V1PodSpec(containers=[container], tolerations=[
                client.V1Toleration(key="node.kubernetes.io/unreachable", operator="Exists", effect="NoExecute")])))
        api.close()
    assert sorted((t.key, t.effect, t.toleration_seconds) for t in plain.spec.tolerations) == [
        ("node.kubernetes.io/not-ready", "NoExecute", 300), ("node.kubernetes.io/unreachable", "NoExecute", 300)]
    assert sorted((t.key, t.toleration_seconds) for t in tolerant.spec.tolerations) == [
        ("node.kubernetes.io/not-ready", 300), ("node.kubernetes.io/unreachable", None)]


# Same upstream behaviour with no configured delays: each step still takes a controller hop (the scheduler binds
# on a later tick than the creation, the kubelet starts containers on a later tick than the admission), so Pending
# and ContainerCreating are visible to a client between ticks; a pod without a readiness delay (no readiness
# probe) is Ready as soon as its container runs.
def test_with_zero_delays_pending_and_container_creating_are_still_seen(tmp_path: Path):
    cluster = FakeCluster(timing=ClusterTiming(schedule_seconds=0.0, container_start_seconds=0.0))
    add_nodes(cluster, 1)
    for served in serve(cluster, tmp_path, speed=None):
        api = config.new_client_from_config(config_file=served.kubeconfig)
        core = client.CoreV1Api(api)
        container = client.V1Container(name="app", image="registry.k8s.io/pause:3.10")
        core.create_namespaced_pod("default", client.V1Pod(metadata=client.V1ObjectMeta(name="p"),
                                                           spec=client.V1PodSpec(containers=[container])))
        states = [_state(core.read_namespaced_pod("p", "default"))]
        for _ in range(3):
            served.advance(1)
            states.append(_state(core.read_namespaced_pod("p", "default")))
        api.close()
    assert states == ["Pending", "ContainerCreating", "Running 1/1", "Running 1/1"]
