"""API errors that become Kubernetes Status objects on the wire."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error the fake API server answers with a metav1.Status of ``code``."""

    code = 500
    reason = "InternalError"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details

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


class Invalid(ApiError):
    code, reason = 422, "Invalid"

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
