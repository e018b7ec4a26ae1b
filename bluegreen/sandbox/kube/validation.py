"""Write validation of the fields a drain depends on, as kube-apiserver answers a bad write.

Two stages, as upstream:

* decoding — a value of the wrong JSON type (``unschedulable: "yes"``) cannot become the Go object. A create or
  PUT is a 400 ("... cannot be handled as a Node: json: cannot unmarshal string into Go struct field
  NodeSpec.spec.unschedulable of type bool"); a patch is a 422 on the field ``patch``
  (k8s.io/apiserver/pkg/endpoints/handlers/patch.go applyPatchToObject / jsonPatcher).
* validation — pkg/apis/core/validation (validateNodeTaints, validateTaintEffect, validateTolerations) and
  pkg/apis/policy/validation (ValidatePodDisruptionBudgetSpec, ValidatePodDisruptionBudgetStatusUpdate): a 422
  Invalid whose causes name each field.

Only the fields listed in ``_TYPED_FIELDS`` are type-checked; anything else is stored as sent.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from bluegreen.sandbox.kube.errors import BadRequest, FieldError, Invalid
from bluegreen.sandbox.kube.resources import ResourceType

TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
TOLERATION_OPERATORS = ("Exists", "Equal")
UNHEALTHY_POD_EVICTION_POLICIES = ("AlwaysAllow", "IfHealthyBudget")  # sets.List order
_PERCENT = re.compile(r"^[0-9]+%$")
_QUALIFIED_NAME = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                             r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")

# ---------------------------------------------------------------------------------------------- decoding
_INT_OR_STRING = "intstr"


@dataclass(frozen=True)
class _Typed:
    path: tuple[str, ...]  # "*" = every item of a list / value of a map
    expected: type | str  # bool, int, str, list, dict or _INT_OR_STRING
    go_struct: str  # the Go struct holding the last field, as encoding/json names it
    go_type: str


_METADATA = (
    _Typed(("metadata", "labels"), dict, "ObjectMeta", "map[string]string"),
    _Typed(("metadata", "labels", "*"), str, "ObjectMeta", "string"),
    _Typed(("metadata", "annotations"), dict, "ObjectMeta", "map[string]string"),
    _Typed(("metadata", "annotations", "*"), str, "ObjectMeta", "string"),
)
_WORKLOAD = (
    _Typed(("spec", "replicas"), int, "{kind}Spec", "int32"),
    _Typed(("spec", "minReadySeconds"), int, "{kind}Spec", "int32"),
)
_TYPED_FIELDS: dict[str, tuple[_Typed, ...]] = {
    "nodes": (
        _Typed(("spec", "unschedulable"), bool, "NodeSpec", "bool"),
        _Typed(("spec", "providerID"), str, "NodeSpec", "string"),
        _Typed(("spec", "taints"), list, "NodeSpec", "[]v1.Taint"),
        _Typed(("spec", "taints", "*"), dict, "NodeSpec", "v1.Taint"),
        _Typed(("spec", "taints", "*", "key"), str, "Taint", "string"),
        _Typed(("spec", "taints", "*", "value"), str, "Taint", "string"),
        _Typed(("spec", "taints", "*", "effect"), str, "Taint", "v1.TaintEffect"),
    ),
    "pods": (
        _Typed(("spec", "nodeName"), str, "PodSpec", "string"),
        _Typed(("spec", "terminationGracePeriodSeconds"), int, "PodSpec", "int64"),
        _Typed(("spec", "tolerations"), list, "PodSpec", "[]v1.Toleration"),
        _Typed(("spec", "tolerations", "*", "effect"), str, "Toleration", "v1.TaintEffect"),
        _Typed(("spec", "tolerations", "*", "operator"), str, "Toleration", "v1.TolerationOperator"),
        _Typed(("spec", "tolerations", "*", "tolerationSeconds"), int, "Toleration", "int64"),
    ),
    "poddisruptionbudgets": (
        _Typed(("spec", "minAvailable"), _INT_OR_STRING, "PodDisruptionBudgetSpec", "int32"),
        _Typed(("spec", "maxUnavailable"), _INT_OR_STRING, "PodDisruptionBudgetSpec", "int32"),
        _Typed(("spec", "unhealthyPodEvictionPolicy"), str, "PodDisruptionBudgetSpec",
               "v1.UnhealthyPodEvictionPolicyType"),
        _Typed(("spec", "selector"), dict, "PodDisruptionBudgetSpec", "v1.LabelSelector"),
    ),
    "deployments": _WORKLOAD,
    "replicasets": _WORKLOAD,
    "statefulsets": _WORKLOAD,
}


@dataclass(frozen=True)
class TypeProblem:
    """A value whose JSON type the Go field cannot hold."""

    field: str  # "spec.unschedulable" (list indices dropped, as encoding/json reports it)
    json_type: str  # string, number, bool, array, object
    go_struct: str
    go_type: str
    custom: bool = False  # an IntOrString: its own UnmarshalJSON reports "Go value of type int32"

    def json_message(self) -> str:
        if self.custom:
            return f"json: cannot unmarshal {self.json_type} into Go value of type {self.go_type}"
        return (f"json: cannot unmarshal {self.json_type} into Go struct field {self.go_struct}.{self.field} "
                f"of type {self.go_type}")

    def converter_message(self) -> str:
        """runtime.DefaultUnstructuredConverter's wording (strategic merge patches)."""
        source = _GO_KINDS.get(self.json_type.split()[0], "float64")
        if self.custom:
            return self.json_message()
        if self.go_type.startswith("[]"):
            return f"cannot restore slice from {source}"
        if self.go_type.startswith("map["):
            return f"cannot restore map from {source}"
        if self.go_type in _GO_STRUCTS:
            return f"cannot restore struct from: {source}"
        return f"unrecognized type: {_GO_STRING_TYPES.get(self.go_type, self.go_type)}"


