"""How the kubelet finishes a terminating pod (pkg/kubelet/kubelet_pods.go getPhase/generateAPIPodStatus,
pkg/kubelet/status/generate.go GeneratePodReadyCondition, status_manager.go canBeDeleted).

A pod marked for deletion keeps running, and keeps its Ready condition, until its containers exit; the
sandbox's containers exit cleanly (code 0) when their grace period ends. The kubelet then reports the pod
terminal (Succeeded: every container exited 0) and, on its next pass, removes the API object.
"""

from __future__ import annotations


def terminated_status(status: dict, stamp: str) -> dict:
    """The pod status once every container has exited with code 0: phase Succeeded, not Ready
    (reason PodCompleted), containers terminated with reason Completed."""
    conditions = []
    for condition in status.get("conditions") or []:
        condition = dict(condition)
        if condition.get("type") in ("Ready", "ContainersReady", "PodReadyToStartContainers"):
            if condition.get("status") != "False":
                condition["lastTransitionTime"] = stamp
            condition["status"] = "False"
            if condition["type"] != "PodReadyToStartContainers":
                condition["reason"] = "PodCompleted"
            condition.pop("message", None)
        conditions.append(condition)
    containers = []
    for container in status.get("containerStatuses") or []:
        started = ((container.get("state") or {}).get("running") or {}).get("startedAt", stamp)
        containers.append({**container, "ready": False, "started": False, "state": {"terminated": {
            "exitCode": 0, "reason": "Completed", "startedAt": started, "finishedAt": stamp,
            "containerID": container.get("containerID", "")}}})
    result = {**status, "phase": "Succeeded", "conditions": conditions}
    if containers:
        result["containerStatuses"] = containers
    return result
