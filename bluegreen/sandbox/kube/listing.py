"""List and watch options: parsing, upstream's validation, resourceVersion semantics and continue tokens.

Follows staging/src/k8s.io/apimachinery/pkg/apis/meta/internalversion/validation/validation.go
(ValidateListOptions, validateWatchOptions), the resourceVersion rules of the API concepts page
("Semantics for get and list", "Semantics for watch") as the cacher applies them
(staging/src/k8s.io/apiserver/pkg/storage/cacher/cacher.go GetList/Watch), and the etcd3 store's
continue tokens (staging/src/k8s.io/apiserver/pkg/storage/continue.go EncodeContinue/DecodeContinue).
"""

from __future__ import annotations

import base64
import binascii
import json
import random
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bluegreen.sandbox.kube.errors import ApiError, BadRequest, Invalid

# A watch without timeoutSeconds lasts between this and twice this (real seconds), as with the real server's
# default --min-request-timeout of 1800 s (handlers/get.go ListResource: timeout = minRequestTimeout * (1+rand)).
MIN_REQUEST_TIMEOUT = 1800.0
# The cacher waits this long for a resourceVersion it has not reached yet (cacher.go waitUntilFreshAndBlock).
FRESHNESS_WAIT_SECONDS = 3.0


class Match(StrEnum):
    UNSET = ""
    EXACT = "Exact"
    NOT_OLDER_THAN = "NotOlderThan"


class Gone(ApiError):
    """410 Expired; for a continue token whose snapshot is gone, the Status carries a fresh token in
    ``metadata.continue`` (etcd3 store.go, errors.NewResourceExpired with ListMeta)."""

    code, reason = 410, "Expired"

    def __init__(self, message: str, *, fresh_continue: str | None = None):
        super().__init__(message)
        self.fresh_continue = fresh_continue

    def status(self) -> dict[str, Any]:
        body = super().status()
        if self.fresh_continue:
            body["metadata"] = {"continue": self.fresh_continue}
        return body


class Timeout(ApiError):
    code, reason = 504, "Timeout"


@dataclass(frozen=True)
class ListOptions:
    resource_version: str = ""
    resource_version_match: str = ""
    limit: int = 0
    continue_token: str = ""
    watch: bool = False
    send_initial_events: bool | None = None
    allow_watch_bookmarks: bool = False
    timeout_seconds: float | None = None
    label_selector: str | None = None
    field_selector: str | None = None

    def start_resource_version(self) -> int | None:
        """The numeric resourceVersion asked for; None for "" (most recent) and "0" (any)."""
        if self.resource_version in ("", "0"):
            return None
        return int(self.resource_version)


def _boolean(query: dict[str, str], key: str) -> bool | None:
    value = query.get(key)
    if value is None:
        return None
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0", ""):
        return False
    raise BadRequest(f"invalid value for {key}: {value!r} is not a boolean")


def parse(query: dict[str, str]) -> ListOptions:
    """The query parameters of a list or watch; BadRequest for values that do not parse."""
    resource_version = query.get("resourceVersion") or ""
    if resource_version and not resource_version.isdigit():
        raise BadRequest(f'invalid resource version: "{resource_version}" is not a resourceVersion this server '
                         "issued; list again without it")
    limit_text = query.get("limit") or "0"
    timeout_text = query.get("timeoutSeconds")
    try:
        limit = int(limit_text)
        timeout = float(timeout_text) if timeout_text not in (None, "") else None
    except ValueError:
        raise BadRequest(f"limit and timeoutSeconds must be integers, got limit={limit_text!r}, "
                         f"timeoutSeconds={timeout_text!r}") from None
    return ListOptions(
        resource_version=resource_version,
        resource_version_match=query.get("resourceVersionMatch") or "",
        limit=max(limit, 0),
        continue_token=query.get("continue") or "",
        watch=bool(_boolean(query, "watch")),
        send_initial_events=_boolean(query, "sendInitialEvents"),
        allow_watch_bookmarks=bool(_boolean(query, "allowWatchBookmarks")),
        timeout_seconds=timeout,
        label_selector=query.get("labelSelector"),
        field_selector=query.get("fieldSelector"),
    )


