"""Optimistic concurrency: preconditions on deletes and evictions, resourceVersions on PUTs, as kube-apiserver."""

from __future__ import annotations

import json

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.integration.sandbox.kube_fixtures import needs_kubectl, node_name
from tests.sandbox.conformance.fixtures import conformance, refusal  # noqa: F401


# k8s.io/apiserver/pkg/registry/rest/delete.go BeforeDelete: a uid or resourceVersion precondition that no longer
# matches the stored object is a 409 Conflict naming the kind, and nothing is deleted.
def test_delete_with_stale_preconditions_is_a_conflict(conformance):  # noqa: F811
    c = conformance
    c.workload("Deployment", "web", replicas=2, grace_seconds=30)
    c.advance(10)  # settled: every pod Running and Ready
    pod = c.pods("web")[0]
    name = pod.metadata.name
    with pytest.raises(ApiException) as wrong_uid:
        c.core.delete_namespaced_pod(name, "default", body=client.V1DeleteOptions(
            preconditions=client.V1Preconditions(uid="00000000-0000-4000-8000-000000000000")))
    body = refusal(wrong_uid.value)
    assert wrong_uid.value.status == 409 and body["reason"] == "Conflict"
    assert body["message"] == (
        f'Operation cannot be fulfilled on Pod "{name}": the UID in the precondition '
        f"(00000000-0000-4000-8000-000000000000) does not match the UID in record ({pod.metadata.uid}). "
        "The object might have been deleted and then recreated")
    c.core.patch_namespaced_pod(name, "default", {"metadata": {"labels": {"touched": "yes"}}})
    with pytest.raises(ApiException) as stale:
        c.core.delete_namespaced_pod(name, "default", body=client.V1DeleteOptions(
            preconditions=client.V1Preconditions(resource_version=pod.metadata.resource_version)))
    assert stale.value.status == 409 and "does not match the ResourceVersion in record" in refusal(stale.value)[
        "message"]
    assert c.core.read_namespaced_pod(name, "default").metadata.deletion_timestamp is None
    c.core.delete_namespaced_pod(name, "default", body=client.V1DeleteOptions(
        preconditions=client.V1Preconditions(uid=pod.metadata.uid)))
    assert c.core.read_namespaced_pod(name, "default").metadata.deletion_timestamp is not None
    with pytest.raises(ApiException) as deployment:
        c.apps.delete_namespaced_deployment("web", "default", body=client.V1DeleteOptions(
            preconditions=client.V1Preconditions(uid="nope")))
    assert deployment.value.status == 409 and 'on Deployment.apps "web"' in refusal(deployment.value)["message"]


# pkg/registry/core/pod/storage/eviction.go addConditionAndDeletePod (getLatestPod): an eviction's
# deleteOptions.preconditions are checked against the stored pod; a mismatch is a 409 and the pod stays.
def test_eviction_with_stale_preconditions_is_a_conflict(conformance):  # noqa: F811
    c = conformance
    c.workload("Deployment", "web", replicas=2)
    c.advance(10)  # settled: every pod Running and Ready
    pod = c.pods("web")[0]
    with pytest.raises(ApiException) as wrong_uid:
        c.evict(pod.metadata.name, preconditions=client.V1Preconditions(uid="not-it"))
    assert wrong_uid.value.status == 409
    assert refusal(wrong_uid.value)["message"].startswith(f'Operation cannot be fulfilled on Pod "{pod.metadata.name}"'
                                                          ": the UID in the precondition (not-it)")
    c.core.patch_namespaced_pod(pod.metadata.name, "default", {"metadata": {"labels": {"touched": "yes"}}})
    with pytest.raises(ApiException) as stale:
        c.evict(pod.metadata.name, preconditions=client.V1Preconditions(
            resource_version=pod.metadata.resource_version))
    assert stale.value.status == 409
    assert c.core.read_namespaced_pod(pod.metadata.name, "default").metadata.deletion_timestamp is None
    c.evict(pod.metadata.name, preconditions=client.V1Preconditions(uid=pod.metadata.uid))
    assert all(p.metadata.uid != pod.metadata.uid for p in c.pods("web"))


# k8s.io/apiserver/pkg/registry/generic/registry/store.go Update: a PUT (object or status subresource) carrying
# a resourceVersion that is no longer current is a 409 "the object has been modified".
def test_puts_with_a_stale_resource_version_are_conflicts(conformance):  # noqa: F811
    c = conformance
    c.workload("Deployment", "web", replicas=2, pdb={"maxUnavailable": 1})
    c.advance(10)  # settled: every pod Running and Ready
    node = c.core.read_node(node_name(0))
    c.core.patch_node(node_name(0), {"metadata": {"labels": {"touched": "yes"}}})
    node.spec.unschedulable = True
    with pytest.raises(ApiException) as stale:
        c.core.replace_node(node_name(0), node)
    assert stale.value.status == 409 and refusal(stale.value)["message"] == (
        f'Operation cannot be fulfilled on nodes "{node_name(0)}": the object has been modified; please apply '
        "your changes to the latest version and try again")
    pdb = c.policy.read_namespaced_pod_disruption_budget("web-pdb", "default")
    c.advance(0.5)
    c.workload("Deployment", "web", replicas=3, pdb={"maxUnavailable": 1})  # the controller rewrites the status
    c.advance(1)
    stored = c.pdb("web-pdb")["status"]
    assert stored["expectedPods"] == 3  # rewritten since the read
    pdb.status.disruptions_allowed = 5
    with pytest.raises(ApiException) as stale_status:
        c.policy.replace_namespaced_pod_disruption_budget_status("web-pdb", "default", pdb)
    assert stale_status.value.status == 409
    assert "the object has been modified" in refusal(stale_status.value)["message"]
    assert c.pdb("web-pdb")["status"] == stored
    fresh = c.policy.read_namespaced_pod_disruption_budget("web-pdb", "default")
    fresh.status.disruptions_allowed = -1
    with pytest.raises(ApiException) as negative:
        c.policy.replace_namespaced_pod_disruption_budget_status("web-pdb", "default", fresh)
    assert negative.value.status == 422
    assert refusal(negative.value)["details"]["causes"][0]["field"] == "status.disruptionsAllowed"


# The same through real kubectl: `kubectl replace` of a stale object is refused by the server.
@needs_kubectl
@pytest.mark.kubectl
def test_kubectl_replace_with_a_stale_object_is_refused(conformance, tmp_path):  # noqa: F811
    c = conformance
    stale = c.cluster.get("nodes", None, node_name(1))
    c.core.patch_node(node_name(1), {"metadata": {"labels": {"touched": "yes"}}})
    stale["spec"]["unschedulable"] = True
    path = tmp_path / "node.json"
    path.write_text(json.dumps(stale))
    result = c.served.kubectl("replace", "--validate=false", "-f", str(path))  # no /openapi here
    assert result.returncode != 0
    assert "the object has been modified; please apply your changes to the latest version" in result.stderr
    assert not c.cluster.get("nodes", None, node_name(1))["spec"].get("unschedulable")
