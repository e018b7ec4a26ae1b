"""Pure pieces of the fake API: selectors, patch types, PDB arithmetic, eviction verdicts, scheduling."""

from __future__ import annotations

import pytest

from bluegreen.sandbox.kube.disruption import (
    count_healthy,
    disruptions_allowed,
    expected_pod_count,
    scaled_value,
)
from bluegreen.sandbox.kube.errors import BadRequest, Invalid, UnsupportedMediaType
from bluegreen.sandbox.kube.eviction import (
    EVICTION_BLOCKED_MESSAGE,
    budgets_selecting,
    can_ignore_pdb,
    check_and_decrement,
    unhealthy_pod_may_go,
)
from bluegreen.sandbox.kube.patch import JSON_PATCH, MERGE, STRATEGIC, apply_patch
from bluegreen.sandbox.kube.quantity import QuantityError, cpu_millis, memory_bytes
from bluegreen.sandbox.kube.scheduler import NodeView, choose_node, tolerates
from bluegreen.sandbox.kube.selectors import (
    fields_match,
    labels_match,
    parse_field_selector,
    parse_label_selector,
    selector_matches,
)


def test_label_selectors_equality_and_set_based():
    labels = {"app": "web", "tier": "front"}
    cases = {
        "app=web": True, "app==web": True, "app!=web": False, "app!=db": True,
        "app in (web, api)": True, "app notin (web,api)": False, "tier,app": True, "!canary": True,
        "canary": False, "!app": False, "app in (web),tier=front": True, "missing!=x": True,
        "missing notin (x)": True, "": True,
    }
    for text, expected in cases.items():
        assert labels_match(parse_label_selector(text), labels) is expected, text
    with pytest.raises(BadRequest):
        parse_label_selector("app in web")


def test_label_selector_objects_none_selects_nothing_empty_selects_all():
    assert selector_matches(None, {"a": "b"}) is False
    assert selector_matches({}, {"a": "b"}) is True
    expr = {"matchExpressions": [{"key": "a", "operator": "In", "values": ["b", "c"]},
                                 {"key": "x", "operator": "DoesNotExist"}]}
    assert selector_matches(expr, {"a": "c"}) is True
    assert selector_matches(expr, {"a": "c", "x": "1"}) is False