_GO_KINDS = {"string": "string", "bool": "bool", "number": "int64", "array": "slice", "object": "map"}
_GO_STRUCTS = ("v1.Taint", "v1.LabelSelector", "v1.Toleration")
_GO_STRING_TYPES = {"v1.TaintEffect": "string", "v1.TolerationOperator": "string",
                    "v1.UnhealthyPodEvictionPolicyType": "string"}


def type_problem(rtype: ResourceType, obj: dict) -> TypeProblem | None:
    """The first field of ``obj`` (among those the sandbox types) whose value has the wrong JSON type."""
    for typed in (*_METADATA, *_TYPED_FIELDS.get(rtype.plural, ())):
        for value in _values_at(obj, typed.path):
            if value is None or _has_type(value, typed.expected):
                continue
            field = ".".join(p for p in typed.path if p != "*")
            return TypeProblem(field, _json_type(value), typed.go_struct.format(kind=rtype.kind), typed.go_type,
                               custom=typed.expected == _INT_OR_STRING)
    return None


def decode_error(rtype: ResourceType, problem: TypeProblem) -> BadRequest:
    """The 400 of a create or PUT whose body does not decode."""
    return BadRequest(f'{rtype.kind} in version "{rtype.version}" cannot be handled as a {rtype.kind}: '
                      f"{problem.json_message()}")


def patch_type_error(problem: TypeProblem, patch: Any, content_type: str, patched: dict) -> Invalid:
    """The 422 of a patch whose result does not decode: field ``patch``, the patch (strategic) or the patched
    object (merge/JSON patch) as the value."""
    if "strategic-merge-patch" in content_type:
        value, detail = _go_print(patch), problem.converter_message()
    else:
        value, detail = json.dumps(patched, separators=(",", ":")), problem.json_message()
    return Invalid.fields("", "", "", [FieldError.invalid("patch", value, detail)])


def _values_at(obj: Any, path: tuple[str, ...]) -> list[Any]:
    values = [obj]
    for step in path:
        following = []
        for value in values:
            if step == "*":
                if isinstance(value, list):
                    following.extend(value)
                elif isinstance(value, dict):
                    following.extend(value.values())
            elif isinstance(value, dict) and step in value:
                following.append(value[step])
        values = following
    return values


def _has_type(value: Any, expected: type | str) -> bool:
    if expected == _INT_OR_STRING:
        return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)  # type: ignore[arg-type]


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number" if isinstance(value, int) else f"number {value}"
    return {str: "string", list: "array", dict: "object"}.get(type(value), "value")


def _go_print(value: Any) -> str:
    """fmt's %+v of a decoded JSON patch: map[key:value ...] with sorted keys, [a b] for lists."""
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go_print(v)}" for k, v in sorted(value.items())) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_go_print(v) for v in value) + "]"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ---------------------------------------------------------------------------------------------- not modelled
def refuse_unmodelled(rtype: ResourceType, obj: dict) -> None:
    """A 400 naming what the sandbox does not model, where quietly storing it would make the fake more
    permissive than a real cluster (an object with finalizers would vanish at once on delete here). Pods are the
    exception: their finalizers are modelled (deletion deferred until they are all removed, as the registry's
    Store.Delete does)."""
    if rtype.plural != "pods" and (obj.get("metadata") or {}).get("finalizers"):
        raise BadRequest(f"the sandbox models finalizers on pods only (metadata.finalizers of {rtype.kind} "
                         f"{(obj.get('metadata') or {}).get('name')!r}): a real server keeps the object until they "
                         "are removed; leave metadata.finalizers empty")


