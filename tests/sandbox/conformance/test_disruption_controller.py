"""The disruption controller computes a PDB's status as pkg/controller/disruption/disruption.go does."""

from __future__ import annotations

import pytest
from kubernetes.client.exceptions import ApiException

from bluegreen.sandbox.kube.objects import workload_objects
from tests.integration.sandbox.kube_fixtures import needs_kubectl
from tests.sandbox.conformance.fixtures import conformance, refusal  # noqa: F401


def _events(c, reason: str) -> list[dict]:
    return [e for e in c.cluster.list("events", "default") if e["reason"] == reason]


# pkg/controller/disruption/disruption.go getExpectedScale: a pod without a controller is "unmanaged" and not
# counted, so a bare pod under maxUnavailable leaves expectedPods 0 and updatePdbStatus allows 0 disruptions.
def test_bare_pod_under_max_unavailable_is_never_evictable(conformance):  # noqa: F811
    c = conformance
    c.workload("Pod", "lonely", pdb={"maxUnavailable": 1})
    c.advance(10)  # settled: every pod Running and Ready
    status = c.pdb("lonely-pdb")["status"]
    assert (status["expectedPods"], status["desiredHealthy"], status["currentHealthy"],
            status["disruptionsAllowed"]) == (0, 0, 1, 0)
    assert status["conditions"][0]["reason"] == "InsufficientPods"
    assert "were found to be unmanaged" in _events(c, "UnmanagedPods")[0]["message"]
    with pytest.raises(ApiException) as refused:
        c.evict("lonely")
    assert refused.value.status == 429
    assert refusal(refused.value)["details"]["causes"][0]["message"] == (
        "The disruption budget lonely-pdb needs 0 healthy pods and has 1 currently")
    c.advance(300)
    with pytest.raises(ApiException):  # refused forever, not only until a controller catches up
        c.evict("lonely")


# The same through real kubectl: `kubectl drain --force` cannot move a bare pod under maxUnavailable.
@needs_kubectl
@pytest.mark.kubectl
def test_kubectl_drain_cannot_evict_a_bare_pod_under_max_unavailable(conformance):  # noqa: F811
    c = conformance
    c.workload("Pod", "lonely", pdb={"maxUnavailable": 1})
    c.advance(10)  # settled: every pod Running and Ready
    node = c.core.read_namespaced_pod("lonely", "default").spec.node_name
    result = c.served.kubectl("drain", node, "--force", "--ignore-daemonsets", "--timeout=3s")
    assert result.returncode != 0
    assert "Cannot evict pod as it would violate the pod's disruption budget." in result.stderr
    assert c.core.read_namespaced_pod("lonely", "default").metadata.deletion_timestamp is None


# disruption.go getExpectedPodCount: a percentage minAvailable also counts the controllers' scale (0 here).
def test_bare_pod_under_percentage_min_available_allows_nothing(conformance):  # noqa: F811
    c = conformance
    c.workload("Pod", "lonely", pdb={"minAvailable": "50%"})
    c.advance(10)  # settled: every pod Running and Ready
    status = c.pdb("lonely-pdb")["status"]
    assert (status["expectedPods"], status["desiredHealthy"], status["disruptionsAllowed"]) == (0, 0, 0)


# disruption.go getExpectedPodCount: an integer minAvailable counts the pods the selector matches, so it works
# for bare pods (the UnmanagedPods event tells users to use exactly this).
def test_integer_min_available_counts_bare_pods(conformance):  # noqa: F811
    c = conformance
    (template,) = workload_objects("Pod", "solo")
    for index in range(3):
        c.apply({**template, "metadata": {**template["metadata"], "name": f"solo-{index}"}})
    c.apply({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
             "metadata": {"name": "solo-pdb", "namespace": "default"},
             "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app.kubernetes.io/name": "solo"}}}})
    c.advance(10)  # settled: every pod Running and Ready
    status = c.pdb("solo-pdb")["status"]
    assert (status["expectedPods"], status["desiredHealthy"], status["disruptionsAllowed"]) == (3, 2, 1)
    c.evict("solo-0")
    with pytest.raises(ApiException) as refused:
        c.evict("solo-1")
    assert refused.value.status == 429


