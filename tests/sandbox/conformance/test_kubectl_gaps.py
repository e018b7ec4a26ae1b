"""Conformance: what real kubectl 1.32 shows against the fake is what it shows against a real cluster.

Each test names the kubectl code path it drives and the server behaviour it relies on. The cluster runs
on a ticker (20 simulated seconds per real second), as `python -m bluegreen sandbox` runs it.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.sandbox.kube_fixtures import KUBECTL, Served, demo_cluster, needs_kubectl, serve

pytestmark = [needs_kubectl, pytest.mark.kubectl]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    yield from serve(demo_cluster(), tmp_path)


def _ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def _slow_pod(name: str, grace: int) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default",
                                                            "labels": {"app": name}},
            "spec": {"terminationGracePeriodSeconds": grace,
                     "containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10"}]}}


def _wait_running(served: Served, name: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pod = served.cluster.get("pods", "default", name)
        if pod and pod["status"].get("phase") == "Running":
            return
        time.sleep(0.05)
    raise AssertionError(f"pod {name} did not start")


def test_get_watch_keeps_streaming_past_five_seconds(served):
    # kubectl get -w (get.go watch): one watch, open until the server's timeout (30-60 min) or Ctrl-C; each
    # change is printed as it happens (handlers/watch.go serves the events as Table rows).
    assert KUBECTL is not None
    command = [KUBECTL, "--kubeconfig", served.kubeconfig, "get", "pods", "-n", "data", "-w"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[tuple[float, str]] = []
    reader = threading.Thread(target=lambda: [lines.append((time.monotonic(), line)) for line in process.stdout],
                              daemon=True)
    reader.start()
    try:
        time.sleep(5.5)
        changed_at = time.monotonic()
        with served.cluster.lock:
            served.cluster.patch("pods", "data", "db-0", {"metadata": {"labels": {"seen": "late"}}},
                                 "application/merge-patch+json")
        time.sleep(1.0)
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert lines[0][1].split()[:3] == ["NAME", "READY", "STATUS"]
        assert any(at > changed_at and line.startswith("db-0 ") for at, line in lines)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_delete_wait_false_shows_terminating_and_wait_for_delete_returns(served):
    # kubectl delete --wait=false, then get: the printer (pkg/printers/internalversion printPod) shows
    # Terminating for a pod with a deletionTimestamp; kubectl wait --for=delete watches until DELETED.
    served.cluster.apply(_slow_pod("slow", grace=600))
    _wait_running(served, "slow")
    _ok(served.kubectl("delete", "pod", "slow", "--wait=false"))
    row = _ok(served.kubectl("get", "pod", "slow", "--no-headers")).split()
    pod = json.loads(_ok(served.kubectl("get", "pod", "slow", "-o", "json")))
    ready = sum(1 for c in pod["status"].get("containerStatuses") or [] if c.get("ready"))
    assert row[0] == "slow" and row[2] == "Terminating" and row[1] == f"{ready}/1"
    assert pod["metadata"]["deletionTimestamp"] and pod["metadata"]["deletionGracePeriodSeconds"] == 600
    waiter = subprocess.Popen([KUBECTL, "--kubeconfig", served.kubeconfig, "wait", "--for=delete", "pod/slow",
                               "--timeout=30s"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    assert waiter.poll() is None  # still waiting: the pod has 600 s of grace
    _ok(served.kubectl("delete", "pod", "slow", "--grace-period=1", "--wait=false"))
    out, err = waiter.communicate(timeout=30)
    assert waiter.returncode == 0, err
    assert "pod/slow condition met" in out


def test_rollout_status_history_and_undo(served):
    # kubectl rollout undo (polymorphichelpers/rollback.go DeploymentRollbacker): finds the ReplicaSet of the
    # previous revision (deployment.kubernetes.io/revision) and JSON-patches the Deployment's template and
    # annotations back; the deployment controller (deployment_util.go SetNewReplicaSetAnnotations) gives that
    # ReplicaSet the next revision and keeps the old one in revision-history.
    _ok(served.kubectl("rollout", "status", "deployment/web", "--timeout=60s"))
    _ok(served.kubectl("set", "image", "deployment/web", "app=registry.k8s.io/pause:3.9"))
    _ok(served.kubectl("rollout", "status", "deployment/web", "--timeout=60s"))
    history = _ok(served.kubectl("rollout", "history", "deployment/web")).split()
    assert history[-2:] == ["2", "<none>"]
    assert "rolled back" in _ok(served.kubectl("rollout", "undo", "deployment/web"))
    _ok(served.kubectl("rollout", "status", "deployment/web", "--timeout=60s"))
    deployment = json.loads(_ok(served.kubectl("get", "deployment", "web", "-o", "json")))
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.k8s.io/pause:3.10"
    assert deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    sets = json.loads(_ok(served.kubectl("get", "rs", "-l", "app.kubernetes.io/name=web", "-o", "json")))["items"]
    by_revision = {rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]: rs for rs in sets}
    assert sorted(by_revision) == ["2", "3"] and len(sets) == 2
    assert by_revision["3"]["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
    assert by_revision["3"]["spec"]["replicas"] == 3 and by_revision["2"]["spec"]["replicas"] == 0


def test_events_for_a_pod(served):
    # kubectl events --for pod/x (cmd/events/events.go): a field selector on involvedObject.kind, .apiVersion
    # and .name (core/v1 conversion.go AddFieldLabelConversionsForEvent accepts all three).
    output = _ok(served.kubectl("events", "-n", "data", "--for", "pod/db-0"))
    assert output.splitlines()[0].split()[:4] == ["LAST", "SEEN", "TYPE", "REASON"]
    assert "Scheduled" in output and "Pod/db-0" in output and "db-1" not in output


def test_create_from_json_with_validation_off(served, tmp_path: Path):
    # kubectl create -f FILE --validate=false (create.go RunCreate): one JSON POST per object; a bare pod, a PDB
    # over it and a Deployment are created and reconciled. With validation on kubectl needs /openapi/v3, which
    # the sandbox does not serve, and says so.
    objects = {"apiVersion": "v1", "kind": "List", "items": [
        _slow_pod("bare", grace=5),
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "bare-pdb"},
         "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "bare"}}}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "made"},
         "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "made"}},
                  "template": {"metadata": {"labels": {"app": "made"}},
                               "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}]}}}},
    ]}
    path = tmp_path / "objects.json"
    path.write_text(json.dumps(objects))
    created = _ok(served.kubectl("create", "-f", str(path), "--validate=false")).splitlines()
    assert created == ["pod/bare created", "poddisruptionbudget.policy/bare-pdb created",
                       "deployment.apps/made created"]
    _ok(served.kubectl("rollout", "status", "deployment/made", "--timeout=60s"))
    _wait_running(served, "bare")
    assert served.cluster.get("poddisruptionbudgets", "default", "bare-pdb") is not None
    again = served.kubectl("create", "-f", str(path), "--validate=false")
    assert again.returncode != 0 and 'pods "bare" already exists' in again.stderr
    validating = served.kubectl("create", "-f", str(path))
    assert validating.returncode != 0 and "--validate=false" in validating.stderr


def test_protobuf_bodies_are_refused_with_415(served):
    # The real server decodes application/vnd.kubernetes.protobuf; the fake models no protobuf schema and says
    # so (415 UnsupportedMediaType) instead of guessing.
    request = urllib.request.Request(f"{served.server.url}/api/v1/namespaces/default/pods", method="POST",
                                     data=b"k8s\x00\n\x0b\n\x02v1\x12\x03Pod",
                                     headers={"Content-Type": "application/vnd.kubernetes.protobuf"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    status = json.loads(refused.value.read())
    assert refused.value.code == 415 and status["reason"] == "UnsupportedMediaType"
    assert "protobuf" in status["message"] and "application/json" in status["message"]


def test_the_kubernetes_service_exists_and_services_are_read_only(served, tmp_path: Path):
    # pkg/controlplane/controller/kubernetesservice: the API server keeps `kubernetes` in `default`.
    row = _ok(served.kubectl("get", "svc", "kubernetes", "-n", "default", "--no-headers")).split()
    assert row[:5] == ["kubernetes", "ClusterIP", "10.100.0.1", "<none>", "443/TCP"]
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "extra"},
               "spec": {"ports": [{"port": 80}], "selector": {"app": "web"}}}
    path = tmp_path / "service.json"
    path.write_text(json.dumps(service))
    refused = served.kubectl("create", "-f", str(path), "--validate=false")
    assert refused.returncode != 0
    assert "(MethodNotAllowed)" in refused.stderr and "serves services as get, list, watch only" in refused.stderr
