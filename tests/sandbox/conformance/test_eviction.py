"""The eviction subresource follows pkg/registry/core/pod/storage/eviction.go (EvictionREST.Create)."""

from __future__ import annotations

import pytest
from kubernetes.client.exceptions import ApiException

from bluegreen.sandbox.kube.eviction import EVICTION_BLOCKED_MESSAGE, MULTIPLE_PDBS_MESSAGE
from bluegreen.sandbox.kube.objects import workload_objects
from tests.sandbox.conformance.fixtures import conformance, refusal  # noqa: F401


def _condition(pod, kind: str):
    return next((c for c in pod.status.conditions or [] if c.type == kind), None)


# eviction.go checkAndDecrement: the handler reads the PDB's stored status, refuses with 429 when
# disruptionsAllowed is 0, otherwise decrements it and records the pod in status.disruptedPods, before the
# disruption controller has recounted anything.
def test_eviction_decrements_the_stored_status_and_records_the_pod(conformance):  # noqa: F811
    c = conformance
    c.workload("Deployment", "web", replicas=4, pdb={"maxUnavailable": 2}, grace_seconds=30)
    c.advance(10)  # settled: every pod Running and Ready
    names = [p.metadata.name for p in c.pods("web")]
    assert c.pdb("web-pdb")["status"]["disruptionsAllowed"] == 2
    c.evict(names[0])
    status = c.pdb("web-pdb")["status"]
    assert status["disruptionsAllowed"] == 1 and status["currentHealthy"] == 4  # not recounted yet
    assert set(status["disruptedPods"]) == {names[0]}
    c.evict(names[1])
    status = c.pdb("web-pdb")["status"]
    assert status["disruptionsAllowed"] == 0 and set(status["disruptedPods"]) == {names[0], names[1]}
    assert status["conditions"][0]["reason"] == "InsufficientPods"  # UpdateDisruptionAllowedCondition at 0
    with pytest.raises(ApiException) as refused:
        c.evict(names[2])
    body = refusal(refused.value)
    assert refused.value.status == 429 and body["reason"] == "TooManyRequests"
    assert body["message"] == EVICTION_BLOCKED_MESSAGE and "retryAfterSeconds" not in body["details"]
    assert body["details"]["causes"] == [{"reason": "DisruptionBudget",
                                          "message": "The disruption budget web-pdb needs 2 healthy pods and has 4 "
                                                     "currently"}]


# eviction.go checkAndDecrement/createTooManyRequestsError: while status.observedGeneration lags
# metadata.generation (a spec change the controller has not processed), 429 "still being processed" with
# retryAfterSeconds 10 and a Retry-After header.
def test_eviction_waits_for_the_controller_after_a_spec_change(conformance):  # noqa: F811
    c = conformance
    c.workload("Deployment", "web", replicas=3, pdb={"minAvailable": 1})
    c.advance(10)  # settled: every pod Running and Ready
    c.policy.patch_namespaced_pod_disruption_budget("web-pdb", "default", {"spec": {"minAvailable": 2}})
    assert c.pdb("web-pdb")["metadata"]["generation"] == 2
    name = c.pods("web")[0].metadata.name
    with pytest.raises(ApiException) as refused:
        c.evict(name)
    assert refused.value.status == 429 and refused.value.headers["Retry-After"] == "10"
    body = refusal(refused.value)
    assert body["details"]["retryAfterSeconds"] == 10
    assert body["details"]["causes"][0]["message"] == (
        "The disruption budget web-pdb is still being processed by the server.")
    c.advance(1)
    assert c.pdb("web-pdb")["status"]["observedGeneration"] == 2
    c.evict(name)


# eviction.go Create: a newly created PDB has an empty status (observedGeneration 0 < generation 1).
def test_a_new_budget_refuses_until_first_synced(conformance):  # noqa: F811
    c = conformance
    c.workload("Deployment", "web", replicas=3)
    c.advance(10)  # settled: every pod Running and Ready
    c.policy.create_namespaced_pod_disruption_budget("default", {
        "metadata": {"name": "late"}, "spec": {"maxUnavailable": 1,
                                               "selector": {"matchLabels": {"app.kubernetes.io/name": "web"}}}})
    assert c.pdb("late")["status"] == {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0,
                                       "expectedPods": 0}
    with pytest.raises(ApiException) as refused:
        c.evict(c.pods("web")[0].metadata.name)
    assert "still being processed" in refusal(refused.value)["details"]["causes"][0]["message"]


