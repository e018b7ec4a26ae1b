"""Real kubectl (get, cordon, uncordon, drain) against the fake API server with a running ticker."""

from __future__ import annotations

import json
import time

import pytest

from tests.integration.sandbox.kube_fixtures import (  # noqa: F401
    Served,
    needs_kubectl,
    node_name,
    served_demo,
)

pytestmark = [needs_kubectl, pytest.mark.kubectl]


def _settled(served: Served, pod_count: int, timeout: float = 10.0) -> None:
    """Wait until ``pod_count`` pods exist and all are Ready (real time; the ticker runs at 20x)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pods = served.cluster.list("pods")
        if len(pods) == pod_count and all(
            any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))
            and not p["metadata"].get("deletionTimestamp") for p in pods
        ):
            return
        time.sleep(0.05)
    raise AssertionError("the cluster did not settle in time")


def test_kubectl_get_nodes_and_pods(served_demo: Served):  # noqa: F811
    nodes = served_demo.kubectl("get", "nodes")
    assert nodes.returncode == 0, nodes.stderr
    lines = nodes.stdout.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert [line.split()[:2] for line in lines[1:]] == [[node_name(i), "Ready"] for i in range(6)]
    pods = served_demo.kubectl("get", "pods", "-A", "-o", "wide")
    assert pods.returncode == 0, pods.stderr
    header, *rows = pods.stdout.splitlines()
    assert header.split()[:8] == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    assert len(rows) == 17 and all(row.split()[3] == "Running" for row in rows)
    assert {row.split()[0] for row in rows} == {"default", "data"}
    as_json = json.loads(served_demo.kubectl("get", "pods", "-n", "data", "-o", "json").stdout)
    assert as_json["kind"] == "List" and sorted(i["metadata"]["name"] for i in as_json["items"]) == [
        "db-0", "db-1", "db-2"]
    selected = served_demo.kubectl("get", "pods", "-A", "--field-selector", f"spec.nodeName={node_name(3)}",
                                   "-l", "app.kubernetes.io/name in (agent,web,api,db)", "-o", "name")
    assert selected.returncode == 0, selected.stderr
    expected = sorted(f"pod/{p['metadata']['name']}" for p in served_demo.cluster.list("pods")
                      if p["spec"].get("nodeName") == node_name(3))
    assert sorted(selected.stdout.split()) == expected


def test_kubectl_cordon_and_uncordon(served_demo: Served):  # noqa: F811
    result = served_demo.kubectl("cordon", node_name(4))
    assert result.returncode == 0 and result.stdout.strip() == f"node/{node_name(4)} cordoned", result.stderr
    assert served_demo.cluster.get("nodes", None, node_name(4))["spec"]["unschedulable"] is True
    listing = served_demo.kubectl("get", "node", node_name(4)).stdout
    assert "Ready,SchedulingDisabled" in listing
    result = served_demo.kubectl("uncordon", node_name(4))
    assert result.returncode == 0 and "uncordoned" in result.stdout, result.stderr
    assert not served_demo.cluster.get("nodes", None, node_name(4))["spec"].get("unschedulable")


def test_kubectl_drain_moves_every_pod_once_onto_schedulable_nodes(served_demo: Served):  # noqa: F811
    cluster = served_demo.cluster
    blue = [node_name(i) for i in range(3)]
    for name in blue:  # as the engine does: cordon the whole old color first
        assert served_demo.kubectl("cordon", name).returncode == 0
    cluster.measurements.start(cluster.now)
    target = node_name(1)
    pod_count = len(cluster.list("pods"))
    before = [p for p in cluster.list("pods") if p["spec"]["nodeName"] == target]
    movable = [p for p in before if not p["metadata"]["name"].startswith("agent-")]
    assert len(movable) >= 2
    result = served_demo.kubectl("drain", target, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=30s")
    assert result.returncode == 0, result.stderr + result.stdout
    assert f"node/{target} drained" in result.stdout
    for pod in movable:
        assert f"pod/{pod['metadata']['name']} evicted" in result.stdout
    _settled(served_demo, pod_count)
    summary = cluster.measurements.summary()
    assert summary["pods_evicted"] == len(movable) and summary["pod_moves_per_evicted_pod"] == 1.0
    assert sorted(m["pod"] for m in summary["pod_moves"]) == sorted(
        f"{p['metadata']['namespace']}/{p['metadata']['name']}" for p in movable)
    assert all(m["from_node"] == target and m["to_node"] not in blue for m in summary["pod_moves"])
    assert summary["pods_lost"] == [] and summary["budget_violations"] == []
    left = [p["metadata"]["name"] for p in cluster.list("pods") if p["spec"]["nodeName"] == target]
    assert len(left) == 1 and left[0].startswith("agent-")  # the DaemonSet pod stays
    assert served_demo.server.request_counts()["eviction"] == len(movable)


def test_kubectl_drain_times_out_with_the_pdb_message(served_demo: Served):  # noqa: F811
    patched = served_demo.kubectl("patch", "pdb", "web-pdb", "-p", '{"spec":{"minAvailable":3}}')
    assert patched.returncode == 0, patched.stderr
    target = next(p["spec"]["nodeName"] for p in served_demo.cluster.list("pods")
                  if p["metadata"]["name"].startswith("web-"))
    result = served_demo.kubectl("drain", target, "--ignore-daemonsets", "--delete-emptydir-data", "--force",
                                 "--timeout=2s")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Cannot evict pod as it would violate the pod's disruption budget." in output
    assert "global timeout reached: 2s" in output
    assert any(p["metadata"]["name"].startswith("web-") and p["spec"]["nodeName"] == target
               for p in served_demo.cluster.list("pods"))


def test_kubectl_drain_refuses_a_bare_pod_without_force(served_demo: Served):  # noqa: F811
    target = served_demo.cluster.get("pods", "default", "lonely")["spec"]["nodeName"]
    result = served_demo.kubectl("drain", target, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=5s")
    assert result.returncode != 0
    assert "cannot delete Pods that declare no controller" in result.stderr and "default/lonely" in result.stderr
    assert served_demo.server.request_counts()["eviction"] == 0


def test_kubectl_drain_server_dry_run_changes_nothing(served_demo: Served):  # noqa: F811
    before = {p["metadata"]["uid"] for p in served_demo.cluster.list("pods")}
    result = served_demo.kubectl("drain", node_name(1), "--ignore-daemonsets", "--delete-emptydir-data",
                                 "--dry-run=server")
    assert result.returncode == 0, result.stderr
    assert "(server dry run)" in result.stdout and "drained (server dry run)" in result.stdout
    assert {p["metadata"]["uid"] for p in served_demo.cluster.list("pods")} == before
    assert not served_demo.cluster.get("nodes", None, node_name(1))["spec"].get("unschedulable")
    assert served_demo.server.request_counts()["eviction"] >= 2


def test_kubectl_label_columns_and_delete_pod(served_demo: Served):  # noqa: F811
    listing = served_demo.kubectl("get", "nodes", "-L", "bluegreen.io/color")
    assert listing.returncode == 0, listing.stderr
    colors = [line.split()[-1] for line in listing.stdout.splitlines()[1:]]
    assert colors == ["blue"] * 3 + ["green"] * 3
    old_uid = served_demo.cluster.get("pods", "data", "db-2")["metadata"]["uid"]
    deleted = served_demo.kubectl("delete", "pod", "-n", "data", "db-2", "--timeout=20s")
    assert deleted.returncode == 0 and 'pod "db-2" deleted' in deleted.stdout, deleted.stderr
    deadline = time.monotonic() + 5
    uid = old_uid
    while uid in (old_uid, "") and time.monotonic() < deadline:
        time.sleep(0.05)
        uid = served_demo.kubectl("get", "pod", "-n", "data", "db-2", "-o", "jsonpath={.metadata.uid}").stdout
    assert uid and uid != old_uid  # the StatefulSet recreated db-2 under the same name


def test_kubectl_drain_retries_a_429_and_passes_once_the_budget_recovers(served_demo: Served):  # noqa: F811
    cluster = served_demo.cluster
    for i in range(3):
        assert served_demo.kubectl("cordon", node_name(i)).returncode == 0
    web = {p["spec"]["nodeName"]: p["metadata"]["name"] for p in cluster.list("pods")
           if p["metadata"]["name"].startswith("web-")}
    first, target = sorted(web)[:2]
    cluster.measurements.start(cluster.now)
    cluster.evict("default", web[first], None)  # web is now at its budget until the replacement is Ready
    result = served_demo.kubectl("drain", target, "--ignore-daemonsets", "--delete-emptydir-data", "--force",
                                 "--timeout=30s")
    assert result.returncode == 0, result.stderr + result.stdout
    assert "(will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget." in (
        result.stdout + result.stderr)
    assert f"pod/{web[target]} evicted" in result.stdout
    summary = cluster.measurements.summary()
    assert summary["evictions_refused"] >= 1 and summary["budget_violations"] == []
    assert summary["lowest_availability"]["default/web"]["lowest_ready"] == 2
