"""The three patch types kubectl and the client send: JSON merge, strategic merge, JSON patch."""

from __future__ import annotations

import copy
from typing import Any

from bluegreen.sandbox.kube.errors import Invalid, UnsupportedMediaType

MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"

# patchMergeKey of the list fields the core/apps types declare (lists not named here are replaced whole,
# as the real server does for e.g. node.spec.taints and pod.spec.tolerations).
_MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name", "volumes": "name",
    "env": "name", "volumeMounts": "mountPath", "volumeDevices": "devicePath", "ports": "containerPort",
    "imagePullSecrets": "name", "conditions": "type", "addresses": "type", "ownerReferences": "uid",
    "hostAliases": "ip", "topologySpreadConstraints": "topologyKey", "resourceClaims": "name",
}
# Lists of primitives merged as sets.
_MERGED_PRIMITIVE_LISTS = {"finalizers"}


def apply_patch(obj: dict, patch: Any, content_type: str) -> dict:
    """The object after ``patch``; raises UnsupportedMediaType or Invalid as the server would."""
    media = content_type.split(";")[0].strip().lower()
    if media == MERGE:
        return merge_patch(obj, patch)
    if media == STRATEGIC:
        return strategic_merge_patch(obj, patch)
    if media == JSON_PATCH:
        return json_patch(obj, patch)
    raise UnsupportedMediaType(
        f"the body of the request was in an unknown format - accepted media types include: "
        f"{JSON_PATCH}, {MERGE}, {STRATEGIC}"
    )


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge, null deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge_patch(target: Any, patch: Any, field: str = "") -> Any:
    """Merge patch plus merge-by-key for the known list fields and the ``$patch`` directives."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$setElementOrder/") or key in ("$retainKeys", "$patch"):
            continue  # ordering hints and retainKeys do not change membership here
        if key.startswith("$deleteFromPrimitiveList/"):
            name = key.split("/", 1)[1]
            result[name] = [v for v in result.get(name) or [] if v not in value]
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list) and key in _MERGE_KEYS and isinstance(result.get(key), list):
            result[key] = _merge_list(result[key], value, _MERGE_KEYS[key])
        elif isinstance(value, list) and key in _MERGED_PRIMITIVE_LISTS and isinstance(result.get(key), list):
            result[key] = result[key] + [v for v in value if v not in result[key]]
        elif isinstance(value, dict):
            merged = strategic_merge_patch(result.get(key), value, key)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        else:
            result[key] = copy.deepcopy(value)
    return result


def _merge_list(current: list, patch: list, merge_key: str) -> list:
    if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch):
        return [copy.deepcopy(i) for i in patch if not (isinstance(i, dict) and i.get("$patch") == "replace")]
    result = copy.deepcopy(current)
    for item in patch:
        if not isinstance(item, dict) or merge_key not in item:
            raise Invalid.of("patch", "", merge_key, f"list item {item!r} lacks its merge key {merge_key!r}")
        index = next((i for i, e in enumerate(result) if isinstance(e, dict) and e.get(merge_key) == item[merge_key]),
                     None)
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
        elif index is None:
            result.append({k: v for k, v in copy.deepcopy(item).items() if not k.startswith("$")})
        else:
            result[index] = strategic_merge_patch(result[index], item)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise Invalid.of("patch", "", "path", f"JSON pointer {path!r} must start with '/'")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc: Any, tokens: list[str], path: str) -> Any:
    for token in tokens:
        if isinstance(doc, dict) and token in doc:
            doc = doc[token]
        elif isinstance(doc, list) and token.isdigit() and int(token) < len(doc):
            doc = doc[int(token)]
        else:
            raise Invalid.of("patch", "", "path", f"doc is missing path: {path!r}")
    return doc


def json_patch(target: Any, operations: Any) -> Any:
    """RFC 6902: add, remove, replace, move, copy, test."""
    if not isinstance(operations, list):
        raise Invalid.of("patch", "", "body", "a JSON patch must be a list of operations")
    doc = copy.deepcopy(target)
    for operation in operations:
        op, path = operation.get("op"), operation.get("path", "")
        if op in ("move", "copy"):
            source_tokens = _pointer(operation.get("from", ""))
            value = copy.deepcopy(_walk(doc, source_tokens, operation.get("from", "")))
            if op == "move":
                doc = _remove(doc, source_tokens, operation.get("from", ""))
            doc = _add(doc, _pointer(path), value, path)
        elif op == "add":
            doc = _add(doc, _pointer(path), copy.deepcopy(operation.get("value")), path)
        elif op == "remove":
            doc = _remove(doc, _pointer(path), path)
        elif op == "replace":
            tokens = _pointer(path)
            _walk(doc, tokens, path)  # must exist
            doc = _add(_remove(doc, tokens, path), tokens, copy.deepcopy(operation.get("value")), path,
                       replacing=True)
        elif op == "test":
            if _walk(doc, _pointer(path), path) != operation.get("value"):
                raise Invalid.of("patch", "", "path", f"testing value {path!r} failed")
        else:
            raise Invalid.of("patch", "", "op", f"unexpected JSON patch operation {op!r}")
    return doc


def _add(doc: Any, tokens: list[str], value: Any, path: str, replacing: bool = False) -> Any:
    if not tokens:
        return value
    parent = _walk(doc, tokens[:-1], path)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        elif last.isdigit() and int(last) <= len(parent):
            parent.insert(int(last), value)
        else:
            raise Invalid.of("patch", "", "path", f"index out of range in {path!r}")
    else:
        raise Invalid.of("patch", "", "path", f"doc is missing path: {path!r}")
    return doc


def _remove(doc: Any, tokens: list[str], path: str) -> Any:
    if not tokens:
        return None
    parent = _walk(doc, tokens[:-1], path)
    last = tokens[-1]
    if isinstance(parent, dict) and last in parent:
        del parent[last]
    elif isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        del parent[int(last)]
    else:
        raise Invalid.of("patch", "", "path", f"unable to remove nonexistent key {last!r} at {path!r}")
    return doc