# disruption.go getScaleController + failSafe: a DaemonSet has no scale subresource, so a PDB with
# maxUnavailable over its pods fails to sync: disruptionsAllowed 0, DisruptionAllowed=False/SyncFailed, and the
# status keeps its old observedGeneration (none), so the eviction handler answers "still being processed".
def test_daemonset_pods_under_max_unavailable_fail_to_sync(conformance):  # noqa: F811
    c = conformance
    c.workload("DaemonSet", "agent", pdb={"maxUnavailable": 1})
    c.advance(10)  # settled: every pod Running and Ready
    pdb = c.pdb("agent-pdb")
    condition = pdb["status"]["conditions"][0]
    assert (condition["type"], condition["status"], condition["reason"]) == ("DisruptionAllowed", "False",
                                                                              "SyncFailed")
    assert condition["message"] == "daemonsets.apps does not implement the scale subresource"
    assert pdb["status"]["disruptionsAllowed"] == 0 and "observedGeneration" not in pdb["status"]
    assert _events(c, "CalculateExpectedPodCountFailed")[0]["message"] == (
        "Failed to calculate the number of expected pods: daemonsets.apps does not implement the scale subresource")
    with pytest.raises(ApiException) as refused:
        c.evict(c.pods("agent")[0].metadata.name)
    assert refused.value.status == 429 and refused.value.headers["Retry-After"] == "10"
    details = refusal(refused.value)["details"]
    assert details["retryAfterSeconds"] == 10
    assert details["causes"][0]["message"] == "The disruption budget agent-pdb is still being processed by the server."


# disruption.go getExpectedPodCount: with an integer minAvailable no scale is needed, so DaemonSet pods work.
def test_daemonset_pods_under_integer_min_available(conformance):  # noqa: F811
    c = conformance
    c.workload("DaemonSet", "agent", pdb={"minAvailable": 3})
    c.advance(10)  # settled: every pod Running and Ready
    status = c.pdb("agent-pdb")["status"]
    assert (status["expectedPods"], status["desiredHealthy"], status["disruptionsAllowed"]) == (4, 3, 1)
    assert status["conditions"][0]["reason"] == "SufficientPods"


# disruption.go getPodDeployment/getPodStatefulSet: maxUnavailable counts the owners' spec.replicas, not the pods
# that exist, so a Deployment scaled up before its pods exist has fewer healthy pods than expected.
def test_expected_pods_come_from_the_controllers_scale(conformance):  # noqa: F811
    c = conformance
    c.workload("Deployment", "web", replicas=3, pdb={"maxUnavailable": 1}, ready_seconds=5)
    c.workload("StatefulSet", "db", replicas=2, pdb={"maxUnavailable": "50%"})
    c.advance(10)
    assert c.pdb("web-pdb")["status"]["expectedPods"] == 3 and c.pdb("db-pdb")["status"]["desiredHealthy"] == 1
    c.apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 5}})
    c.advance(1)
    status = c.pdb("web-pdb")["status"]
    assert (status["expectedPods"], status["desiredHealthy"], status["currentHealthy"],
            status["disruptionsAllowed"]) == (5, 4, 3, 0)


# disruption.go buildDisruptedPodMap / countHealthyPods: an approved eviction's pod stays out of currentHealthy
# while it is in disruptedPods; the entry goes when the pod is being deleted, or after DeletionTimeout (2 min)
# when nobody deleted it (here: the eviction's delete failed its precondition after the budget was decremented,
# exactly as upstream orders checkAndDecrement before the delete).
def test_disrupted_pods_expire_after_the_deletion_timeout(conformance):  # noqa: F811
    c = conformance
    c.workload("Deployment", "web", replicas=3, pdb={"minAvailable": 1}, grace_seconds=30)
    c.advance(10)  # settled: every pod Running and Ready
    first, second = [p.metadata.name for p in c.pods("web")][:2]
    c.evict(first)
    recorded = c.pdb("web-pdb")["status"]
    assert list(recorded["disruptedPods"]) == [first] and recorded["disruptionsAllowed"] == 1
    c.advance(1)  # the pod is terminating now: its entry is dropped
    assert "disruptedPods" not in c.pdb("web-pdb")["status"]
    with pytest.raises(ApiException) as conflict:
        c.evict(second, preconditions={"uid": "not-the-uid"})
    assert conflict.value.status == 409
    assert second in c.pdb("web-pdb")["status"]["disruptedPods"]
    c.advance(10)  # the first pod's replacement is Ready by now
    status = c.pdb("web-pdb")["status"]
    # Ready and not terminating: the replacement, the third pod and `second`, which is disrupted: 2 count.
    assert second in status["disruptedPods"] and status["currentHealthy"] == 2
    c.advance(120)
    status = c.pdb("web-pdb")["status"]
    assert "disruptedPods" not in status and status["currentHealthy"] == 3
