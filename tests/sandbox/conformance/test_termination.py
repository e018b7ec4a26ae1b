"""How the kubelet finishes a terminating pod (pkg/kubelet: status manager, getPhase, GeneratePodReadyCondition)."""

from __future__ import annotations

import pytest

from tests.integration.sandbox.kube_fixtures import needs_kubectl
from tests.sandbox.conformance.fixtures import conformance  # noqa: F401


def _ready(pod) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


# pkg/kubelet/kubelet_pods.go generateAPIPodStatus/getPhase and status/generate.go GeneratePodReadyCondition:
# a pod marked for deletion keeps running, and stays Ready, until its containers exit at the end of the grace
# period; then it is reported terminal (Succeeded: its container exited 0; Ready=False, reason PodCompleted), and
# only then does the kubelet's status manager remove the object (canBeDeleted).
def test_terminating_pod_stays_ready_then_succeeds_then_goes(conformance):  # noqa: F811
    c = conformance
    c.workload("Deployment", "web", replicas=1, grace_seconds=20)
    c.advance(10)  # settled: every pod Running and Ready
    (pod,) = c.pods("web")
    name = pod.metadata.name
    c.core.delete_namespaced_pod(name, "default")
    c.advance(10)
    running = c.core.read_namespaced_pod(name, "default")
    assert running.metadata.deletion_timestamp is not None and _ready(running)
    assert running.status.phase == "Running" and running.status.container_statuses[0].ready is True
    c.advance(10)  # the grace period has passed
    finished = c.core.read_namespaced_pod(name, "default")
    assert finished.status.phase == "Succeeded" and not _ready(finished)
    ready = next(x for x in finished.status.conditions if x.type == "Ready")
    assert ready.reason == "PodCompleted"
    terminated = finished.status.container_statuses[0].state.terminated
    assert (terminated.exit_code, terminated.reason) == (0, "Completed")
    c.advance(1)
    assert name not in {p.metadata.name for p in c.pods("web")}
    # The ReplicaSet never counted the terminating pod as a replica: its replacement was there all along.
    assert len(c.pods("web")) == 1


# The same seen through real kubectl: the pod reads 1/1 Terminating during its grace period.
@needs_kubectl
@pytest.mark.kubectl
def test_kubectl_shows_a_terminating_pod_ready(conformance):  # noqa: F811
    c = conformance
    c.workload("Deployment", "web", replicas=1, grace_seconds=20)
    c.advance(10)  # settled: every pod Running and Ready
    name = c.pods("web")[0].metadata.name
    c.core.delete_namespaced_pod(name, "default")
    c.advance(5)
    result = c.served.kubectl("get", "pod", name, "--no-headers")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[1:3] == ["1/1", "Terminating"]
