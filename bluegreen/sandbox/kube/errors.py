"""API errors that become Kubernetes Status objects on the wire."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


class ApiError(Exception):
    """An error the fake API server answers with a metav1.Status of ``code``."""

    code = 500
    reason = "InternalError"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details

    def headers(self) -> dict[str, str]:
        """HTTP headers the apiserver adds to this error: Retry-After when details carry retryAfterSeconds
        (k8s.io/apiserver/pkg/endpoints/handlers/responsewriters ErrorNegotiated)."""
        seconds = (self.details or {}).get("retryAfterSeconds")
        return {"Retry-After": str(seconds)} if seconds else {}

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


class BadRequest(ApiError):
    code, reason = 400, "BadRequest"


class Forbidden(ApiError):
    code, reason = 403, "Forbidden"


class NotFound(ApiError):
    code, reason = 404, "NotFound"

    @classmethod
    def of(cls, resource: str, name: str, group: str = "") -> NotFound:
        qualified = f"{resource}.{group}" if group else resource
        return cls(f'{qualified} "{name}" not found', details={"name": name, "group": group, "kind": resource})


class MethodNotAllowed(ApiError):
    code, reason = 405, "MethodNotAllowed"


class Conflict(ApiError):
    code, reason = 409, "Conflict"


class AlreadyExists(ApiError):
    code, reason = 409, "AlreadyExists"

    @classmethod
    def of(cls, resource: str, name: str, group: str = "") -> AlreadyExists:
        qualified = f"{resource}.{group}" if group else resource
        return cls(f'{qualified} "{name}" already exists', details={"name": name, "group": group, "kind": resource})


class UnsupportedMediaType(ApiError):
    code, reason = 415, "UnsupportedMediaType"


@dataclass(frozen=True)
class FieldError:
    """One field.Error of apimachinery's validation: its cause type, the field path and the error body."""

    type: str  # FieldValueInvalid, FieldValueNotSupported, FieldValueRequired, FieldValueDuplicate, ...
    field: str
    body: str

    @classmethod
    def invalid(cls, path: str, value: Any, detail: str) -> FieldError:
        return cls("FieldValueInvalid", path, f"Invalid value: {go_value(value)}: {detail}")

    @classmethod
    def not_supported(cls, path: str, value: Any, supported: tuple[str, ...]) -> FieldError:
        listed = ", ".join(f'"{s}"' for s in supported)
        return cls("FieldValueNotSupported", path, f"Unsupported value: {go_value(value)}: supported values: {listed}")

    @classmethod
    def required(cls, path: str, detail: str = "") -> FieldError:
        return cls("FieldValueRequired", path, "Required value" + (f": {detail}" if detail else ""))

    @classmethod
    def duplicate(cls, path: str, value: Any, detail: str = "") -> FieldError:
        suffix = f": {detail}" if detail else ""
        return cls("FieldValueDuplicate", path, f"Duplicate value: {go_value(value)}{suffix}")


def go_value(value: Any) -> str:
    """How field.Error prints a value: strings quoted, numbers and bools bare, anything else as JSON."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


class Invalid(ApiError):
    code, reason = 422, "Invalid"

    @classmethod
    def fields(cls, kind: str, group: str, name: str, errors: list[FieldError]) -> Invalid:
        """errors.NewInvalid: message "Kind.group \"name\" is invalid: ..." (several errors in brackets), one
        cause per field error."""
        qualified = f"{kind}.{group}" if group else kind
        bodies = [f"{e.field}: {e.body}" for e in errors]
        joined = bodies[0] if len(bodies) == 1 else "[" + ", ".join(bodies) + "]"
        return cls(f'{qualified} "{name}" is invalid: {joined}',
                   details={"name": name, "group": group, "kind": kind,
                            "causes": [{"reason": e.type, "message": e.body, "field": e.field} for e in errors]})

    @classmethod
    def of(cls, kind: str, name: str, field: str, problem: str, group: str = "") -> Invalid:
        return cls(
            f'{kind} "{name}" is invalid: {field}: {problem}',
            details={"name": name, "group": group, "kind": kind,
                     "causes": [{"reason": "FieldValueInvalid", "message": problem, "field": field}]},
        )


class TooManyRequests(ApiError):
    code, reason = 429, "TooManyRequests"


class InternalError(ApiError):
    code, reason = 500, "InternalError"