# ---------------------------------------------------------------------------------------------- validation
def node_errors(node: dict) -> list[FieldError]:
    """validateNodeTaints: each taint has a qualified key, a supported effect, and key+effect pairs are unique."""
    errors: list[FieldError] = []
    seen: set[tuple[str, str]] = set()
    for index, taint in enumerate((node.get("spec") or {}).get("taints") or []):
        path = f"spec.taints[{index}]"
        errors.extend(_qualified_key(taint.get("key") or "", f"{path}.key"))
        effect = taint.get("effect") or ""
        if not effect:
            errors.append(FieldError.required(f"{path}.effect"))
        elif effect not in TAINT_EFFECTS:
            errors.append(FieldError.not_supported(f"{path}.effect", effect, TAINT_EFFECTS))
        if (taint.get("key"), effect) in seen:
            errors.append(FieldError.duplicate(path, taint, "taints must be unique by key and effect pair"))
        seen.add((taint.get("key"), effect))
    return errors


def toleration_errors(tolerations: list[dict], base: str) -> list[FieldError]:
    """validateTolerations: operator Exists or Equal (Exists with no value), supported effect or empty,
    tolerationSeconds only with NoExecute."""
    errors: list[FieldError] = []
    for index, toleration in enumerate(tolerations or []):
        path = f"{base}[{index}]"
        operator = toleration.get("operator") or "Equal"
        if operator not in TOLERATION_OPERATORS:
            errors.append(FieldError.not_supported(f"{path}.operator", operator, TOLERATION_OPERATORS))
        elif operator == "Exists" and toleration.get("value"):
            errors.append(FieldError.invalid(f"{path}.operator", toleration["value"],
                                             "value must be empty when `operator` is 'Exists'"))
        effect = toleration.get("effect") or ""
        if effect and effect not in TAINT_EFFECTS:
            errors.append(FieldError.not_supported(f"{path}.effect", effect, TAINT_EFFECTS))
        if toleration.get("tolerationSeconds") is not None and effect != "NoExecute":
            errors.append(FieldError.invalid(f"{path}.effect", effect,
                                             "effect must be 'NoExecute' when `tolerationSeconds` is set"))
    return errors


def pdb_errors(pdb: dict) -> list[FieldError]:
    """ValidatePodDisruptionBudgetSpec."""
    spec = pdb.get("spec") or {}
    errors: list[FieldError] = []
    if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
        errors.append(FieldError.invalid("spec", {k: spec[k] for k in ("minAvailable", "maxUnavailable")},
                                         "minAvailable and maxUnavailable cannot be both set"))
    for key in ("minAvailable", "maxUnavailable"):
        if spec.get(key) is not None:
            errors.extend(_positive_int_or_percent(spec[key], f"spec.{key}"))
    policy = spec.get("unhealthyPodEvictionPolicy")
    if policy is not None and policy not in UNHEALTHY_POD_EVICTION_POLICIES:
        errors.append(FieldError.not_supported("spec.unhealthyPodEvictionPolicy", policy,
                                               UNHEALTHY_POD_EVICTION_POLICIES))
    return errors


def pdb_status_errors(status: dict) -> list[FieldError]:
    """ValidatePodDisruptionBudgetStatusUpdate (policy/v1): the counts are never negative."""
    errors = []
    for key in ("disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods"):
        value = status.get(key)
        if isinstance(value, int) and value < 0:
            errors.append(FieldError.invalid(f"status.{key}", value, "must be greater than or equal to 0"))
    return errors


def validate_status(rtype: ResourceType, obj: dict, status: dict) -> None:
    """A status write: 422 where upstream's status strategy refuses it."""
    if rtype.plural == "poddisruptionbudgets":
        errors = pdb_status_errors(status)
        if errors:
            raise Invalid.fields(rtype.kind, rtype.group, obj["metadata"]["name"], errors)


def _positive_int_or_percent(value: int | str, path: str) -> list[FieldError]:
    """appsvalidation.ValidatePositiveIntOrPercent and IsNotMoreThan100Percent."""
    if isinstance(value, str):
        if not _PERCENT.match(value):
            return [FieldError.invalid(path, value, "a valid percent string must be a numeric string followed by an "
                                                    "ending '%' (e.g. '1%',  or '93%', regex used for validation is "
                                                    "'[0-9]+%')")]
        if int(value[:-1]) > 100:
            return [FieldError.invalid(path, value, "must not be greater than 100%")]
        return []
    if value < 0:
        return [FieldError.invalid(path, value, "must be greater than or equal to 0")]
    return []


def _qualified_key(key: str, path: str) -> list[FieldError]:
    if not key:
        return [FieldError.invalid(path, key, "name part must be non-empty")]
    if not _QUALIFIED_NAME.match(key):
        return [FieldError.invalid(path, key, "name part must consist of alphanumeric characters, '-', '_' or '.', "
                                              "and must start and end with an alphanumeric character")]
    return []
