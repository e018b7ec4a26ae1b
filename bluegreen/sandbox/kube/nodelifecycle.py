"""What the node lifecycle controller and the taint-eviction controller decide, as pure functions.

Upstream: pkg/controller/nodelifecycle/node_lifecycle_controller.go (tryUpdateNodeHealth: a node whose
kubelet has not reported within the grace period gets every condition Unknown; doNoScheduleTaintingPass
and doNoExecuteTaintingPass: taints from the Ready condition; MarkPodsNotReady on the Ready -> not Ready
transition) and pkg/controller/tainteviction/taint_eviction.go (processPodOnNode, getMinTolerationTime:
a pod that does not tolerate a NoExecute taint is deleted at once, one that tolerates it for
tolerationSeconds is deleted that long after the taint manager first saw it, one that tolerates it
without tolerationSeconds stays).
"""

from __future__ import annotations

from bluegreen.sandbox.kube.scheduler import NOT_READY_TAINT, UNSCHEDULABLE_TAINT, tolerates

UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
_MANAGED = (UNSCHEDULABLE_TAINT, NOT_READY_TAINT, UNREACHABLE_TAINT)
NODE_STATUS_UNKNOWN_MESSAGE = "Kubelet stopped posting node status."


def ready_status(node: dict) -> str:
    """The node's Ready condition status: "True", "False" or "Unknown" (no condition yet: Unknown)."""
    for condition in (node.get("status") or {}).get("conditions") or ():
        if condition.get("type") == "Ready":
            return str(condition.get("status") or "Unknown")
    return "Unknown"


def unknown_conditions(conditions: list[dict], stamp: str) -> list[dict]:
    """tryUpdateNodeHealth after the grace period: every condition Unknown, reason NodeStatusUnknown; the last
    heartbeat stays what the kubelet last posted."""
    updated = []
    for condition in conditions:
        changed = dict(condition, status="Unknown", reason="NodeStatusUnknown", message=NODE_STATUS_UNKNOWN_MESSAGE)
        if condition.get("status") != "Unknown":
            changed["lastTransitionTime"] = stamp
        updated.append(changed)
    return updated


def node_taints(node: dict, ready: str, stamp: str) -> list[dict]:
    """The node's taints after the lifecycle controller's passes: taints it does not manage are kept;
    unschedulable -> unschedulable:NoSchedule; Ready False -> not-ready:NoSchedule + not-ready:NoExecute;
    Ready Unknown -> unreachable:NoSchedule + unreachable:NoExecute. A NoExecute taint that stays keeps its
    timeAdded (NoSchedule taints carry none on a real node)."""
    current = node["spec"].get("taints") or []
    added_at = {t["key"]: t.get("timeAdded") for t in current
                if t.get("key") in _MANAGED and t.get("effect") == "NoExecute"}
    taints = [t for t in current if t.get("key") not in _MANAGED]
    if node["spec"].get("unschedulable"):
        taints.append({"key": UNSCHEDULABLE_TAINT, "effect": "NoSchedule"})
    key = {"False": NOT_READY_TAINT, "Unknown": UNREACHABLE_TAINT}.get(ready)
    if key is not None:
        taints.append({"key": key, "effect": "NoSchedule"})
        taints.append({"key": key, "effect": "NoExecute", "timeAdded": added_at.get(key) or stamp})
    return taints


def eviction_delay(tolerations: list[dict], taints: list[dict]) -> float | None:
    """Seconds until a pod on a node with these taints is deleted by the taint-eviction controller:
    0 when one NoExecute taint is not tolerated, None when every matching toleration is forever, else the
    smallest tolerationSeconds among the tolerations that match (<= 0 counts as 0)."""
    no_execute = [t for t in taints if t.get("effect") == "NoExecute"]
    if not no_execute:
        return None
    used: list[dict] = []
    for taint in no_execute:
        matching = [t for t in tolerations or [] if tolerates([t], taint)]
        if not matching:
            return 0.0
        used.extend(matching)
    seconds = [t["tolerationSeconds"] for t in used if t.get("tolerationSeconds") is not None]
    if not seconds:
        return None
    return max(0.0, float(min(seconds)))