def test_field_selectors_for_pods():
    pod = {"metadata": {"name": "p", "namespace": "ns"}, "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}}
    assert fields_match(parse_field_selector("pods", "spec.nodeName=n1"), pod)
    assert fields_match(parse_field_selector("pods", "spec.nodeName==n1,status.phase!=Succeeded"), pod)
    assert not fields_match(parse_field_selector("pods", "spec.nodeName!=n1"), pod)
    assert fields_match(parse_field_selector("pods", "metadata.name=p,metadata.namespace=ns"), pod)
    assert not fields_match(parse_field_selector("pods", "spec.nodeName="), pod)
    with pytest.raises(BadRequest, match="field label not supported: spec.bogus"):
        parse_field_selector("pods", "spec.bogus=1")


def test_quantities():
    assert cpu_millis("250m") == 250 and cpu_millis("1.5") == 1500 and cpu_millis(2) == 2000
    assert memory_bytes("512Mi") == 512 * 2**20 and memory_bytes("1G") == 10**9 and memory_bytes("1Gi") == 2**30
    with pytest.raises(QuantityError):
        cpu_millis("lots")


NODE = {"metadata": {"name": "n", "labels": {"a": "1"}},
        "spec": {"taints": [{"key": "t", "value": "x", "effect": "NoSchedule"}]},
        "status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "MemoryPressure", "status": "False"}]}}


def test_patch_types_on_a_node():
    cordoned = apply_patch(NODE, {"spec": {"unschedulable": True}}, STRATEGIC + "; charset=utf-8")
    assert cordoned["spec"]["unschedulable"] is True and cordoned["spec"]["taints"] == NODE["spec"]["taints"]
    uncordoned = apply_patch(cordoned, {"spec": {"unschedulable": None}}, STRATEGIC)
    assert "unschedulable" not in uncordoned["spec"]
    # Strategic merge merges conditions by type; merge patch replaces the list.
    strategic = apply_patch(NODE, {"status": {"conditions": [{"type": "Ready", "status": "False"}]}}, STRATEGIC)
    assert [c["status"] for c in strategic["status"]["conditions"]] == ["False", "False"]
    merged = apply_patch(NODE, {"status": {"conditions": [{"type": "Ready", "status": "False"}]}}, MERGE)
    assert merged["status"]["conditions"] == [{"type": "Ready", "status": "False"}]
    labelled = apply_patch(NODE, {"metadata": {"labels": {"a": None, "b": "2"}}}, MERGE)
    assert labelled["metadata"]["labels"] == {"b": "2"}
    patched = apply_patch(NODE, [{"op": "add", "path": "/spec/taints/-", "value": {"key": "u", "effect": "NoExecute"}},
                                 {"op": "replace", "path": "/metadata/labels/a", "value": "9"},
                                 {"op": "test", "path": "/metadata/name", "value": "n"}], JSON_PATCH)
    assert [t["key"] for t in patched["spec"]["taints"]] == ["t", "u"] and patched["metadata"]["labels"]["a"] == "9"
    removed = apply_patch(NODE, [{"op": "remove", "path": "/spec/taints/0"}], JSON_PATCH)
    assert removed["spec"]["taints"] == []
    assert NODE["spec"]["taints"][0]["key"] == "t"  # patches never mutate their input
    with pytest.raises(Invalid):
        apply_patch(NODE, [{"op": "remove", "path": "/spec/nothing"}], JSON_PATCH)
    with pytest.raises(UnsupportedMediaType):
        apply_patch(NODE, {}, "application/apply-patch+yaml")
    deleted = apply_patch(NODE, {"status": {"conditions": [{"type": "Ready", "$patch": "delete"}]}}, STRATEGIC)
    assert [c["type"] for c in deleted["status"]["conditions"]] == ["MemoryPressure"]


def test_scaled_values_round_like_intstr():
    assert scaled_value("25%", 4, round_up=True) == 1
    assert scaled_value("25%", 5, round_up=True) == 2
    assert scaled_value("25%", 5, round_up=False) == 1
    assert scaled_value(3, 10, round_up=True) == 3 and scaled_value("3", 10, round_up=True) == 3


def _pod(name: str, ready: bool = True, phase: str = "Running", deleting: bool = False,
         owner: dict | None = None) -> dict:
    metadata = {"name": name, "namespace": "default", "labels": {"app": "web"}}
    if deleting:
        metadata["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    if owner:
        metadata["ownerReferences"] = [{**owner, "controller": True}]
    return {"metadata": metadata, "status": {"phase": phase,
                                             "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


_STS = {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "uid": "u-sts"}


def _lookup(plural: str, namespace: str, name: str) -> dict | None:
    if (plural, name) == ("statefulsets", "web"):
        return {"metadata": {"name": "web", "uid": "u-sts"}, "spec": {"replicas": 5}}
    return None


def test_budget_arithmetic():
    pods = [_pod("a", owner=_STS), _pod("b", owner=_STS), _pod("c", ready=False, owner=_STS),
            _pod("d", deleting=True, owner=_STS)]
    # minAvailable int: expected = every pod the selector matches; healthy = Ready and not being deleted.
    counted = expected_pod_count({"minAvailable": 2}, pods, _lookup)
    assert (counted.expected, counted.desired) == (4, 2) and count_healthy(pods, {}, 0.0) == 2
    # minAvailable percent and maxUnavailable: the controller's scale (5), rounded up.
    assert expected_pod_count({"minAvailable": "50%"}, pods, _lookup).desired == 3
    assert expected_pod_count({"maxUnavailable": "25%"}, pods, _lookup).desired == 3
    assert disruptions_allowed(5, 3, 5) == 2 and disruptions_allowed(2, 3, 5) == 0 and disruptions_allowed(1, 0, 0) == 0


def test_eviction_decisions():
    pdb = {"metadata": {"name": "web-pdb", "namespace": "default", "generation": 1},
           "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}},
           "status": {"observedGeneration": 1, "disruptionsAllowed": 0, "currentHealthy": 2, "desiredHealthy": 2}}
    with pytest.raises(Exception) as blocked:
        check_and_decrement(pdb, "a", "2026-01-01T00:00:00Z", dry_run=False)
    assert blocked.value.code == 429 and blocked.value.message == EVICTION_BLOCKED_MESSAGE
    assert blocked.value.status()["details"]["causes"][0] == {
        "reason": "DisruptionBudget",
        "message": "The disruption budget web-pdb needs 2 healthy pods and has 2 currently"}
    roomy = {**pdb, "status": {**pdb["status"], "disruptionsAllowed": 1, "currentHealthy": 3}}
    after = check_and_decrement(roomy, "a", "2026-01-01T00:00:00Z", dry_run=False)
    assert after["disruptionsAllowed"] == 0 and after["disruptedPods"] == {"a": "2026-01-01T00:00:00Z"}
    assert unhealthy_pod_may_go(_pod("c", ready=False), roomy) and not unhealthy_pod_may_go(_pod("a"), roomy)
    assert can_ignore_pdb(_pod("p", phase="Pending", ready=False)) and not can_ignore_pdb(_pod("a"))
    assert budgets_selecting(_pod("a"), [pdb]) == [pdb]
    assert budgets_selecting(_pod("a"), [{**pdb, "spec": {"selector": {}}}]) == []  # empty selects nothing here


def _view(name: str, order: int, **kw) -> NodeView:
    base = {"labels": {}, "taints": [], "unschedulable": False, "cpu_m": 2000, "memory": 2**33, "pods": 10}
    return NodeView(name=name, order=order, **{**base, **kw})


def test_scheduler_filters_and_placement():
    spec = {"containers": [{"name": "c", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}]}
    nodes = [_view("a", 0, used_cpu_m=1000), _view("b", 1), _view("c", 2, unschedulable=True)]
    assert choose_node(spec, nodes, "spread")[0].name == "b"
    assert choose_node(spec, nodes, "packed")[0].name == "a"
    full = [_view("a", 0, used_cpu_m=1800), _view("c", 2, unschedulable=True),
            _view("d", 3, taints=[{"key": "k", "effect": "NoSchedule"}]), _view("e", 4, labels={"x": "y"})]
    node, message = choose_node({**spec, "nodeSelector": {"x": "z"}}, full, "spread")
    assert node is None
    # Each node reports only its first rejecting filter (framework.RunFilterPlugins): "a" fails the selector
    # before its cpu is looked at; the "<count> <reason>" strings are sorted as strings (FitError.Error).
    assert message == ("0/4 nodes are available: 1 node(s) had untolerated taint {k: }, 1 node(s) were "
                       "unschedulable, 2 node(s) didn't match Pod's node affinity/selector.")
    assert choose_node(spec, full[:3], "spread")[1] == (
        "0/3 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {k: }, "
        "1 node(s) were unschedulable.")
    tolerating = {**spec, "tolerations": [{"key": "k", "operator": "Exists"}]}
    assert choose_node(tolerating, full, "spread")[0].name == "d"
    assert tolerates([{"operator": "Exists"}], {"key": "any", "effect": "NoExecute"})
    assert not tolerates([{"key": "k", "value": "v", "effect": "NoExecute"}], {"key": "k", "value": "v",
                                                                                "effect": "NoSchedule"})
