"""Label selectors (matchLabels + matchExpressions), evaluated locally to match PDBs to pods."""

from __future__ import annotations

from collections.abc import Mapping


def matches(selector: Mapping | None, labels: Mapping[str, str]) -> bool:
    """Whether ``labels`` satisfy a LabelSelector dict. An empty selector matches everything (policy/v1)."""
    if not selector:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True
