"""The control loops of the fake cluster, run in a fixed order on every ``advance``.

node lifecycle (taints from conditions) -> kubelet (finish terminating pods) -> Deployment ->
ReplicaSet -> StatefulSet -> DaemonSet -> scheduler -> kubelet (start pods, readiness) ->
workload statuses -> disruption controller (PDB status).

They work on the cluster's stored dicts directly (the cluster holds its lock while they run) and
write through ``cluster.set_status``/``set_field`` so resourceVersions move only on real changes.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from bluegreen.sandbox.kube.disruption import pod_healthy, pod_ready, pod_terminal, scaled_value, sync_budget
from bluegreen.sandbox.kube.measurements import WorkloadAvailability, required_ready
from bluegreen.sandbox.kube.quantity import cpu_millis, memory_bytes
from bluegreen.sandbox.kube.scheduler import (
    NOT_READY_TAINT,
    UNSCHEDULABLE_TAINT,
    NodeView,
    choose_node,
    pod_requests,
    untolerated_taints,
)
from bluegreen.sandbox.kube.selectors import selector_matches
from bluegreen.sandbox.kube.termination import terminated_status

if TYPE_CHECKING:
    from bluegreen.sandbox.kube.cluster import FakeCluster

#: Pod (template) annotation: seconds from container start until the pod is Ready (the scenario's ready_seconds).
READY_SECONDS_ANNOTATION = "sandbox.bluegreen.io/ready-seconds"

# Tolerations the DaemonSet controller adds to every daemon pod (pkg/controller/daemon/util).
DAEMON_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": UNSCHEDULABLE_TAINT, "operator": "Exists", "effect": "NoSchedule"},
]
# DefaultTolerationSeconds admission adds these to every pod.
DEFAULT_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
]


def is_active(pod: dict) -> bool:
    """Counted by a controller as one of its replicas: not terminal, not being deleted."""
    return not pod_terminal(pod) and not pod["metadata"].get("deletionTimestamp")


def controller_ref(obj: dict) -> dict | None:
    return next((r for r in obj["metadata"].get("ownerReferences") or [] if r.get("controller")), None)


def node_ready(node: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in node.get("status", {}).get("conditions") or [])


class Controllers:
    def __init__(self, cluster: FakeCluster):
        self.cluster = cluster
        # DaemonSet pods seen Ready at least once: only these count towards a DaemonSet's availability.
        self._daemon_pods_established: set[str] = set()

    # ------------------------------------------------------------------ helpers
    def _owned(self) -> dict[str, list[dict]]:
        """Pods and ReplicaSets by their controller's uid, in creation order."""
        owned: dict[str, list[dict]] = {}
        for plural in ("replicasets", "pods"):
            for obj in self.cluster._iter(plural):
                ref = controller_ref(obj)
                if ref:
                    owned.setdefault(ref["uid"], []).append(obj)
        return owned

    def _by_uid(self, plural: str) -> dict[str, dict]:
        return {o["metadata"]["uid"]: o for o in self.cluster._iter(plural)}

    def workload_of(self, pod: dict) -> tuple[str, str, str] | None:
        ref = controller_ref(pod)
        if ref is None:
            return None
        namespace = pod["metadata"]["namespace"]
        if ref.get("kind") == "ReplicaSet":
            rs = self.cluster._objects["replicasets"].get((namespace, ref["name"]))
            rs_ref = controller_ref(rs) if rs else None
            if rs_ref and rs_ref.get("kind") == "Deployment":
                return ("Deployment", namespace, rs_ref["name"])
        return (ref.get("kind", ""), namespace, ref["name"])

    def _new_pod(self, owner: dict, owner_kind: str, name: str, extra_labels: dict[str, str]) -> dict:
        template = copy.deepcopy(owner["spec"]["template"])
        metadata = template.get("metadata") or {}
        pod = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": owner["metadata"]["namespace"],
                "labels": {**(metadata.get("labels") or {}), **extra_labels},
                "ownerReferences": [{
                    "apiVersion": owner["apiVersion"], "kind": owner_kind, "name": owner["metadata"]["name"],
                    "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True,
                }],
            },
            "spec": template["spec"],
        }
        if metadata.get("annotations"):
            pod["metadata"]["annotations"] = dict(metadata["annotations"])
        tolerations = pod["spec"].setdefault("tolerations", [])
        for default in DEFAULT_TOLERATIONS:
            if not any(t.get("key") == default["key"] and t.get("effect") == default["effect"] for t in tolerations):
                tolerations.append(dict(default))
        created = self.cluster.create("pods", owner["metadata"]["namespace"], pod)
        component = {"ReplicaSet": "replicaset-controller", "StatefulSet": "statefulset-controller",
                     "DaemonSet": "daemonset-controller"}.get(owner_kind, "sandbox")
        self.cluster.record_event(owner, "SuccessfulCreate", f"Created pod: {name}", component=component)
        return created

    # ------------------------------------------------------------------ the loop
    def run(self) -> None:
        self.node_lifecycle()
        self.kubelet_finish_terminating()
        self.deployments()
        owned = self._owned()
        self.replicasets(owned)
        self.statefulsets(owned)
        self.daemonsets(owned)
        self.schedule()
        self.kubelet_run_pods()
        owned = self._owned()
        self.workload_statuses(owned)
        self.disruption()

    def node_lifecycle(self) -> None:
        """Taint cordoned and NotReady nodes with NoSchedule, as the node lifecycle controller does."""
        for node in self.cluster._iter("nodes"):
            managed = (UNSCHEDULABLE_TAINT, NOT_READY_TAINT)
            taints = [t for t in node["spec"].get("taints") or []
                      if not (t.get("key") in managed and t.get("effect") == "NoSchedule")]
            # NoSchedule taints carry no timeAdded on a real node (only NoExecute ones do).
            if node["spec"].get("unschedulable"):
                taints.append({"key": UNSCHEDULABLE_TAINT, "effect": "NoSchedule"})
            if not node_ready(node):
                taints.append({"key": NOT_READY_TAINT, "effect": "NoSchedule"})
            self.cluster.set_field(node, ("spec", "taints"), taints or None)

    def kubelet_finish_terminating(self) -> None:
        """Pods whose grace period has passed: their containers exit and the kubelet reports the pod Succeeded;
        on the next pass it removes the object. Not on a NotReady node (no kubelet to confirm)."""
        nodes = {n["metadata"]["name"]: n for n in self.cluster._iter("nodes")}
        for pod in list(self.cluster._iter("pods")):
            runtime = self.cluster.runtime(pod)
            if runtime.delete_at is None or self.cluster.now < runtime.delete_at:
                continue
            node = nodes.get(pod["spec"].get("nodeName", ""))
            if node is not None and not node_ready(node):
                continue
            if pod_terminal(pod) or runtime.started_at is None:
                self.cluster._remove_pod(pod)
            else:
                self.cluster.set_status(pod, terminated_status(pod["status"], self.cluster.timestamp()))

    def deployments(self) -> None:
        """Each Deployment owns one ReplicaSet per pod template; the current one gets all replicas.

        Template changes scale the old ReplicaSets to 0 at once (no surge arithmetic): the engine
        never changes templates, and the sandbox documents this.
        """
        replicasets = self.cluster._iter("replicasets")
        for deployment in list(self.cluster._iter("deployments")):
            namespace, name = deployment["metadata"]["namespace"], deployment["metadata"]["name"]
            uid = deployment["metadata"]["uid"]
            spec = deployment["spec"]
            template_hash = self.cluster.template_hash(spec["template"])
            rs_name = f"{name}-{template_hash}"
            mine = [rs for rs in replicasets if (controller_ref(rs) or {}).get("uid") == uid]
            current = next((rs for rs in mine if rs["metadata"]["name"] == rs_name), None)
            replicas = int(spec.get("replicas", 1))
            if current is None:
                template = copy.deepcopy(spec["template"])
                template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = template_hash
                selector = copy.deepcopy(spec["selector"])
                selector.setdefault("matchLabels", {})["pod-template-hash"] = template_hash
                self.cluster.create("replicasets", namespace, {
                    "apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "metadata": {
                        "name": rs_name, "namespace": namespace,
                        "labels": dict(template["metadata"]["labels"]),
                        "annotations": {"deployment.kubernetes.io/desired-replicas": str(replicas),
                                        "deployment.kubernetes.io/revision": str(len(mine) + 1)},
                        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name,
                                             "uid": uid, "controller": True, "blockOwnerDeletion": True}],
                    },
                    "spec": {"replicas": replicas, "selector": selector, "template": template,
                             "minReadySeconds": spec.get("minReadySeconds", 0)},
                })
            else:
                if current["spec"].get("replicas") != replicas:
                    self.cluster.set_field(current, ("spec", "replicas"), replicas)
                    current["metadata"]["generation"] = current["metadata"].get("generation", 1) + 1
            for old in mine:
                if old["metadata"]["name"] != rs_name and old["spec"].get("replicas", 0) != 0:
                    self.cluster.set_field(old, ("spec", "replicas"), 0)
                    old["metadata"]["generation"] = old["metadata"].get("generation", 1) + 1

    def replicasets(self, owned: dict[str, list[dict]]) -> None:
        for rs in list(self.cluster._iter("replicasets")):
            pods = [p for p in owned.get(rs["metadata"]["uid"], []) if p["kind"] == "Pod" and is_active(p)]
            want = int(rs["spec"].get("replicas", 1))
            for _ in range(want - len(pods)):
                self._new_pod(rs, "ReplicaSet", f"{rs['metadata']['name']}-{self.cluster.random_suffix()}", {})
            if len(pods) > want:
                # Like the real controller: unscheduled, then pending, then not ready, then newest first.
                def rank(pod: dict) -> tuple:
                    phase_rank = {"Pending": 0, "Unknown": 1, "Running": 2}.get(pod["status"].get("phase"), 3)
                    return (bool(pod["spec"].get("nodeName")), phase_rank, pod_ready(pod),
                            -self.cluster.runtime(pod).created_at)
                for pod in sorted(pods, key=rank)[: len(pods) - want]:
                    self.cluster._delete_pod(pod, None, "scaled_down")

    def statefulsets(self, owned: dict[str, list[dict]]) -> None:
        """Pods name-0..n-1 with stable names; OrderedReady creates the lowest missing ordinal only when
        every lower ordinal is Running and Ready, and waits for a terminating pod to be gone."""
        for sts in list(self.cluster._iter("statefulsets")):
            name, namespace = sts["metadata"]["name"], sts["metadata"]["namespace"]
            spec = sts["spec"]
            replicas = int(spec.get("replicas", 1))
            ordered = spec.get("podManagementPolicy", "OrderedReady") == "OrderedReady"
            revision = f"{name}-{self.cluster.template_hash(spec['template'])}"
            existing = {p["metadata"]["name"]: p for p in owned.get(sts["metadata"]["uid"], []) if p["kind"] == "Pod"}
            for ordinal in range(replicas):
                pod_name = f"{name}-{ordinal}"
                pod = existing.get(pod_name) or self.cluster._objects["pods"].get((namespace, pod_name))
                if pod is None:
                    labels = {"statefulset.kubernetes.io/pod-name": pod_name, "apps.kubernetes.io/pod-index":
                              str(ordinal), "controller-revision-hash": revision}
                    self._new_pod(sts, "StatefulSet", pod_name, labels)
                    stored = self.cluster._objects["pods"][(namespace, pod_name)]
                    stored["spec"]["hostname"] = pod_name
                    if spec.get("serviceName"):
                        stored["spec"]["subdomain"] = spec["serviceName"]
                    if ordered:
                        break
                    continue
                if ordered and not (is_active(pod) and pod_ready(pod)):
                    break
            # Scale down: highest ordinal first, one at a time when ordered.
            extra = sorted((p for n, p in existing.items() if _ordinal(n, name) >= replicas and is_active(p)),
                           key=lambda p: -_ordinal(p["metadata"]["name"], name))
            for pod in extra[:1] if ordered else extra:
                self.cluster._delete_pod(pod, None, "scaled_down")

    def daemon_should_run(self, ds: dict, node: dict) -> tuple[bool, bool]:
        """(should run a new pod there, may keep an existing one): nodeSelector and taints, the daemon
        tolerations added; unschedulable is tolerated, as for every daemon pod."""
        template_spec = ds["spec"]["template"]["spec"]
        selector = template_spec.get("nodeSelector") or {}
        labels = node["metadata"].get("labels") or {}
        if any(labels.get(k) != v for k, v in selector.items()):
            return False, False
        tolerations = (template_spec.get("tolerations") or []) + DAEMON_TOLERATIONS
        taints = node["spec"].get("taints") or []
        new_ok = not untolerated_taints(tolerations, taints, ("NoSchedule", "NoExecute"))
        keep_ok = not untolerated_taints(tolerations, taints, ("NoExecute",))
        return new_ok, keep_ok

    def daemonsets(self, owned: dict[str, list[dict]]) -> None:
        nodes = self.cluster._iter("nodes")
        for ds in list(self.cluster._iter("daemonsets")):
            pods = [p for p in owned.get(ds["metadata"]["uid"], []) if p["kind"] == "Pod" and is_active(p)]
            by_node: dict[str, list[dict]] = {}
            for pod in pods:
                by_node.setdefault(pod["spec"].get("nodeName", ""), []).append(pod)
            for node in nodes:
                node_name = node["metadata"]["name"]
                new_ok, keep_ok = self.daemon_should_run(ds, node)
                here = by_node.pop(node_name, [])
                if not here and new_ok:
                    revision = self.cluster.template_hash(ds["spec"]["template"])
                    pod = self._new_pod(ds, "DaemonSet", f"{ds['metadata']['name']}-{self.cluster.random_suffix()}",
                                        {"controller-revision-hash": revision})
                    stored = self.cluster._objects["pods"][(pod["metadata"]["namespace"], pod["metadata"]["name"])]
                    stored["spec"]["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [{"matchFields": [
                            {"key": "metadata.name", "operator": "In", "values": [node_name]}]}]}}}
                    stored["spec"]["tolerations"] = _merge_tolerations(stored["spec"].get("tolerations") or [],
                                                                       DAEMON_TOLERATIONS)
                    stored["spec"]["nodeName"] = node_name  # bound by its node affinity; skip the queue
                elif here and not keep_ok:
                    for pod in here:
                        self.cluster._delete_pod(pod, None, "scaled_down")
                else:
                    for pod in here[1:]:
                        self.cluster._delete_pod(pod, None, "scaled_down")
            for orphaned in by_node.values():  # pods of nodes that no longer exist, or never bound
                for pod in orphaned:
                    if pod["spec"].get("nodeName"):
                        self.cluster._delete_pod(pod, 0, "scaled_down")

    def node_views(self) -> list[NodeView]:
        views = {}
        for node in self.cluster._iter("nodes"):
            allocatable = node.get("status", {}).get("allocatable") or {}
            name = node["metadata"]["name"]
            views[name] = NodeView(
                name=name, order=self.cluster.node_order(name), labels=node["metadata"].get("labels") or {},
                taints=node["spec"].get("taints") or [], unschedulable=bool(node["spec"].get("unschedulable")),
                cpu_m=cpu_millis(allocatable.get("cpu", 0)), memory=memory_bytes(allocatable.get("memory", 0)),
                pods=int(allocatable.get("pods", 110)),
            )
        for pod in self.cluster._iter("pods"):
            view = views.get(pod["spec"].get("nodeName") or "")
            if view is None or pod_terminal(pod):
                continue
            cpu, memory = pod_requests(pod["spec"])
            view.used_cpu_m += cpu
            view.used_memory += memory
            view.used_pods += 1
        return sorted(views.values(), key=lambda v: v.order)

    def schedule(self) -> None:
        """Bind pending pods in creation order; unschedulable ones get a PodScheduled=False condition."""
        pending = [p for p in self.cluster._iter("pods") if not p["spec"].get("nodeName") and is_active(p)]
        if not pending:
            return
        views = self.node_views()
        for pod in pending:
            node, message = choose_node(pod["spec"], views, self.cluster.placement)
            if node is None:
                condition = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                             "message": message}
                existing = [c for c in pod["status"].get("conditions") or [] if c["type"] == "PodScheduled"]
                if not existing or existing[0].get("message") != message:
                    condition["lastTransitionTime"] = self.cluster.timestamp()
                    status = dict(pod["status"], conditions=[condition])
                    self.cluster.set_status(pod, status)
                    self.cluster.record_event(pod, "FailedScheduling", message, event_type="Warning",
                                              component="default-scheduler")
                continue
            pod["spec"]["nodeName"] = node.name
            cpu, memory = pod_requests(pod["spec"])
            node.used_cpu_m += cpu
            node.used_memory += memory
            node.used_pods += 1
            pod["status"]["conditions"] = [{"type": "PodScheduled", "status": "True",
                                            "lastTransitionTime": self.cluster.timestamp()}]
            self.cluster._touch(pod)
            self.cluster.record_event(pod, "Scheduled", f"Successfully assigned {pod['metadata']['namespace']}/"
                                      f"{pod['metadata']['name']} to {node.name}", component="default-scheduler")

    def kubelet_run_pods(self) -> None:
        """Bound pods on Ready nodes start at once and turn Ready after their readiness delay."""
        nodes = {n["metadata"]["name"]: n for n in self.cluster._iter("nodes")}
        now = self.cluster.now
        for pod in self.cluster._iter("pods"):
            node = nodes.get(pod["spec"].get("nodeName") or "")
            if node is None or not node_ready(node) or pod["metadata"].get("deletionTimestamp") or pod_terminal(pod):
                continue
            runtime = self.cluster.runtime(pod)
            status = pod["status"]
            if runtime.started_at is None:
                runtime.started_at = now
                stamp = self.cluster.timestamp()
                host_ip = next((a["address"] for a in node["status"].get("addresses") or []
                                if a["type"] == "InternalIP"), "")
                pod_ip = self.cluster.next_pod_ip()
                status.update({
                    "phase": "Running", "hostIP": host_ip, "hostIPs": [{"ip": host_ip}], "podIP": pod_ip,
                    "podIPs": [{"ip": pod_ip}], "startTime": stamp,
                    "conditions": [
                        {"type": "PodReadyToStartContainers", "status": "True", "lastTransitionTime": stamp},
                        {"type": "Initialized", "status": "True", "lastTransitionTime": stamp},
                        {"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                         "message": "containers with unready status", "lastTransitionTime": stamp},
                        {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady",
                         "lastTransitionTime": stamp},
                        {"type": "PodScheduled", "status": "True", "lastTransitionTime": stamp},
                    ],
                    "containerStatuses": [
                        {"name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": False,
                         "restartCount": 0, "started": True, "containerID": f"containerd://{runtime.created_at}",
                         "state": {"running": {"startedAt": stamp}}}
                        for c in pod["spec"].get("containers") or []
                    ],
                })
                self.cluster._touch(pod)
            if pod_ready(pod):
                continue
            delay = float((pod["metadata"].get("annotations") or {}).get(READY_SECONDS_ANNOTATION, 0) or 0)
            if now >= runtime.started_at + delay:
                stamp = self.cluster.timestamp()
                for condition in status["conditions"]:
                    if condition["type"] in ("Ready", "ContainersReady"):
                        condition.update(status="True", lastTransitionTime=stamp)
                        condition.pop("reason", None)
                        condition.pop("message", None)
                for container in status.get("containerStatuses") or []:
                    container["ready"] = True
                self.cluster._touch(pod)
                self.cluster.measurements.on_pod_ready(self.cluster.pod_ref(pod), now)

    # ------------------------------------------------------------------ statuses
    def workload_statuses(self, owned: dict[str, list[dict]]) -> None:
        stamp = self.cluster.timestamp()
        for rs in self.cluster._iter("replicasets"):
            pods = [p for p in owned.get(rs["metadata"]["uid"], []) if p["kind"] == "Pod" and is_active(p)]
            ready = sum(1 for p in pods if pod_ready(p))
            status = {"replicas": len(pods), "fullyLabeledReplicas": len(pods), "readyReplicas": ready,
                      "availableReplicas": ready, "observedGeneration": rs["metadata"].get("generation", 1)}
            self.cluster.set_status(rs, {k: v for k, v in status.items() if v or k == "replicas"})
        replicasets = self.cluster._iter("replicasets")
        for deployment in self.cluster._iter("deployments"):
            uid = deployment["metadata"]["uid"]
            mine = [rs for rs in replicasets if (controller_ref(rs) or {}).get("uid") == uid]
            template_hash = self.cluster.template_hash(deployment["spec"]["template"])
            current_name = f"{deployment['metadata']['name']}-{template_hash}"
            total = sum(rs["status"].get("replicas", 0) for rs in mine)
            ready = sum(rs["status"].get("readyReplicas", 0) for rs in mine)
            updated = sum(rs["status"].get("replicas", 0) for rs in mine if rs["metadata"]["name"] == current_name)
            desired = int(deployment["spec"].get("replicas", 1))
            max_unavailable = scaled_value(
                ((deployment["spec"].get("strategy") or {}).get("rollingUpdate") or {}).get("maxUnavailable", "25%"),
                desired, round_up=False)
            available_ok = ready >= desired - max_unavailable
            previous = {c["type"]: c for c in (deployment.get("status") or {}).get("conditions") or []}

            def condition(kind: str, ok: bool, reason: str, message: str,
                          previous: dict = previous) -> dict:
                old = previous.get(kind)
                status_text = "True" if ok else "False"
                transition = old["lastTransitionTime"] if old and old["status"] == status_text else stamp
                return {"type": kind, "status": status_text, "reason": reason, "message": message,
                        "lastUpdateTime": transition, "lastTransitionTime": transition}

            status = {
                "observedGeneration": deployment["metadata"].get("generation", 1),
                "replicas": total, "updatedReplicas": updated, "readyReplicas": ready, "availableReplicas": ready,
                "unavailableReplicas": max(desired - ready, 0),
                "conditions": [
                    condition("Available", available_ok,
                              "MinimumReplicasAvailable" if available_ok else "MinimumReplicasUnavailable",
                              "Deployment has minimum availability." if available_ok
                              else "Deployment does not have minimum availability."),
                    condition("Progressing", True, "NewReplicaSetAvailable" if ready >= desired
                              else "ReplicaSetUpdated", f'ReplicaSet "{current_name}" has successfully progressed.'
                              if ready >= desired else f'ReplicaSet "{current_name}" is progressing.'),
                ],
            }
            self.cluster.set_status(deployment, {k: v for k, v in status.items()
                                                 if v or k in ("replicas", "observedGeneration", "conditions")})
        for sts in self.cluster._iter("statefulsets"):
            pods = [p for p in owned.get(sts["metadata"]["uid"], []) if p["kind"] == "Pod" and is_active(p)]
            ready = sum(1 for p in pods if pod_ready(p))
            revision = f"{sts['metadata']['name']}-{self.cluster.template_hash(sts['spec']['template'])}"
            status = {"observedGeneration": sts["metadata"].get("generation", 1), "replicas": len(pods),
                      "readyReplicas": ready, "currentReplicas": len(pods), "updatedReplicas": len(pods),
                      "availableReplicas": ready, "currentRevision": revision, "updateRevision": revision,
                      "collisionCount": 0}
            self.cluster.set_status(sts, status)
        nodes = self.cluster._iter("nodes")
        for ds in self.cluster._iter("daemonsets"):
            pods = [p for p in owned.get(ds["metadata"]["uid"], []) if p["kind"] == "Pod" and is_active(p)]
            on_node = {p["spec"].get("nodeName"): p for p in pods}
            desired = scheduled = misscheduled = ready = 0
            for node in nodes:
                should, keep = self.daemon_should_run(ds, node)
                pod = on_node.get(node["metadata"]["name"])
                if should or (keep and pod is not None):
                    desired += 1
                    if pod is not None:
                        scheduled += 1
                        ready += pod_ready(pod)
                elif pod is not None:
                    misscheduled += 1
            status = {"observedGeneration": ds["metadata"].get("generation", 1), "desiredNumberScheduled": desired,
                      "currentNumberScheduled": scheduled, "numberMisscheduled": misscheduled,
                      "numberReady": ready, "numberAvailable": ready, "updatedNumberScheduled": scheduled,
                      "numberUnavailable": max(desired - ready, 0)}
            self.cluster.set_status(ds, status)

    def disruption(self) -> None:
        """The disruption controller: every PDB's status from the pods it selects and their controllers' scale
        (disruption.sync_budget); its events only when the status changes (a real sync runs on changes)."""
        objects = self.cluster._objects

        def lookup(plural: str, namespace: str, name: str) -> dict | None:
            return objects[plural].get((namespace, name))

        now = self.cluster.epoch + self.cluster.now
        stamp = self.cluster.timestamp()
        for pdb in self.cluster._iter("poddisruptionbudgets"):
            result = sync_budget(pdb, self.cluster.pods_selected_by(pdb), lookup, now=now, stamp=stamp)
            if self.cluster.set_status(pdb, result.status):
                for event_type, reason, message in result.events:
                    self.cluster.record_event(pdb, reason, message, event_type=event_type,
                                              component="controllermanager")

    # ------------------------------------------------------------------ measurements
    def availability(self) -> list[WorkloadAvailability]:
        """Ready pods per workload now, against its desired count and its budget (PDB or implicit)."""
        pods_by_workload: dict[tuple[str, str, str], list[dict]] = {}
        for pod in self.cluster._iter("pods"):
            workload = self.workload_of(pod)
            if workload:
                pods_by_workload.setdefault(workload, []).append(pod)
        result = []
        for kind, plural in (("Deployment", "deployments"), ("StatefulSet", "statefulsets"),
                             ("DaemonSet", "daemonsets")):
            for workload in self.cluster._iter(plural):
                namespace, name = workload["metadata"]["namespace"], workload["metadata"]["name"]
                pods = pods_by_workload.get((kind, namespace, name), [])
                ready = sum(1 for p in pods if pod_healthy(p))
                if kind == "DaemonSet":
                    # A DaemonSet grows with every node that joins and shrinks with every node that leaves;
                    # neither is a disruption. Measure it over its established pods (Ready at least once and
                    # still there), so only an established pod going unready shows as lost availability.
                    established = self._daemon_pods_established
                    established.update(p["metadata"]["uid"] for p in pods if pod_healthy(p))
                    desired = sum(1 for p in pods if p["metadata"]["uid"] in established)
                else:
                    desired = int(workload["spec"].get("replicas", 1))
                template_labels = (workload["spec"]["template"].get("metadata") or {}).get("labels")
                # The meter judges the budget from the objects (PDB specs, the workload's strategy) with its own
                # code, never from the PDB status this fake computes or the engine's rules.
                pdb_specs = [pdb["spec"] for pdb in self.cluster._iter("poddisruptionbudgets", namespace)
                             if selector_matches(pdb["spec"].get("selector"), template_labels)]
                budget = required_ready(kind, workload["spec"], desired, pdb_specs)
                result.append(WorkloadAvailability(f"{namespace}/{name}", kind, desired, ready, budget))
        return result


def _ordinal(pod_name: str, sts_name: str) -> int:
    tail = pod_name[len(sts_name) + 1:]
    return int(tail) if tail.isdigit() else -1


def _merge_tolerations(existing: list[dict], extra: list[dict]) -> list[dict]:
    merged = list(existing)
    for toleration in extra:
        if not any(t.get("key") == toleration["key"] and t.get("effect") == toleration["effect"] for t in merged):
            merged.append(dict(toleration))
    return merged
