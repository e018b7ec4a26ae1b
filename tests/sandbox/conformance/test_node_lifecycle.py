"""Conformance: what happens to a node whose kubelet stops reporting, and to the pods on it.

Driven through the official Python client with the cluster advanced by hand (the kubelet going silent is
``FakeCluster.stop_kubelet``, what the scenario fault ``node_lost`` does), through real kubectl for what
`kubectl get nodes` prints, and through a whole sandbox for the ``node_lost`` fault itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes import client, config

from bluegreen.sandbox.kube.cluster import FakeCluster
from bluegreen.sandbox.kube.objects import workload_objects
from bluegreen.sandbox.kube.store import ClusterTiming
from bluegreen.sandbox.scenario import load_scenario, parse_scenario
from tests.integration.sandbox.kube_fixtures import add_nodes, needs_kubectl, node_name, serve

GRACE = ClusterTiming().node_monitor_grace_seconds
TOLERATION = ClusterTiming().default_toleration_seconds


def _cluster() -> FakeCluster:
    """Two nodes, packed: web (2 replicas) and a bare pod on node 0, a DaemonSet pod on each."""
    cluster = FakeCluster(placement="packed")
    add_nodes(cluster, 2)
    for obj in (workload_objects("Deployment", "web", replicas=2, ready_seconds=1, grace_seconds=30)
                + workload_objects("DaemonSet", "agent", ready_seconds=1, grace_seconds=30)
                + workload_objects("Pod", "lonely", ready_seconds=1, grace_seconds=30)):
        cluster.apply(obj)
    cluster.settle(10)
    return cluster


def _ready(pod: client.V1Pod) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def _node_ready(node: client.V1Node) -> client.V1NodeCondition:
    return next(c for c in node.status.conditions if c.type == "Ready")


# Follows pkg/controller/nodelifecycle/node_lifecycle_controller.go: tryUpdateNodeHealth (a node whose kubelet
# has not posted status within nodeMonitorGracePeriod gets every condition Unknown, reason NodeStatusUnknown),
# doNoScheduleTaintingPass / doNoExecuteTaintingPass (Ready Unknown -> node.kubernetes.io/unreachable NoSchedule
# and NoExecute with timeAdded) and monitorNodeHealth -> controller/util/node MarkPodsNotReady (the pods' Ready
# condition turns False on the Ready -> not Ready transition).
def test_a_silent_node_goes_unknown_after_the_grace_period_and_its_pods_not_ready(tmp_path: Path):
    cluster = _cluster()
    for served in serve(cluster, tmp_path, speed=None):
        api = config.new_client_from_config(config_file=served.kubeconfig)
        core = client.CoreV1Api(api)
        on_node = [p.metadata.name for p in core.list_pod_for_all_namespaces(
            field_selector=f"spec.nodeName={node_name(0)}").items]
        cluster.stop_kubelet(node_name(0))
        stopped = cluster.now
        served.advance(GRACE - 1)  # within the grace period nothing shows
        node = core.read_node(node_name(0))
        assert _node_ready(node).status == "True" and not node.spec.taints
        assert all(_ready(core.read_namespaced_pod(name, "default")) for name in on_node)
        served.advance(1)
        node = core.read_node(node_name(0))
        api.close()
        pods = [client.CoreV1Api(config.new_client_from_config(config_file=served.kubeconfig))
                .read_namespaced_pod(name, "default") for name in on_node]
    assert cluster.now - stopped == pytest.approx(GRACE)
    assert {c.type: (c.status, c.reason) for c in node.status.conditions} == {
        kind: ("Unknown", "NodeStatusUnknown") for kind in ("MemoryPressure", "DiskPressure", "PIDPressure", "Ready")}
    assert _node_ready(node).message == "Kubelet stopped posting node status."
    assert sorted((t.key, t.effect) for t in node.spec.taints) == [
        ("node.kubernetes.io/unreachable", "NoExecute"), ("node.kubernetes.io/unreachable", "NoSchedule")]
    assert next(t for t in node.spec.taints if t.effect == "NoExecute").time_added is not None
    assert len(on_node) == 4 and not any(_ready(p) for p in pods)  # web x2, lonely, agent: MarkPodsNotReady


# Follows pkg/controller/tainteviction/taint_eviction.go (processPodOnNode with getMinTolerationTime: pods
# tolerating the NoExecute taint for tolerationSeconds are deleted that long after the taint appeared, pods
# tolerating it forever stay; the deletion is a normal API delete, and the DisruptionTarget condition says
# DeletionByTaintManager) with the 300 s of plugin/pkg/admission/defaulttolerationseconds. Without a kubelet
# to confirm, the deleted pods stay Terminating; the ReplicaSet replaces them on a live node.
def test_pods_are_evicted_after_their_toleration_seconds_and_daemon_pods_stay(tmp_path: Path):
    cluster = _cluster()
    for served in serve(cluster, tmp_path, speed=None):
        api = config.new_client_from_config(config_file=served.kubeconfig)
        core = client.CoreV1Api(api)
        cluster.stop_kubelet(node_name(0))
        served.advance(GRACE + TOLERATION - 1)
        before = {p.metadata.name: p for p in core.list_namespaced_pod("default").items
                  if p.spec.node_name == node_name(0)}
        served.advance(2)
        after = {p.metadata.name: p for p in core.list_namespaced_pod("default").items}
        events = core.list_namespaced_event("default").items
        api.close()
    assert all(p.metadata.deletion_timestamp is None for p in before.values())
    evicted = sorted(n for n in before if after[n].metadata.deletion_timestamp is not None)
    assert evicted == sorted(n for n in before if not n.startswith("agent-"))  # web x2 and lonely
    assert all(after[n].metadata.deletion_timestamp is None for n in before if n.startswith("agent-"))
    target = next(c for c in after[evicted[0]].status.conditions if c.type == "DisruptionTarget")
    assert (target.status, target.reason) == ("True", "DeletionByTaintManager")
    assert {e.involved_object.name for e in events if e.reason == "TaintManagerEviction"} == set(evicted)
    replacements = [p for n, p in after.items() if n.startswith("web-") and n not in before]
    assert len(replacements) == 2 and all(p.spec.node_name == node_name(1) for p in replacements)


# Follows pkg/controller/tainteviction/taint_eviction.go (getMinTolerationTime: the smallest tolerationSeconds
# of the matching tolerations; a pod with no matching toleration is deleted at once) and
# node_lifecycle_controller.go doNoExecuteTaintingPass (Ready False -> node.kubernetes.io/not-ready NoExecute).
def test_a_not_ready_node_evicts_by_the_smallest_toleration(tmp_path: Path):
    cluster = FakeCluster(placement="packed")
    add_nodes(cluster, 1)
    for served in serve(cluster, tmp_path, speed=None):
        api = config.new_client_from_config(config_file=served.kubeconfig)
        core = client.CoreV1Api(api)
        container = client.V1Container(name="app", image="registry.k8s.io/pause:3.10")
        not_ready = "node.kubernetes.io/not-ready"
        for name, tolerations in (
            ("short", [client.V1Toleration(key=not_ready, operator="Exists", effect="NoExecute",
                                           toleration_seconds=10)]),
            ("forever", [client.V1Toleration(key=not_ready, operator="Exists", effect="NoExecute")]),
            ("none", [client.V1Toleration(key="node.kubernetes.io/unreachable", operator="Exists",
                                          effect="NoExecute"),
                      client.V1Toleration(key=not_ready, operator="Equal", value="x", effect="NoExecute")]),
        ):
            core.create_namespaced_pod("default", client.V1Pod(metadata=client.V1ObjectMeta(name=name),
                                                               spec=client.V1PodSpec(containers=[container],
                                                                                     tolerations=tolerations)))
        served.advance(5)
        cluster.set_node_ready(node_name(0), False)  # the kubelet reports NotReady
        served.advance(1)
        taints = sorted((t.key, t.effect) for t in core.read_node(node_name(0)).spec.taints)
        deleted_at_once = {p.metadata.name for p in core.list_namespaced_pod("default").items
                           if p.metadata.deletion_timestamp}
        served.advance(10)
        deleted_later = {p.metadata.name for p in core.list_namespaced_pod("default").items
                         if p.metadata.deletion_timestamp}
        api.close()
    assert taints == [(not_ready, "NoExecute"), (not_ready, "NoSchedule")]
    assert deleted_at_once == {"none"}
    assert deleted_later == {"none", "short"}


# Follows pkg/printers/internalversion/printers.go (printNode: STATUS NotReady for a Ready condition that is
# not True, Unknown included).
@needs_kubectl
@pytest.mark.kubectl
def test_kubectl_get_nodes_shows_the_silent_node_not_ready(tmp_path: Path):
    cluster = _cluster()
    for served in serve(cluster, tmp_path, speed=None):
        cluster.stop_kubelet(node_name(0))
        served.advance(GRACE)
        rows = dict(line.split()[:2] for line in served.kubectl("get", "nodes", "--no-headers").stdout.splitlines())
    assert rows == {node_name(0): "NotReady", node_name(1): "Ready"}


def test_the_node_lost_fault_is_validated_and_named_in_errors():
    base = load_scenario("small")
    document = {"nodes_per_color": 3, "node": {"cpu": "2", "memory": "8Gi", "pods": 20},
                "ami": {"from": base.ami.from_, "to": base.ami.to}}
    good = parse_scenario({**document, "faults": [{"kind": "node_lost", "at": "mid_node", "count": 2},
                                                  {"kind": "node_lost", "at": 30, "color": "new"}]})
    assert [(f.at, f.count, f.color) for f in good.faults] == [("mid_node", 2, "old"), (30.0, 1, "new")]
    for fault, message in (({"kind": "node_lost", "at": "soon"}, "faults[0].at: 'soon' is not allowed"),
                           ({"kind": "node_lost", "at": -1}, "faults[0].at: -1 is out of range"),
                           ({"kind": "node_lost", "at": 1, "count": 4}, "faults[0].count: 4 is out of range"),
                           ({"kind": "node_lost"}, "faults[0].at: is required")):
        with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
            parse_scenario({**document, "faults": [fault]})


def test_the_node_lost_fault_silences_old_nodes_in_a_sandbox():
    from bluegreen.sandbox.world import Sandbox

    scenario = load_scenario("small")
    document = {"name": "lost", "speed": 200, "nodes_per_color": 3, "node": {"cpu": "4", "memory": "16Gi",
                "pods": 110}, "join_seconds": 20, "ami": {"from": scenario.ami.from_, "to": scenario.ami.to},
                "workloads": [{"kind": "Deployment", "name": "web", "replicas": 3, "ready_seconds": 2}],
                "faults": [{"kind": "node_lost", "color": "old", "count": 1, "at": 5}],
                "timing": {"node_monitor_grace_seconds": 20}}
    with Sandbox.start(parse_scenario(document)) as sandbox:
        core = client.CoreV1Api(sandbox.kube_api_client())
        deadline = sandbox.clock.now() + 120
        unknown: list[str] = []
        while sandbox.clock.now() < deadline and not unknown:
            unknown = [n.metadata.name for n in core.list_node().items
                       if _node_ready(n).status == "Unknown"]
            sandbox.clock.sleep(1)
        assert not sandbox.errors
    assert len(unknown) == 1
