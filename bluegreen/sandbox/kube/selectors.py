"""Label selectors (equality and set-based) and field selectors, parsed as the API server does."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bluegreen.sandbox.kube.errors import BadRequest


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # "=", "!=", "in", "notin", "exists", "!"
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.operator == "exists":
            return present
        if self.operator == "!":
            return not present
        if self.operator in ("=", "in"):
            return present and value in self.values
        # "!=" and "notin" match objects without the label, as the real server does.
        return not present or value not in self.values


_NAME = r"[A-Za-z0-9](?:[-A-Za-z0-9_./]*[A-Za-z0-9])?"
_SET = re.compile(rf"^\s*({_NAME})\s+(in|notin)\s+\(([^)]*)\)\s*$")
_EQ = re.compile(rf"^\s*({_NAME})\s*(==|=|!=)\s*([-A-Za-z0-9_.]*)\s*$")
_EXISTS = re.compile(rf"^\s*(!?)\s*({_NAME})\s*$")


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside parentheses ("a in (x,y),b" -> two terms)."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def parse_label_selector(text: str | None) -> list[Requirement]:
    """``app=web,tier in (a,b),!canary,env`` -> requirements; BadRequest on malformed input."""
    if not text or not text.strip():
        return []
    requirements = []
    for term in _split_top_level(text):
        if not term.strip():
            raise BadRequest(f"unable to parse requirement: empty term in label selector {text!r}")
        if m := _SET.match(term):
            values = tuple(v.strip() for v in m.group(3).split(",") if v.strip())
            requirements.append(Requirement(m.group(1), m.group(2), values))
        elif m := _EQ.match(term):
            operator = "!=" if m.group(2) == "!=" else "="
            requirements.append(Requirement(m.group(1), operator, (m.group(3),)))
        elif m := _EXISTS.match(term):
            requirements.append(Requirement(m.group(2), "!" if m.group(1) else "exists"))
        else:
            raise BadRequest(f"unable to parse requirement: {term.strip()!r} in label selector {text!r}")
    return requirements


def labels_match(requirements: list[Requirement], labels: dict[str, str] | None) -> bool:
    labels = labels or {}
    return all(r.matches(labels) for r in requirements)


def selector_requirements(selector: dict[str, Any] | None) -> list[Requirement] | None:
    """A metav1.LabelSelector (matchLabels + matchExpressions) as requirements; None selects nothing."""
    if selector is None:
        return None
    requirements = [Requirement(k, "=", (v,)) for k, v in sorted((selector.get("matchLabels") or {}).items())]
    operators = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
    for expression in selector.get("matchExpressions") or []:
        operator = operators.get(expression.get("operator", ""))
        if operator is None:
            raise BadRequest(
                f"selector operator {expression.get('operator')!r} is not In, NotIn, Exists or DoesNotExist"
            )
        requirements.append(Requirement(expression["key"], operator, tuple(expression.get("values") or ())))
    return requirements


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str] | None) -> bool:
    """metav1.LabelSelector semantics: None matches nothing, {} matches everything."""
    requirements = selector_requirements(selector)
    return requirements is not None and labels_match(requirements, labels)


# Field selectors: per resource, the labels the real server accepts (its field label conversion functions,
# pkg/apis/core/v1/conversion.go addConversionFuncs / AddFieldLabelConversionsFor*) and the value each has
# (the registry's ToSelectableFields, e.g. pkg/registry/core/pod/strategy.go, core/event/strategy.go).
def _path(*keys: str) -> Callable[[dict], str]:
    def get(obj: dict) -> str:
        value: Any = obj
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        return "" if value is None else str(value)
    return get


def _first_pod_ip(pod: dict) -> str:
    ips = (pod.get("status") or {}).get("podIPs") or []
    return str(ips[0].get("ip") or "") if ips else ""


_NAME_FIELD = _path("metadata", "name")
_NAMESPACE_FIELD = _path("metadata", "namespace")
_FIELD_GETTERS: dict[str, dict[str, Callable[[dict], str]]] = {
    "pods": {
        "metadata.name": _NAME_FIELD, "metadata.namespace": _NAMESPACE_FIELD,
        "spec.nodeName": _path("spec", "nodeName"),
        "spec.restartPolicy": _path("spec", "restartPolicy"),
        "spec.schedulerName": _path("spec", "schedulerName"),
        "spec.serviceAccountName": _path("spec", "serviceAccountName"),
        "spec.hostNetwork": lambda o: "true" if (o.get("spec") or {}).get("hostNetwork") else "false",
        "status.phase": _path("status", "phase"),
        "status.podIP": _first_pod_ip,
        "status.podIPs": lambda o: "",  # accepted by the conversion, not a selectable field: matches as ""
        "status.nominatedNodeName": _path("status", "nominatedNodeName"),
    },
    # Nodes are cluster-scoped: no metadata.namespace (upstream rejects it).
    "nodes": {"metadata.name": _NAME_FIELD,
              "spec.unschedulable": lambda o: "true" if (o.get("spec") or {}).get("unschedulable") else "false"},
    "namespaces": {"metadata.name": _NAME_FIELD, "status.phase": _path("status", "phase")},
    "events": {
        "metadata.name": _NAME_FIELD, "metadata.namespace": _NAMESPACE_FIELD,
        "involvedObject.kind": _path("involvedObject", "kind"),
        "involvedObject.namespace": _path("involvedObject", "namespace"),
        "involvedObject.name": _path("involvedObject", "name"),
        "involvedObject.uid": _path("involvedObject", "uid"),
        "involvedObject.apiVersion": _path("involvedObject", "apiVersion"),
        "involvedObject.resourceVersion": _path("involvedObject", "resourceVersion"),
        "involvedObject.fieldPath": _path("involvedObject", "fieldPath"),
        "reason": _path("reason"),
        "reportingComponent": _path("reportingComponent"),
        # source.component, or the reporting controller when the event has no source (events/strategy.go)
        "source": lambda o: _path("source", "component")(o) or _path("reportingComponent")(o),
        "type": _path("type"),
    },
    "replicasets": {"metadata.name": _NAME_FIELD, "metadata.namespace": _NAMESPACE_FIELD,
                    "status.replicas": lambda o: str(int((o.get("status") or {}).get("replicas") or 0))},
    "services": {"metadata.name": _NAME_FIELD, "metadata.namespace": _NAMESPACE_FIELD,
                 "spec.clusterIP": _path("spec", "clusterIP"), "spec.type": _path("spec", "type")},
}
# Kinds without their own conversion function get runtime.DefaultMetaV1FieldSelectorConversion.
_COMMON_FIELDS: dict[str, Callable[[dict], str]] = {"metadata.name": _NAME_FIELD,
                                                   "metadata.namespace": _NAMESPACE_FIELD}
# Old v1 clients' spelling, converted as the Pod conversion function does.
_FIELD_ALIASES = {"pods": {"spec.host": "spec.nodeName"}}


def _unsupported(resource: str, field: str) -> str:
    if resource in _FIELD_GETTERS:
        return f"field label not supported: {field}"
    return f'"{field}" is not a known field selector: only "metadata.name", "metadata.namespace"'


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    equal: bool
    value: str
    getter: Callable[[dict], str]

    def matches(self, obj: dict) -> bool:
        return (self.getter(obj) == self.value) == self.equal


def parse_field_selector(resource: str, text: str | None) -> list[FieldRequirement]:
    """``spec.nodeName=n1,status.phase!=Succeeded`` -> requirements; BadRequest for unsupported fields."""
    if not text or not text.strip():
        return []
    getters = _FIELD_GETTERS.get(resource, _COMMON_FIELDS)
    aliases = _FIELD_ALIASES.get(resource, {})
    requirements = []
    for term in text.split(","):
        m = re.match(r"^\s*([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*?)\s*$", term)
        if not m:
            raise BadRequest(f"invalid selector: {text!r}; unable to parse requirement: {term!r}")
        field, operator, value = m.groups()
        field = aliases.get(field, field)
        if field not in getters:
            raise BadRequest(_unsupported(resource, field))
        requirements.append(FieldRequirement(field, operator != "!=", value, getters[field]))
    return requirements


def fields_match(requirements: list[FieldRequirement], obj: dict) -> bool:
    return all(r.matches(obj) for r in requirements)


def key_requirements(requirements: list[FieldRequirement],
                     ) -> tuple[Callable[[tuple[str, str]], bool] | None, list[FieldRequirement]]:
    """Split off the requirements on metadata.name / metadata.namespace, which a (namespace, name) key answers
    without reading the object (a watch filters every change with them); returns (key test, the others)."""
    on_key = [r for r in requirements if r.field in ("metadata.name", "metadata.namespace")]
    others = [r for r in requirements if r not in on_key]
    if not on_key:
        return None, others

    def test(key: tuple[str, str]) -> bool:
        return all(((key[1] if r.field == "metadata.name" else key[0]) == r.value) == r.equal for r in on_key)
    return test, others
