"""The eviction subresource's decisions, as upstream's EvictionREST.Create makes them
(pkg/registry/core/pod/storage/eviction.go): canIgnorePDB, getPodDisruptionBudgets, the unhealthy-pod policy,
checkAndDecrement on the PDB's *stored* status, and the DisruptionTarget condition of addConditionAndDeletePod.

Pure functions over plain dicts; ``FakeCluster.evict`` runs them in upstream's order and does the writes.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from bluegreen.sandbox.kube.disruption import disruption_allowed_condition, pod_ready
from bluegreen.sandbox.kube.errors import ApiError, BadRequest, Forbidden, TooManyRequests
from bluegreen.sandbox.kube.preconditions import DeleteOptions, delete_options
from bluegreen.sandbox.kube.selectors import labels_match, selector_requirements

EVICTION_BLOCKED_MESSAGE = "Cannot evict pod as it would violate the pod's disruption budget."
MULTIPLE_PDBS_MESSAGE = (
    "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
)
#: createTooManyRequestsError's retry hint while a PDB's status lags its spec.
STILL_PROCESSING_RETRY_SECONDS = 10
#: MaxDisruptedPodSize: more recorded evictions than this and the handler refuses (403).
MAX_DISRUPTED_POD_SIZE = 2000


class MultiplePodDisruptionBudgets(ApiError):
    """Upstream returns a bare Status (status Failure, code 500, no reason) rather than an error."""

    code, reason = 500, ""

    def status(self) -> dict:
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": self.message,
                "code": 500}


@dataclass(frozen=True)
class Eviction:
    """A policy/v1 Eviction body: the pod it names and its DeleteOptions."""

    name: str
    options: DeleteOptions


def parse_eviction(body: dict | None, name: str) -> Eviction:
    """The Eviction object of a POST .../pods/NAME/eviction; its name must be the URL's."""
    body = body or {}
    if body.get("kind") not in (None, "Eviction"):
        raise BadRequest(f"not a Eviction object: {body.get('kind')}")
    if (body.get("metadata") or {}).get("name") not in (None, name):
        raise BadRequest("name in URL does not match name in Eviction object")
    return Eviction(name, delete_options(body.get("deleteOptions")))


def can_ignore_pdb(pod: dict) -> bool:
    """canIgnorePDB: a finished, pending or already terminating pod is deleted without asking any budget."""
    phase = (pod.get("status") or {}).get("phase")
    return phase in ("Succeeded", "Failed", "Pending") or bool(pod["metadata"].get("deletionTimestamp"))


def should_enforce_resource_version(pod: dict) -> bool:
    """shouldEnforceResourceVersion: pin the delete to the version read, unless the pod is finished/terminating."""
    phase = (pod.get("status") or {}).get("phase")
    return phase not in ("Succeeded", "Failed") and not pod["metadata"].get("deletionTimestamp")


def budgets_selecting(pod: dict, pdbs: list[dict]) -> list[dict]:
    """getPodDisruptionBudgets: PDBs of the pod's namespace whose selector matches it; a nil or empty selector
    matches nothing here (unlike in the disruption controller's pod lister)."""
    found = []
    for pdb in pdbs:
        if pdb["metadata"].get("namespace") != pod["metadata"].get("namespace"):
            continue
        requirements = selector_requirements((pdb.get("spec") or {}).get("selector"))
        if requirements and labels_match(requirements, pod["metadata"].get("labels")):
            found.append(pdb)
    return found


def unhealthy_pod_may_go(pod: dict, pdb: dict) -> bool:
    """A pod that is not Ready is deleted without decrementing the budget when the PDB's
    unhealthyPodEvictionPolicy is AlwaysAllow, or (IfHealthyBudget, the default) while
    currentHealthy >= desiredHealthy > 0."""
    if pod_ready(pod):
        return False
    if (pdb.get("spec") or {}).get("unhealthyPodEvictionPolicy") == "AlwaysAllow":
        return True
    status = pdb.get("status") or {}
    desired = int(status.get("desiredHealthy") or 0)
    return int(status.get("currentHealthy") or 0) >= desired > 0


def still_being_processed(pdb_name: str) -> TooManyRequests:
    """createTooManyRequestsError: 429 with retryAfterSeconds 10 (and a Retry-After header)."""
    return TooManyRequests(EVICTION_BLOCKED_MESSAGE, details={
        "causes": [{"reason": "DisruptionBudget",
                    "message": f"The disruption budget {pdb_name} is still being processed by the server."}],
        "retryAfterSeconds": STILL_PROCESSING_RETRY_SECONDS,
    })


def check_and_decrement(pdb: dict, pod_name: str, stamp: str, *, dry_run: bool) -> dict:
    """checkAndDecrement: the PDB's stored status after this eviction (disruptionsAllowed - 1, the pod recorded
    in disruptedPods at ``stamp``), or the 429/403 that refuses it. ``dry_run``: decided, nothing recorded."""
    name = pdb["metadata"]["name"]
    status = copy.deepcopy(pdb.get("status") or {})
    if int(status.get("observedGeneration") or 0) < int(pdb["metadata"].get("generation") or 0):
        raise still_being_processed(name)
    allowed = int(status.get("disruptionsAllowed") or 0)
    if allowed < 0:
        raise _forbidden(name, "pdb disruptions allowed is negative")
    if len(status.get("disruptedPods") or {}) > MAX_DISRUPTED_POD_SIZE:
        raise _forbidden(name, "DisruptedPods map too big - too many evictions not confirmed by PDB controller")
    if allowed == 0:
        cause = (f"The disruption budget {name} needs {int(status.get('desiredHealthy') or 0)} healthy pods and has "
                 f"{int(status.get('currentHealthy') or 0)} currently")
        raise TooManyRequests(EVICTION_BLOCKED_MESSAGE,
                              details={"causes": [{"reason": "DisruptionBudget", "message": cause}]})
    status["disruptionsAllowed"] = allowed - 1
    if status["disruptionsAllowed"] == 0:
        status["conditions"] = disruption_allowed_condition(status, stamp)
    if not dry_run:
        status["disruptedPods"] = {**(status.get("disruptedPods") or {}), pod_name: stamp}
    return status


def disruption_target_condition(stamp: str) -> dict:
    """The condition addConditionAndDeletePod puts on an evicted pod (PodDisruptionConditions, GA in 1.31)."""
    return {"type": "DisruptionTarget", "status": "True", "reason": "EvictionByEvictionAPI",
            "message": "Eviction API: evicting", "lastTransitionTime": stamp}


def with_condition(conditions: list[dict], condition: dict) -> list[dict]:
    """podutil.UpdatePodCondition: replace the condition of that type (keeping its transition time when the
    status does not change), or append it."""
    result = [dict(c) for c in conditions]
    for existing in result:
        if existing.get("type") == condition["type"]:
            transition = existing.get("lastTransitionTime") if existing.get("status") == condition["status"] else None
            existing.clear()
            existing.update(condition)
            if transition:
                existing["lastTransitionTime"] = transition
            return result
    return [*result, dict(condition)]


def success_status() -> dict:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}


def _forbidden(pdb_name: str, reason: str) -> Forbidden:
    return Forbidden(f'poddisruptionbudget.policy "{pdb_name}" is forbidden: {reason}',
                     details={"name": pdb_name, "group": "policy", "kind": "poddisruptionbudget"})
