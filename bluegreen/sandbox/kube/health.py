"""/healthz, /livez and /readyz, answered as kube-apiserver answers them.

Follows staging/src/k8s.io/apiserver/pkg/server/healthz/healthz.go (handleRootHealth, InstallPathHandler):
plain text "ok", or with ``?verbose`` one ``[+]name ok`` line per check and ``<endpoint> check passed``;
``/<endpoint>/<check>`` runs one check; ``?exclude=<check>`` skips one; a failing check is a 500 whose
body names it with "reason withheld". The checks are the real server's names; the fake has no etcd or
informers, so each passes while the server runs, and ``shutdown`` (readyz only) fails once it is stopping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

HEALTH_ENDPOINTS = ("healthz", "livez", "readyz")

_COMMON_CHECKS = (
    "ping", "log", "etcd",
    "poststarthook/start-apiserver-admission-initializer", "poststarthook/generic-apiserver-start-informers",
    "poststarthook/start-system-namespaces-controller", "poststarthook/bootstrap-controller",
)
_READYZ_CHECKS = ("etcd-readiness", "informer-sync")


@dataclass(frozen=True)
class HealthAnswer:
    code: int
    body: str


def checks_for(endpoint: str) -> tuple[str, ...]:
    """The check names ``endpoint`` runs, in the order the real server prints them."""
    if endpoint == "readyz":
        return _COMMON_CHECKS[:3] + _READYZ_CHECKS + _COMMON_CHECKS[3:] + ("shutdown",)
    return _COMMON_CHECKS


def is_health_path(parts: list[str]) -> bool:
    return bool(parts) and parts[0] in HEALTH_ENDPOINTS and len(parts) <= 3


def answer(parts: list[str], query: dict[str, list[str]], failing: Callable[[str], bool]) -> HealthAnswer:
    """The answer to GET /<endpoint>[/<check>] with ``query``; ``failing(check)`` says which checks fail now."""
    endpoint, names = parts[0], checks_for(parts[0])
    if len(parts) > 1:
        check = "/".join(parts[1:])
        if check not in names:
            return HealthAnswer(404, "404 page not found\n")
        if failing(check):
            return HealthAnswer(500, "internal server error: reason withheld\n")
        return HealthAnswer(200, "ok")
    excluded = [name for values in query.get("exclude", []) for name in values.split(",") if name]
    lines, failed = [], []
    for name in names:
        if name in excluded:
            lines.append(f"[+]{name} excluded: ok")
        elif failing(name):
            lines.append(f"[-]{name} failed: reason withheld")
            failed.append(name)
        else:
            lines.append(f"[+]{name} ok")
    unknown = sorted(set(excluded) - set(names))
    if unknown:
        lines.append("warn: some health checks cannot be excluded: no matches for "
                     + ",".join(f'"{name}"' for name in unknown))
    output = "".join(line + "\n" for line in lines)
    if failed:
        return HealthAnswer(500, f"{output}{endpoint} check failed\n")
    if "verbose" not in query:
        return HealthAnswer(200, "ok")
    return HealthAnswer(200, f"{output}{endpoint} check passed\n")