def validation_errors(options: ListOptions) -> list[tuple[str, str, str]]:
    """(field, kind of error, message) per problem, as ValidateListOptions / validateWatchOptions report them."""
    errors: list[tuple[str, str, str]] = []
    match = options.resource_version_match
    rvm = "resourceVersionMatch"
    if options.watch:
        if options.send_initial_events is not None and match != Match.NOT_OLDER_THAN:
            errors.append((rvm, "Forbidden", "sendInitialEvents requires setting resourceVersionMatch to "
                                             "NotOlderThan"))
        if match:
            if options.send_initial_events is None:
                errors.append((rvm, "Forbidden", "resourceVersionMatch is forbidden for watch unless "
                                                 "sendInitialEvents is provided"))
            if match != Match.NOT_OLDER_THAN:
                errors.append((rvm, "Unsupported value", f'"{match}": supported values: "NotOlderThan"'))
            if options.continue_token:
                errors.append((rvm, "Forbidden", "resourceVersionMatch is forbidden when continue is provided"))
        return errors
    if options.send_initial_events is not None:
        errors.append(("sendInitialEvents", "Forbidden", "sendInitialEvents is forbidden for list"))
    if match:
        if not options.resource_version:
            errors.append((rvm, "Forbidden", "resourceVersionMatch is forbidden unless resourceVersion is provided"))
        if options.continue_token:
            errors.append((rvm, "Forbidden", "resourceVersionMatch is forbidden when continue is provided"))
        if match not in (Match.EXACT, Match.NOT_OLDER_THAN):
            errors.append((rvm, "Unsupported value", f'"{match}": supported values: "Exact", "NotOlderThan", ""'))
        if match == Match.EXACT and options.resource_version == "0":
            errors.append((rvm, "Forbidden", 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"'))
    return errors


def validate(options: ListOptions) -> None:
    """422 Invalid ListOptions, worded as the real server words it."""
    errors = validation_errors(options)
    if not errors:
        return
    texts = [f"{field}: {kind}: {message}" for field, kind, message in errors]
    joined = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    reasons = {"Forbidden": "FieldValueForbidden", "Unsupported value": "FieldValueNotSupported"}
    raise Invalid(f'ListOptions.meta.k8s.io "" is invalid: {joined}',
                  details={"group": "meta.k8s.io", "kind": "ListOptions",
                           "causes": [{"reason": reasons[kind], "message": f"{kind}: {message}", "field": field}
                                      for field, kind, message in errors]})


def exact(options: ListOptions) -> bool:
    """Whether a list reads the state at exactly its resourceVersion: resourceVersionMatch=Exact, or the legacy
    form, a resourceVersion other than "0" with a limit and no match (cacher.go shouldDelegateList)."""
    if options.resource_version_match == Match.EXACT:
        return True
    return (options.resource_version_match == Match.UNSET and options.limit > 0
            and options.resource_version not in ("", "0"))


def watch_timeout(options: ListOptions, rng: random.Random) -> float:
    """Real seconds a watch stays open: timeoutSeconds, or the server's randomised default."""
    if options.timeout_seconds is not None and options.timeout_seconds > 0:
        return options.timeout_seconds
    return MIN_REQUEST_TIMEOUT * (1 + rng.random())


def too_large(wanted: int, current: int) -> Timeout:
    """storage.NewTooLargeResourceVersionError: the server has not reached ``wanted`` in time."""
    return Timeout(f"Too large resource version: {wanted}, current: {current}",
                   details={"causes": [{"reason": "ResourceVersionTooLarge",
                                        "message": "Too large resource version"}], "retryAfterSeconds": 1})


def list_too_old() -> Gone:
    return Gone("The resourceVersion for the provided list is too old.")


def continue_too_old(fresh_token: str) -> Gone:
    """The 410 of a continue token whose snapshot is gone; ``fresh_token`` continues inconsistently."""
    return Gone("The provided continue parameter is too old to display a consistent list result. You can start a "
                "new list without the continue parameter, or use the continue token in this response to retrieve "
                "the remainder of the results. Continuing with the provided token results in an inconsistent list - "
                "objects that were created, modified, or deleted between the time the first chunk was returned and "
                "now may show up in the list.", fresh_continue=fresh_token)


# ---------------------------------------------------------------------------------------------- continue tokens
Key = tuple[str, str]


def object_key(obj: dict) -> Key:
    return (obj["metadata"].get("namespace") or "", obj["metadata"]["name"])


def encode_continue(resource_version: int, last_key: Key) -> str:
    """Where the next page starts (just after ``last_key``) and the snapshot it is read from."""
    start = (f"{last_key[0]}/{last_key[1]}" if last_key[0] else last_key[1]) + "\x00"
    body = {"v": "meta.k8s.io/v1", "rv": resource_version, "start": start}
    return base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, Key]:
    """(resourceVersion of the snapshot, last key served); BadRequest for a token this server did not issue."""
    try:
        body = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if body.get("v") != "meta.k8s.io/v1" or not isinstance(body.get("rv"), int):
            raise ValueError("unknown continue version")
        last = str(body["start"]).removesuffix("\x00")
        namespace, _, name = last.rpartition("/")
        return body["rv"], (namespace, name)
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
        raise BadRequest(f"continue key is not valid: {token!r}; start the list again without it") from None


def page(items: list[dict], resource_version: int, options: ListOptions, after: Key | None = None,
         ) -> tuple[list[dict], dict]:
    """The (namespace, name)-sorted ``items`` after ``after``, cut at ``limit``, and the list's metadata."""
    if after is not None:
        items = [o for o in items if object_key(o) > after]
    metadata: dict = {"resourceVersion": str(resource_version)}
    if options.limit and len(items) > options.limit:
        served = items[:options.limit]
        metadata["continue"] = encode_continue(resource_version, object_key(served[-1]))
        metadata["remainingItemCount"] = len(items) - options.limit
        return served, metadata
    return items, metadata
