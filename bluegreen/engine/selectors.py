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


#: One requirement of a label selector in its text form: (key, operator, values); operators "=", "!=", "exists",
#: "!" (does not exist).
TextRequirement = tuple[str, str, tuple[str, ...]]


def parse_selector_text(text: str | None) -> list[TextRequirement] | None:
    """The equality-based selector text the engine sends (``a=b,c!=d,e,!f``) as requirements; None for anything
    else (set-based ``in``/``notin``): such a selector is left to the server."""
    if not text:
        return []
    requirements: list[TextRequirement] = []
    for term in text.split(","):
        term = term.strip()
        if not term or "(" in term or " " in term:
            return None
        if "!=" in term:
            key, value = term.split("!=", 1)
            requirements.append((key, "!=", (value,)))
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            requirements.append((key, "=", (value,)))
        elif term.startswith("!"):
            requirements.append((term[1:], "!", ()))
        else:
            requirements.append((term, "exists", ()))
    return requirements


def text_matches(requirements: list[TextRequirement], labels: Mapping[str, str]) -> bool:
    """labels.Selector.Matches for equality-based requirements ("!=" also matches objects without the key)."""
    for key, operator, values in requirements:
        if operator == "=" and labels.get(key) != values[0]:
            return False
        if operator == "!=" and labels.get(key) == values[0]:
            return False
        if operator == "exists" and key not in labels:
            return False
        if operator == "!" and key in labels:
            return False
    return True
