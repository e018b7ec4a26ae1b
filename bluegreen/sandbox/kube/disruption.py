"""The disruption controller's arithmetic, as upstream computes a PodDisruptionBudget's status
(pkg/controller/disruption/disruption.go: getExpectedPodCount, getExpectedScale, countHealthyPods,
buildDisruptedPodMap, updatePdbStatus, failSafe).

Pure functions over plain dicts. The controller loop (controllers.py) gathers the pods a PDB selects
and a ``lookup`` of stored objects, calls ``sync_budget`` and writes the status it returns.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

#: pkg/controller/disruption DeletionTimeout: how long an eviction's entry in status.disruptedPods keeps the
#: pod out of currentHealthy while nobody has marked it for deletion.
DELETION_TIMEOUT_SECONDS = 120.0

#: lookup(plural, namespace, name) -> the stored object or None (the controller's listers).
Lookup = Callable[[str, str, str], "dict | None"]


class ExpectedScaleError(Exception):
    """getExpectedScale failed (no scale found for a pod's controller): the PDB sync fails (SyncFailed)."""


def scaled_value(value: int | str, total: int, *, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent: an int as is, a percentage of ``total``."""
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not text.endswith("%"):
        if text.lstrip("-").isdigit():
            return int(text)
        raise ValueError(f"invalid value for IntOrString: invalid type: string is not a percentage: {value!r}")
    percent = int(text[:-1])
    exact = percent * total / 100
    return math.ceil(exact) if round_up else math.floor(exact)


def pod_ready(pod: dict) -> bool:
    """podutil.IsPodReady: the Ready condition is True."""
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in pod.get("status", {}).get("conditions") or [])


def pod_healthy(pod: dict) -> bool:
    """Ready and not being deleted."""
    return pod_ready(pod) and not pod.get("metadata", {}).get("deletionTimestamp")


def pod_terminal(pod: dict) -> bool:
    return pod.get("status", {}).get("phase") in ("Succeeded", "Failed")


def controller_ref(obj: dict) -> dict | None:
    """metav1.GetControllerOf: the ownerReference with controller: true."""
    return next((r for r in (obj.get("metadata") or {}).get("ownerReferences") or [] if r.get("controller")), None)


def _group(api_version: str | None) -> str:
    return api_version.rsplit("/", 1)[0] if api_version and "/" in api_version else ""


# ---------------------------------------------------------------------------------------------- expected pods
def controller_scale(ref: dict, namespace: str, lookup: Lookup) -> tuple[str, int] | None:
    """(uid, scale) of the controller ``ref`` names, trying upstream's finders in order (finders():
    ReplicationController, Deployment via its ReplicaSet, ReplicaSet, StatefulSet, then the scale
    subresource). None when no finder matched; ExpectedScaleError when the owner has no scale."""
    kind, group = ref.get("kind"), _group(ref.get("apiVersion"))

    def stored(plural: str, name: str) -> dict | None:
        found = lookup(plural, namespace, name)
        return found if found is not None and found["metadata"].get("uid") == ref.get("uid") else None

    if kind == "ReplicaSet" and group in ("apps", "extensions"):
        rs = lookup("replicasets", namespace, ref.get("name", ""))
        if rs is not None and rs["metadata"].get("uid") == ref.get("uid"):
            owner = controller_ref(rs)
            if owner is not None and owner.get("kind") == "Deployment":  # getPodDeployment
                deployment = lookup("deployments", namespace, owner.get("name", ""))
                if deployment is not None and deployment["metadata"].get("uid") == owner.get("uid"):
                    return deployment["metadata"]["uid"], int(deployment["spec"].get("replicas", 1))
            # getPodReplicaSet skips a ReplicaSet controlled by a Deployment; getScaleController then reads the
            # ReplicaSet's own scale subresource, which answers for any ReplicaSet.
            return rs["metadata"]["uid"], int(rs["spec"].get("replicas", 1))
        return None
    if kind == "StatefulSet" and group == "apps":
        sts = stored("statefulsets", ref.get("name", ""))
        return (sts["metadata"]["uid"], int(sts["spec"].get("replicas", 1))) if sts else None
    if kind == "Deployment" and group == "apps":  # only through getScaleController (a Deployment owning pods)
        deployment = stored("deployments", ref.get("name", ""))
        return (deployment["metadata"]["uid"], int(deployment["spec"].get("replicas", 1))) if deployment else None
    if kind == "DaemonSet" and group == "apps":
        # getScaleController: GET daemonsets/scale is a 404 and discovery lists no daemonsets/scale.
        raise ExpectedScaleError("daemonsets.apps does not implement the scale subresource")
    raise ExpectedScaleError(
        f"the sandbox does not model controllers of kind {kind!r} ({ref.get('apiVersion')}), so the disruption "
        "controller cannot find their scale; use a Deployment, ReplicaSet or StatefulSet, or an integer minAvailable"
    )


def expected_scale(pods: list[dict], lookup: Lookup) -> tuple[int, list[str]]:
    """getExpectedScale: the sum of the scales of the pods' controllers (each once), and the names of the
    pods without a controller (unmanaged: skipped, not counted)."""
    scales: dict[str, int] = {}
    seen_refs: set[str] = set()
    unmanaged: list[str] = []
    for pod in pods:
        ref = controller_ref(pod)
        if ref is None:
            unmanaged.append(pod["metadata"]["name"])
            continue
        if ref.get("uid") in seen_refs:
            continue
        found = controller_scale(ref, pod["metadata"]["namespace"], lookup)
        if found is None:
            raise ExpectedScaleError(f'found no controllers for pod "{pod["metadata"]["name"]}"')
        seen_refs.add(ref.get("uid", ""))
        scales[found[0]] = found[1]
    return sum(scales.values()), unmanaged


@dataclass(frozen=True)
class ExpectedPods:
    expected: int
    desired: int
    unmanaged: tuple[str, ...] = ()


def expected_pod_count(spec: dict, pods: list[dict], lookup: Lookup) -> ExpectedPods:
    """getExpectedPodCount: maxUnavailable and percentage minAvailable count the controllers' scale;
    an integer minAvailable counts the pods the selector matches (every phase)."""
    if spec.get("maxUnavailable") is not None:
        expected, unmanaged = expected_scale(pods, lookup)
        desired = max(expected - scaled_value(spec["maxUnavailable"], expected, round_up=True), 0)
        return ExpectedPods(expected, desired, tuple(unmanaged))
    minimum = spec.get("minAvailable")
    if minimum is None:
        return ExpectedPods(0, 0)
    if isinstance(minimum, int):
        return ExpectedPods(len(pods), minimum)
    expected, unmanaged = expected_scale(pods, lookup)
    return ExpectedPods(expected, scaled_value(minimum, expected, round_up=True), tuple(unmanaged))


# ---------------------------------------------------------------------------------------------- disrupted pods
def parse_time(stamp: str) -> float:
    """A metav1.Time (RFC 3339, seconds) as POSIX seconds."""
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def live_disrupted_pods(pods: list[dict], disrupted: dict[str, str], now: float) -> tuple[dict[str, str], float | None]:
    """buildDisruptedPodMap: keep the entries of pods that still exist, are not being deleted and whose
    DeletionTimeout has not passed; also when to look again (the earliest expiry), or None."""
    result: dict[str, str] = {}
    recheck: float | None = None
    for pod in pods:
        if pod["metadata"].get("deletionTimestamp"):
            continue
        stamp = disrupted.get(pod["metadata"]["name"])
        if stamp is None:
            continue
        expires = parse_time(stamp) + DELETION_TIMEOUT_SECONDS
        if expires >= now:
            result[pod["metadata"]["name"]] = stamp
            recheck = expires if recheck is None else min(recheck, expires)
    return result, recheck


def count_healthy(pods: list[dict], disrupted: dict[str, str], now: float) -> int:
    """countHealthyPods: Ready pods, except those being deleted or expected to be deleted soon."""
    healthy = 0
    for pod in pods:
        if pod["metadata"].get("deletionTimestamp"):
            continue
        stamp = disrupted.get(pod["metadata"]["name"])
        if stamp is not None and parse_time(stamp) + DELETION_TIMEOUT_SECONDS > now:
            continue
        healthy += pod_ready(pod)
    return healthy


def disruptions_allowed(current_healthy: int, desired_healthy: int, expected: int) -> int:
    """updatePdbStatus: 0 while nothing is expected (a budget whose pods are not counted yet is safe)."""
    allowed = current_healthy - desired_healthy
    return 0 if expected <= 0 or allowed <= 0 else allowed


# ---------------------------------------------------------------------------------------------- status
def set_condition(conditions: list[dict], new: dict, stamp: str) -> list[dict]:
    """apimeta.SetStatusCondition: lastTransitionTime moves only when the status flips."""
    result = [dict(c) for c in conditions]
    for condition in result:
        if condition.get("type") == new["type"]:
            if condition.get("status") != new["status"]:
                condition["lastTransitionTime"] = stamp
            condition.update({k: v for k, v in new.items() if k != "lastTransitionTime"})
            if not new.get("observedGeneration"):
                condition.pop("observedGeneration", None)
            return result
    added = {"lastTransitionTime": stamp, **new}
    if not added.get("observedGeneration"):
        added.pop("observedGeneration", None)
    return [*result, added]


def disruption_allowed_condition(status: dict, stamp: str) -> list[dict]:
    """pdbhelper.UpdateDisruptionAllowedCondition."""
    allowed = status.get("disruptionsAllowed", 0) > 0
    return set_condition(status.get("conditions") or [], {
        "type": "DisruptionAllowed", "status": "True" if allowed else "False",
        "reason": "SufficientPods" if allowed else "InsufficientPods", "message": "",
        "observedGeneration": status.get("observedGeneration", 0),
    }, stamp)


def status_json(*, observed_generation: int, disrupted: dict[str, str], allowed: int, current: int, desired: int,
                expected: int, conditions: list[dict]) -> dict:
    """A policy/v1 PodDisruptionBudgetStatus as the API serves it (omitempty fields left out when empty)."""
    status: dict = {}
    if observed_generation:
        status["observedGeneration"] = observed_generation
    if disrupted:
        status["disruptedPods"] = dict(disrupted)
    status.update(disruptionsAllowed=allowed, currentHealthy=current, desiredHealthy=desired, expectedPods=expected)
    if conditions:
        status["conditions"] = conditions
    return status


@dataclass(frozen=True)
class SyncResult:
    """What one sync of a PDB decided: its new status and the events the controller records with it."""

    status: dict
    events: list[tuple[str, str, str]] = field(default_factory=list)  # (type, reason, message)
    recheck_at: float | None = None


def sync_budget(pdb: dict, pods: list[dict], lookup: Lookup, *, now: float, stamp: str) -> SyncResult:
    """DisruptionController.sync for one PDB: trySync, or failSafe when the expected count cannot be found.

    ``pods`` are every pod the selector matches (any phase), ``now`` POSIX seconds, ``stamp`` its metav1.Time.
    """
    old = pdb.get("status") or {}
    spec = pdb.get("spec") or {}
    try:
        counted = expected_pod_count(spec, pods, lookup)
    except ExpectedScaleError as error:
        return fail_safe(old, str(error), stamp)
    events = []
    if counted.unmanaged:
        events.append(("Warning", "UnmanagedPods",
                       f"Pods selected by this PodDisruptionBudget (selector: {_selector_text(spec.get('selector'))}) "
                       "were found to be unmanaged. As a result, the status of the PDB cannot be calculated "
                       "correctly, which may result in undefined behavior. To account for these pods please set "
                       '".spec.minAvailable" field of the PDB to an integer value.'))
    disrupted, recheck = live_disrupted_pods(pods, old.get("disruptedPods") or {}, now)
    current = count_healthy(pods, disrupted, now)
    generation = int(pdb["metadata"].get("generation", 1))
    status = status_json(observed_generation=generation, disrupted=disrupted,
                         allowed=disruptions_allowed(current, counted.desired, counted.expected), current=current,
                         desired=counted.desired, expected=counted.expected, conditions=old.get("conditions") or [])
    status["conditions"] = disruption_allowed_condition(status, stamp)
    return SyncResult(status, events, recheck)


def fail_safe(old_status: dict, message: str, stamp: str) -> SyncResult:
    """failSafe: disruptionsAllowed 0 and DisruptionAllowed=False/SyncFailed; the rest of the old status (its
    observedGeneration included) stays, so evictions keep answering "still being processed"."""
    status = copy.deepcopy(old_status)
    status["disruptionsAllowed"] = 0
    status["conditions"] = set_condition(status.get("conditions") or [], {
        "type": "DisruptionAllowed", "status": "False", "reason": "SyncFailed", "message": message,
        "observedGeneration": status.get("observedGeneration", 0),
    }, stamp)
    return SyncResult(status, [("Warning", "CalculateExpectedPodCountFailed",
                                f"Failed to calculate the number of expected pods: {message}")])


def _selector_text(selector: dict | None) -> str:
    """How Go prints a *metav1.LabelSelector in the UnmanagedPods event (close enough to read)."""
    if not selector:
        return "nil"
    labels = " ".join(f"{k}:{v}" for k, v in sorted((selector.get("matchLabels") or {}).items()))
    return f"&LabelSelector{{MatchLabels:map[string]string{{{labels}}},MatchExpressions:[]" \
           f"LabelSelectorRequirement{{}},}}"
