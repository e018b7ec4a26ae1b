"""Write validation: kube-apiserver refuses values the drain logic would otherwise trust (422 Invalid naming the
field, or 400 when the body does not even decode)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from kubernetes.client.exceptions import ApiException

from tests.integration.sandbox.kube_fixtures import needs_kubectl, node_name
from tests.sandbox.conformance.fixtures import conformance, refusal  # noqa: F401


def _pdb(name: str, **spec) -> dict:
    return {"metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app.kubernetes.io/name": "web"}}, **spec}}


# k8s.io/apiserver/pkg/endpoints/handlers/patch.go applyPatchToObject: a strategic merge patch whose result does
# not convert to a Node (unschedulable is a bool) is a 422 on the field "patch"; a PUT whose body does not decode
# is a 400 naming the Go field (k8s.io/apimachinery json decoding).
def test_unschedulable_must_be_a_bool(conformance):  # noqa: F811
    c = conformance
    with pytest.raises(ApiException) as patched:
        c.core.patch_node(node_name(0), {"spec": {"unschedulable": "yes"}})
    body = refusal(patched.value)
    assert patched.value.status == 422 and body["reason"] == "Invalid"
    assert body["details"]["causes"] == [{"reason": "FieldValueInvalid", "field": "patch",
                                          "message": 'Invalid value: "map[spec:map[unschedulable:yes]]": '
                                                     "unrecognized type: bool"}]
    node = c.cluster.get("nodes", None, node_name(0))
    node["spec"]["unschedulable"] = "yes"
    request = urllib.request.Request(f"{c.served.server.url}/api/v1/nodes/{node_name(0)}", method="PUT",
                                     data=json.dumps(node).encode(), headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as replaced:
        urllib.request.urlopen(request, timeout=10)
    assert replaced.value.code == 400 and json.loads(replaced.value.read())["message"] == (
        'Node in version "v1" cannot be handled as a Node: json: cannot unmarshal string into Go struct field '
        "NodeSpec.spec.unschedulable of type bool")
    assert not c.cluster.get("nodes", None, node_name(0))["spec"].get("unschedulable")


# pkg/apis/core/validation validateNodeTaints/validateTaintEffect: the effect is NoSchedule, PreferNoSchedule
# or NoExecute; key+effect pairs are unique.
def test_taint_effect_must_be_supported(conformance):  # noqa: F811
    c = conformance
    with pytest.raises(ApiException) as refused:
        c.core.patch_node(node_name(0), {"spec": {"taints": [{"key": "dedicated", "value": "x",
                                                              "effect": "Sometimes"}]}})
    body = refusal(refused.value)
    assert refused.value.status == 422 and body["details"]["kind"] == "Node"
    assert body["message"] == (f'Node "{node_name(0)}" is invalid: spec.taints[0].effect: Unsupported value: '
                               '"Sometimes": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"')
    assert body["details"]["causes"][0]["reason"] == "FieldValueNotSupported"
    with pytest.raises(ApiException) as duplicate:
        c.core.patch_node(node_name(0), {"spec": {"taints": [{"key": "a", "effect": "NoSchedule"},
                                                             {"key": "a", "value": "2", "effect": "NoSchedule"}]}})
    assert refusal(duplicate.value)["details"]["causes"][0]["field"] == "spec.taints[1]"
    assert c.cluster.get("nodes", None, node_name(0))["spec"].get("taints") is None


# pkg/apis/policy/validation ValidatePodDisruptionBudgetSpec: unhealthyPodEvictionPolicy is IfHealthyBudget or
# AlwaysAllow; minAvailable/maxUnavailable are a non-negative int or a percentage up to 100%; not both.
@pytest.mark.parametrize(("spec", "field", "message"), [
    ({"minAvailable": 1, "unhealthyPodEvictionPolicy": "Bogus"}, "spec.unhealthyPodEvictionPolicy",
     'Unsupported value: "Bogus": supported values: "AlwaysAllow", "IfHealthyBudget"'),
    ({"minAvailable": "2"}, "spec.minAvailable",
     "Invalid value: \"2\": a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  "
     "or '93%', regex used for validation is '[0-9]+%')"),
    ({"maxUnavailable": "150%"}, "spec.maxUnavailable", 'Invalid value: "150%": must not be greater than 100%'),
    ({"maxUnavailable": -1}, "spec.maxUnavailable", "Invalid value: -1: must be greater than or equal to 0"),
    ({"minAvailable": 1, "maxUnavailable": 1}, "spec",
     'Invalid value: {"maxUnavailable":1,"minAvailable":1}: minAvailable and maxUnavailable cannot be both set'),
])
def test_pdb_spec_validation(conformance, spec, field, message):  # noqa: F811
    c = conformance
    with pytest.raises(ApiException) as refused:
        c.policy.create_namespaced_pod_disruption_budget("default", _pdb("bad", **spec))
    body = refusal(refused.value)
    assert refused.value.status == 422 and body["reason"] == "Invalid"
    assert body["details"]["group"] == "policy" and body["details"]["kind"] == "PodDisruptionBudget"
    assert {"field": field, "message": message} in [{k: cause[k] for k in ("field", "message")}
                                                    for cause in body["details"]["causes"]]
    assert body["message"].startswith('PodDisruptionBudget.policy "bad" is invalid: ')
    assert c.cluster.get("poddisruptionbudgets", "default", "bad") is None


# Updates are validated too: a valid PDB cannot be patched into an invalid one.
def test_pdb_updates_are_validated(conformance):  # noqa: F811
    c = conformance
    c.policy.create_namespaced_pod_disruption_budget("default", _pdb("good", minAvailable=1))
    with pytest.raises(ApiException) as refused:
        c.policy.patch_namespaced_pod_disruption_budget("good", "default", {"spec": {"minAvailable": "2"}})
    assert refused.value.status == 422
    assert c.cluster.get("poddisruptionbudgets", "default", "good")["spec"]["minAvailable"] == 1


# pkg/apis/core/validation validateTolerations: operator Exists or Equal, a supported effect.
def test_toleration_validation(conformance):  # noqa: F811
    c = conformance
    pod = {"metadata": {"name": "tolerant"}, "spec": {
        "containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10"}],
        "tolerations": [{"key": "a", "operator": "Maybe", "effect": "NoSchedule"}]}}
    with pytest.raises(ApiException) as refused:
        c.core.create_namespaced_pod("default", pod)
    assert refusal(refused.value)["details"]["causes"][0]["field"] == "spec.tolerations[0].operator"


# Real kubectl gets the same answer: `kubectl patch` of a wrongly typed field is refused by the server.
@needs_kubectl
@pytest.mark.kubectl
def test_kubectl_patch_with_a_wrong_type_is_refused(conformance):  # noqa: F811
    c = conformance
    result = c.served.kubectl("patch", "node", node_name(2), "-p", '{"spec":{"unschedulable":"yes"}}')
    assert result.returncode != 0 and "unrecognized type: bool" in result.stderr
    assert 'Unsupported value: "Sometimes"' in c.served.kubectl(
        "patch", "node", node_name(2), "--type=merge", "-p",
        '{"spec":{"taints":[{"key":"k","effect":"Sometimes"}]}}').stderr


# What the sandbox does not model it refuses, naming it, rather than answering more permissively than a real
# server: finalizers on objects other than pods (an object would vanish at once on delete) and foreground cascading
# deletion.
def test_unmodelled_features_are_refused_loudly(conformance):  # noqa: F811
    c = conformance
    with pytest.raises(ApiException) as finalizers:
        c.policy.create_namespaced_pod_disruption_budget("default", {**_pdb("held", minAvailable=1), "metadata": {
            "name": "held", "finalizers": ["example.com/hold"]}})
    assert finalizers.value.status == 400 and "models finalizers on pods only" in refusal(finalizers.value)["message"]
    c.workload("Deployment", "web", replicas=1)
    with pytest.raises(ApiException) as foreground:
        c.apps.delete_namespaced_deployment("web", "default", propagation_policy="Foreground")
    assert foreground.value.status == 400 and "foreground cascading deletion" in refusal(foreground.value)["message"]
    assert c.cluster.get("deployments", "default", "web") is not None