# eviction.go Create: more than one PDB selecting the pod is answered with a Status of code 500.
def test_two_budgets_are_a_500(conformance):  # noqa: F811
    c = conformance
    c.workload("Deployment", "web", replicas=3, pdb={"maxUnavailable": 1})
    c.policy.create_namespaced_pod_disruption_budget("default", {
        "metadata": {"name": "also"}, "spec": {"minAvailable": 1,
                                               "selector": {"matchLabels": {"app.kubernetes.io/name": "web"}}}})
    c.advance(10)  # settled: every pod Running and Ready
    with pytest.raises(ApiException) as refused:
        c.evict(c.pods("web")[0].metadata.name)
    body = refusal(refused.value)
    assert refused.value.status == 500 and body["message"] == MULTIPLE_PDBS_MESSAGE and body["status"] == "Failure"


# eviction.go Create (IsPodReady branch): a pod that is not Ready goes without touching the budget while the
# budget is healthy (IfHealthyBudget, the default); it is refused when the budget is not; AlwaysAllow lets it go.
@pytest.mark.parametrize(("policy", "healthy_budget", "allowed"), [
    (None, True, True), ("IfHealthyBudget", True, True), (None, False, False), ("IfHealthyBudget", False, False),
    ("AlwaysAllow", False, True),
])
def test_unhealthy_pod_eviction_policy(conformance, policy, healthy_budget, allowed):  # noqa: F811
    c = conformance
    pdb = {"minAvailable": 2 if healthy_budget else 4}
    if policy:
        pdb["unhealthyPodEvictionPolicy"] = policy
    c.workload("Deployment", "web", replicas=3, pdb=pdb, grace_seconds=30)
    (starting,) = workload_objects("Pod", "starting", ready_seconds=1000)  # Running, never Ready in this test
    c.apply({**starting, "metadata": {**starting["metadata"], "labels": {"app.kubernetes.io/name": "web"}}})
    c.advance(10)  # settled: every pod Running and Ready
    before = c.pdb("web-pdb")["status"]
    assert before["currentHealthy"] == 3 and before["expectedPods"] == 4
    if not allowed:
        with pytest.raises(ApiException) as refused:
            c.evict("starting")
        assert refused.value.status == 429
        return
    c.evict("starting")
    assert "starting" not in {p.metadata.name for p in c.pods("web")}  # grace 0: gone at once
    assert c.pdb("web-pdb")["status"] == before  # not decremented, nothing recorded


# eviction.go canIgnorePDB: a pod that is already terminating, Pending, Succeeded or Failed is deleted without
# asking its budget (here a budget that allows nothing).
def test_terminating_and_pending_pods_ignore_the_budget(conformance):  # noqa: F811
    c = conformance
    c.workload("Deployment", "web", replicas=2, pdb={"minAvailable": 2}, grace_seconds=60)
    c.workload("Deployment", "huge", replicas=1, cpu="64", pdb={"minAvailable": 1})  # fits nowhere: Pending
    c.advance(10)  # settled: every pod Running and Ready
    assert c.pdb("web-pdb")["status"]["disruptionsAllowed"] == 0
    victim = c.pods("web")[0].metadata.name
    c.core.delete_namespaced_pod(victim, "default")
    c.evict(victim, grace_period_seconds=5)  # terminating: deleted again, and the grace period shortens
    assert c.core.read_namespaced_pod(victim, "default").metadata.deletion_grace_period_seconds == 5
    pending = c.pods("huge")[0]
    assert pending.status.phase == "Pending"
    c.evict(pending.metadata.name)
    assert all(p.metadata.name != pending.metadata.name for p in c.pods("huge"))
    c.advance(5)  # the first victim's container has exited: Succeeded, not yet removed by the kubelet
    assert c.core.read_namespaced_pod(victim, "default").status.phase == "Succeeded"
    c.evict(victim)  # a finished pod is deleted at once
    assert victim not in {p.metadata.name for p in c.pods("web")}


# eviction.go addConditionAndDeletePod: the evicted pod gets DisruptionTarget=True (reason EvictionByEvictionAPI)
# before its graceful deletion; a dry-run eviction decides (429 included) but changes nothing.
def test_evicted_pods_carry_the_disruption_target_condition(conformance):  # noqa: F811
    c = conformance
    c.workload("Deployment", "web", replicas=3, pdb={"maxUnavailable": 1}, grace_seconds=30)
    c.advance(10)  # settled: every pod Running and Ready
    first, second = [p.metadata.name for p in c.pods("web")][:2]
    before = c.pdb("web-pdb")
    c.evict(first, dry_run=["All"])
    assert c.pdb("web-pdb") == before and _condition(c.core.read_namespaced_pod(first, "default"),
                                                     "DisruptionTarget") is None
    c.evict(first)
    pod = c.core.read_namespaced_pod(first, "default")
    condition = _condition(pod, "DisruptionTarget")
    assert (condition.status, condition.reason, condition.message) == ("True", "EvictionByEvictionAPI",
                                                                       "Eviction API: evicting")
    assert pod.metadata.deletion_timestamp is not None
    with pytest.raises(ApiException) as refused:
        c.evict(second, dry_run=["All"])
    assert refused.value.status == 429
