"""Pure pieces of the fake API: selectors, patch types, PDB arithmetic, eviction verdicts, scheduling."""

from __future__ import annotations

import pytest

from bluegreen.sandbox.kube.disruption import (
    EVICTION_BLOCKED_MESSAGE,
    MULTIPLE_PDBS_MESSAGE,
    budget_status,
    eviction_verdict,
    scaled_value,
)
from bluegreen.sandbox.kube.errors import BadRequest, Invalid, UnsupportedMediaType
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


def _pod(name: str, ready: bool = True, phase: str = "Running", deleting: bool = False) -> dict:
    metadata = {"name": name, "namespace": "default"}
    if deleting:
        metadata["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": metadata, "status": {"phase": phase,
                                             "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def test_budget_status_arithmetic():
    pods = [_pod("a"), _pod("b"), _pod("c", ready=False), _pod("d", deleting=True)]
    # minAvailable int: expected = pods seen (terminating ones included, terminal ones not).
    assert budget_status({"minAvailable": 2}, pods, 4) == budget_status({"minAvailable": 2}, pods, 99)
    status = budget_status({"minAvailable": 2}, pods, 4)
    assert (status.current_healthy, status.desired_healthy, status.disruptions_allowed, status.expected_pods) == (
        2, 2, 0, 4)
    # minAvailable percent: of the controllers' scale, rounded up.
    status = budget_status({"minAvailable": "50%"}, pods, 3)
    assert (status.desired_healthy, status.disruptions_allowed, status.expected_pods) == (2, 0, 3)
    status = budget_status({"minAvailable": "30%"}, [_pod(x) for x in "abcde"], 5)
    assert (status.desired_healthy, status.disruptions_allowed) == (2, 3)
    # maxUnavailable percent: 25% of 5 rounds up to 2 unavailable -> 3 desired.
    status = budget_status({"maxUnavailable": "25%"}, [_pod(x) for x in "abcde"], 5)
    assert (status.desired_healthy, status.disruptions_allowed) == (3, 2)
    status = budget_status({"maxUnavailable": 0}, [_pod(x) for x in "ab"], 2)
    assert status.disruptions_allowed == 0
    terminal = [_pod("a", phase="Succeeded", ready=False), _pod("b")]
    assert budget_status({"minAvailable": 1}, terminal, 2).expected_pods == 1


def test_eviction_verdicts():
    pdb = {"metadata": {"name": "web-pdb"}, "spec": {"minAvailable": 2}}
    healthy = budget_status(pdb["spec"], [_pod("a"), _pod("b"), _pod("c")], 3)
    tight = budget_status(pdb["spec"], [_pod("a"), _pod("b"), _pod("c", ready=False)], 3)
    assert eviction_verdict(_pod("a"), [(pdb, healthy)]).allowed
    blocked = eviction_verdict(_pod("a"), [(pdb, tight)])
    assert not blocked.allowed and blocked.error.code == 429 and blocked.error.message == EVICTION_BLOCKED_MESSAGE
    cause = blocked.error.status()["details"]["causes"][0]
    assert cause == {"reason": "DisruptionBudget",
                     "message": "The disruption budget web-pdb needs 2 healthy pods and has 2 currently"}
    # An unready pod may go while the budget is healthy (IfHealthyBudget), not when it is not.
    assert eviction_verdict(_pod("c", ready=False), [(pdb, tight)]).allowed
    starving = budget_status(pdb["spec"], [_pod("a"), _pod("b", ready=False)], 2)
    assert not eviction_verdict(_pod("b", ready=False), [(pdb, starving)]).allowed
    always = {"metadata": {"name": "p"}, "spec": {"minAvailable": 2, "unhealthyPodEvictionPolicy": "AlwaysAllow"}}
    assert eviction_verdict(_pod("b", ready=False), [(always, starving)]).allowed
    two = eviction_verdict(_pod("a"), [(pdb, healthy), (pdb, healthy)])
    assert two.error.code == 500 and two.error.message == MULTIPLE_PDBS_MESSAGE
    assert eviction_verdict(_pod("a"), []).allowed
    assert eviction_verdict(_pod("p", phase="Pending", ready=False), [(pdb, tight)]).allowed


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
