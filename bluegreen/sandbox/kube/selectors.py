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


# Field selectors: only the fields the real server supports per resource are accepted.
_FIELD_GETTERS: dict[str, dict[str, Callable[[dict], str]]] = {
    "pods": {
        "spec.nodeName": lambda o: o.get("spec", {}).get("nodeName") or "",
        "status.phase": lambda o: o.get("status", {}).get("phase") or "",
        "spec.restartPolicy": lambda o: o.get("spec", {}).get("restartPolicy") or "",
        "spec.schedulerName": lambda o: o.get("spec", {}).get("schedulerName") or "",
        "spec.serviceAccountName": lambda o: o.get("spec", {}).get("serviceAccountName") or "",
        "status.podIP": lambda o: o.get("status", {}).get("podIP") or "",
    },
    "nodes": {"spec.unschedulable": lambda o: "true" if o.get("spec", {}).get("unschedulable") else "false"},
    "events": {
        "involvedObject.kind": lambda o: o.get("involvedObject", {}).get("kind") or "",
        "involvedObject.name": lambda o: o.get("involvedObject", {}).get("name") or "",
        "involvedObject.namespace": lambda o: o.get("involvedObject", {}).get("namespace") or "",
        "involvedObject.uid": lambda o: o.get("involvedObject", {}).get("uid") or "",
        "reason": lambda o: o.get("reason") or "",
        "type": lambda o: o.get("type") or "",
    },
}
_COMMON_FIELDS: dict[str, Callable[[dict], str]] = {
    "metadata.name": lambda o: o.get("metadata", {}).get("name") or "",
    "metadata.namespace": lambda o: o.get("metadata", {}).get("namespace") or "",
}


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
    getters = {**_COMMON_FIELDS, **_FIELD_GETTERS.get(resource, {})}
    requirements = []
    for term in text.split(","):
        m = re.match(r"^\s*([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*?)\s*$", term)
        if not m:
            raise BadRequest(f"invalid selector: {text!r}; unable to parse requirement: {term!r}")
        field, operator, value = m.groups()
        if field not in getters:
            raise BadRequest(f'field label not supported: {field}')
        requirements.append(FieldRequirement(field, operator != "!=", value, getters[field]))
    return requirements


def fields_match(requirements: list[FieldRequirement], obj: dict) -> bool:
    return all(r.matches(obj) for r in requirements)
