"""The control loops of the fake cluster, run in a fixed order on every ``advance``.

kubelet heartbeats -> node lifecycle (health, taints, MarkPodsNotReady) -> taint eviction ->
kubelet (finish terminating pods) -> Deployment -> ReplicaSet -> StatefulSet -> DaemonSet ->
scheduler -> kubelet (admit, start containers, readiness) -> workload statuses -> disruption
controller (PDB status).

They see the cluster only through the store's public interface (``store.ClusterStore``; this module
never imports ``cluster.py``), work on the stored dicts directly (the cluster holds its lock while
they run), write through ``set_status``/``set_field``/``touch`` so resourceVersions move only on
real changes, and read pods through their ``PodIndex`` (index.py) instead of scanning the store.
"""

from __future__ import annotations

import copy

from bluegreen.sandbox.kube import revisions
from bluegreen.sandbox.kube.disruption import (
    parse_time,
    pod_healthy,
    pod_ready,
    pod_terminal,
    sync_budget,
)
from bluegreen.sandbox.kube.index import PodIndex
from bluegreen.sandbox.kube.measurements import WorkloadAvailability, required_ready
from bluegreen.sandbox.kube.nodelifecycle import eviction_delay, node_taints, ready_status, unknown_conditions
from bluegreen.sandbox.kube.quantity import cpu_millis, memory_bytes
from bluegreen.sandbox.kube.rollout import (
    ReplicaSetCount,
    new_replicaset_replicas,
    old_replicasets_after_scale_down,
    resolve_fenceposts,
)
from bluegreen.sandbox.kube.scheduler import (
    UNSCHEDULABLE_TAINT,
    ZONE_LABEL,
    NodeView,
    choose_node,
    node_selector_matches,
    pod_requests,
    untolerated_taints,
)
from bluegreen.sandbox.kube.selectors import labels_match, selector_matches, selector_requirements
from bluegreen.sandbox.kube.store import (
    IMAGE_LABEL,
    NEVER_READY_ON_IMAGE_ANNOTATION,
    READY_SECONDS_ANNOTATION,
    RUN_SECONDS_ANNOTATION,
    ClusterStore,
)
from bluegreen.sandbox.kube.termination import terminated_status

# Tolerations the DaemonSet controller adds to every daemon pod (pkg/controller/daemon/util).
DAEMON_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": UNSCHEDULABLE_TAINT, "operator": "Exists", "effect": "NoSchedule"},
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
    def __init__(self, cluster: ClusterStore):
        self.cluster = cluster
        # DaemonSet pods seen Ready at least once: only these count towards a DaemonSet's availability.
        self._daemon_pods_established: set[str] = set()
        # The stored pods, indexed (see index.py); brought up to date by ``reindex``.
        self.index: PodIndex = PodIndex()
        self._template_hashes: dict[tuple[str, int], str] = {}
        self._daemon_fit: dict[tuple, tuple[bool, bool]] = {}
        self._node_ready_seen: dict[str, str] = {}  # node -> Ready status at the last pass
        self._taint_seen: dict[str, dict[str, float]] = {}  # node -> pod uid -> first seen under NoExecute taints
        # PDB uid -> ((resourceVersion, its inputs), when a disruptedPods entry expires): skip unchanged budgets.
        self._pdb_memo: dict[str, tuple[tuple, float | None]] = {}
        self._runs: dict[str, dict] = {}  # uid -> a running Job pod (run-seconds annotation) not finished yet
        self._job_counted: dict[str, dict[str, str]] = {}  # Job uid -> finished pod uid -> its phase

    # ------------------------------------------------------------------ helpers
    def _owned(self, uid: str) -> list[dict]:
        """The pods whose controller has ``uid`` (from the index), in creation order."""
        return self.index.owned(uid)

    def _by_uid(self, plural: str) -> dict[str, dict]:
        return {o["metadata"]["uid"]: o for o in self.cluster.objects(plural)}

    def workload_of(self, pod: dict) -> tuple[str, str, str] | None:
        ref = controller_ref(pod)
        if ref is None:
            return None
        namespace = pod["metadata"]["namespace"]
        if ref.get("kind") == "ReplicaSet":
            rs = self.cluster.lookup("replicasets", namespace, ref["name"])
            rs_ref = controller_ref(rs) if rs else None
            if rs_ref and rs_ref.get("kind") == "Deployment":
                return ("Deployment", namespace, rs_ref["name"])
        return (ref.get("kind", ""), namespace, ref["name"])

    def _new_pod(self, owner: dict, owner_kind: str, name: str, extra_labels: dict[str, str],
                 extra_tolerations: list[dict] | None = None) -> dict:
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
        if extra_tolerations:
            pod["spec"]["tolerations"] = _merge_tolerations(pod["spec"].get("tolerations") or [], extra_tolerations)
        created = self.cluster.create("pods", owner["metadata"]["namespace"], pod)
        stored = self.cluster.lookup("pods", owner["metadata"]["namespace"], name)
        assert stored is not None
        self.index.file(stored)
        if RUN_SECONDS_ANNOTATION in (stored["metadata"].get("annotations") or {}):
            self._runs[stored["metadata"]["uid"]] = stored
        component = {"ReplicaSet": "replicaset-controller", "StatefulSet": "statefulset-controller",
                     "DaemonSet": "daemonset-controller", "Job": "job-controller"}.get(owner_kind, "sandbox")
        self.cluster.record_event(owner, "SuccessfulCreate", f"Created pod: {name}", component=component)
        return created

    # ------------------------------------------------------------------ the loop
    def run(self) -> None:
        self.kubelet_heartbeat()
        self.node_lifecycle()
        self.taint_eviction()
        self.kubelet_finish_terminating()
        self.deployments()
        self.reindex()
        self.replicasets()
        self.statefulsets()
        self.jobs()
        self.daemonsets()
        self.schedule()
        self.kubelet_run_pods()
        self.kubelet_complete_runs()
        self.reindex()
        self.workload_statuses()
        self.disruption()

    def reindex(self) -> None:
        """Re-file the pods that changed since the index last looked; the loops after this read the index."""
        self.index.apply(self.cluster.take_pod_changes())

    def kubelet_heartbeat(self) -> None:
        """Every running kubelet renews its node's Lease (kept as the node's heartbeat, not as an object)."""
        for node in self.cluster.objects("nodes"):
            runtime = self.cluster.node_runtime(node["metadata"]["name"])
            if runtime.kubelet_running:
                runtime.heartbeat_at = self.cluster.now

    def node_lifecycle(self) -> None:
        """node_lifecycle_controller.go monitorNodeHealth + the tainting passes (see nodelifecycle.py): a node
        silent for the grace period goes Unknown; on Ready -> not Ready its pods are marked not Ready
        (MarkPodsNotReady); taints follow the Ready condition and spec.unschedulable."""
        now, stamp = self.cluster.now, self.cluster.timestamp()
        grace = self.cluster.timing.node_monitor_grace_seconds
        for node in self.cluster.objects("nodes"):
            name = node["metadata"]["name"]
            runtime = self.cluster.node_runtime(name)
            ready = ready_status(node)
            if ready != "Unknown" and not runtime.kubelet_running and now - runtime.heartbeat_at >= grace:
                conditions = unknown_conditions(node["status"].get("conditions") or [], stamp)
                self.cluster.set_status(node, {**node["status"], "conditions": conditions})
                self.cluster.record_event(node, "NodeNotReady", f"Node {name} status is now: NodeNotReady",
                                          component="node-controller")
                ready = "Unknown"
            if ready != "True" and self._node_ready_seen.get(name) == "True":
                self.mark_pods_not_ready(name)
            self._node_ready_seen[name] = ready
            taints = node_taints(node, ready, stamp)
            self.cluster.set_field(node, ("spec", "taints"), taints or None)

    def mark_pods_not_ready(self, node_name: str) -> None:
        """controller/util/node MarkPodsNotReady: the Ready condition of every pod on the node turns False."""
        self.reindex()
        stamp = self.cluster.timestamp()
        for pod in self.index.on_node(node_name):
            for condition in pod.get("status", {}).get("conditions") or []:
                if condition["type"] == "Ready" and condition["status"] != "False":
                    condition.update(status="False", lastTransitionTime=stamp)
                    self.cluster.touch(pod)

    def taint_eviction(self) -> None:
        """tainteviction/taint_eviction.go: pods on a node with NoExecute taints are deleted at once when they
        do not tolerate one, after their smallest matching tolerationSeconds when they do, never when they
        tolerate it forever (DaemonSet pods)."""
        now = self.cluster.now
        self.reindex()
        for node in self.cluster.objects("nodes"):
            name = node["metadata"]["name"]
            taints = [t for t in node["spec"].get("taints") or [] if t.get("effect") == "NoExecute"]
            if not taints:
                self._taint_seen.pop(name, None)
                continue
            seen = self._taint_seen.setdefault(name, {})
            for pod in self.index.on_node(name):
                if pod["metadata"].get("deletionTimestamp") or pod_terminal(pod):
                    continue
                delay = eviction_delay(pod["spec"].get("tolerations") or [], taints)
                if delay is None:
                    continue
                first = seen.setdefault(pod["metadata"]["uid"], now)
                if now >= first + delay:
                    self._evict_for_taint(pod)

    def _evict_for_taint(self, pod: dict) -> None:
        stamp = self.cluster.timestamp()
        conditions = [c for c in pod["status"].get("conditions") or [] if c["type"] != "DisruptionTarget"]
        conditions.append({"type": "DisruptionTarget", "status": "True", "reason": "DeletionByTaintManager",
                           "message": "Taint manager: deleting due to NoExecute taint", "lastTransitionTime": stamp})
        pod["status"]["conditions"] = conditions
        self.cluster.touch(pod)
        namespace, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        self.cluster.record_event(pod, "TaintManagerEviction", f"Marking for deletion Pod {namespace}/{name}",
                                  component="taint-eviction-controller")
        self.cluster.delete_pod(pod, None, "taint_evicted")

    def kubelet_finish_terminating(self) -> None:
        """Pods whose grace period has passed: their containers exit and the kubelet reports the pod Succeeded;
        on the next pass it removes the object. Not on a NotReady node (no kubelet to confirm), and not while a
        finalizer still holds it: the object then stays, with its deletionTimestamp, until its finalizers are all
        removed (apiserver registry ``Store.Delete``/``Store.Update``: deletion is deferred while
        metadata.finalizers is not empty; the last finalizer's removal deletes it)."""
        nodes = {n["metadata"]["name"]: n for n in self.cluster.objects("nodes")}
        for pod in self.cluster.terminating_pods():
            runtime = self.cluster.runtime(pod)
            if runtime.delete_at is None or self.cluster.now < runtime.delete_at:
                continue
            if pod["metadata"].get("finalizers"):
                continue
            name = pod["spec"].get("nodeName", "")
            node = nodes.get(name)
            if node is not None and (not node_ready(node) or not self.cluster.node_runtime(name).kubelet_running):
                continue
            if pod_terminal(pod) or runtime.started_at is None:
                self.cluster.remove_pod(pod)
            else:
                self.cluster.set_status(pod, terminated_status(pod["status"], self.cluster.timestamp()))

    def deployments(self) -> None:
        """Each Deployment owns one ReplicaSet per pod template (pkg/controller/deployment/sync.go
        getNewReplicaSet); a template change rolls pods over with RollingUpdate's maxSurge/maxUnavailable
        (rolling.go rolloutRolling, see rollout.py) or, for Recreate, scales the old sets to zero and the new
        one up once their pods are gone (recreate.go rolloutRecreate). Scaling during a rollout is not
        proportional: the new set is capped at the desired count and the old sets shrink as the rollout allows."""
        replicasets = self.replicasets_by_owner()
        for deployment in list(self.cluster.objects("deployments")):
            name, uid = deployment["metadata"]["name"], deployment["metadata"]["uid"]
            spec = deployment["spec"]
            template_hash = self.template_hash(deployment)
            rs_name = f"{name}-{template_hash}"
            mine = replicasets.get(uid, [])
            current = next((rs for rs in mine if rs["metadata"]["name"] == rs_name), None)
            old = [rs for rs in mine if rs is not current]
            revision = revisions.next_revision(old)
            desired = int(spec.get("replicas", 1))
            strategy = spec.get("strategy") or {}
            recreate = strategy.get("type") == "Recreate"
            rolling = strategy.get("rollingUpdate") or {}
            surge, unavailable = resolve_fenceposts(rolling.get("maxSurge"), rolling.get("maxUnavailable"), desired)
            old_counts = [_rs_count(rs) for rs in old]
            if current is None:
                if recreate:
                    initial = 0 if any(c.replicas for c in old_counts) else desired
                else:
                    initial = new_replicaset_replicas(desired, surge, ReplicaSetCount(rs_name, 0, 0), old_counts)
                self._create_replicaset(deployment, rs_name, template_hash, initial, revision)
                self._record_revision(deployment, revision)
                continue
            self._record_revision(deployment, self._promote(deployment, current, revision))
            if current["spec"].get("minReadySeconds", 0) != spec.get("minReadySeconds", 0):
                self.cluster.set_field(current, ("spec", "minReadySeconds"), spec.get("minReadySeconds", 0))
            new = _rs_count(current)
            if recreate:
                for rs in old:
                    self._scale_replicaset(deployment, rs, 0)
                # oldPodsRunning: any pod of an old set that has not finished, terminating ones included
                self.reindex()
                if not any(not pod_terminal(p) for rs in old for p in self.index.owned(rs["metadata"]["uid"])):
                    self._scale_replicaset(deployment, current, desired)
                continue
            if not any(c.replicas for c in old_counts):
                self._scale_replicaset(deployment, current, desired)  # no rollout in progress: a plain scale
                continue
            # rolloutRolling: scale the new set up first; if it moved, that is this sync's work.
            target = desired if new.replicas > desired else new_replicaset_replicas(
                desired, surge, new, [new, *old_counts])
            if target != new.replicas:
                self._scale_replicaset(deployment, current, target)
                if target > new.replicas:
                    continue
                new = ReplicaSetCount(new.name, target, new.available)
            by_name = {rs["metadata"]["name"]: rs for rs in old}
            for rs_of, replicas in old_replicasets_after_scale_down(desired, unavailable, new, old_counts).items():
                self._scale_replicaset(deployment, by_name[rs_of], replicas)

    def _create_replicaset(self, deployment: dict, rs_name: str, template_hash: str, replicas: int,
                           revision: int) -> None:
        namespace, name = deployment["metadata"]["namespace"], deployment["metadata"]["name"]
        spec = deployment["spec"]
        template = copy.deepcopy(spec["template"])
        template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = template_hash
        selector = copy.deepcopy(spec["selector"])
        selector.setdefault("matchLabels", {})["pod-template-hash"] = template_hash
        self.cluster.create("replicasets", namespace, {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {
                "name": rs_name, "namespace": namespace,
                "labels": dict(template["metadata"]["labels"]),
                "annotations": revisions.new_replicaset_annotations(
                    deployment, revision, int(spec.get("replicas", 1)),
                    int(spec.get("replicas", 1)) + _max_surge(deployment, int(spec.get("replicas", 1)))),
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name,
                                     "uid": deployment["metadata"]["uid"], "controller": True,
                                     "blockOwnerDeletion": True}],
            },
            "spec": {"replicas": replicas, "selector": selector, "template": template,
                     "minReadySeconds": spec.get("minReadySeconds", 0)},
        })
        self.cluster.record_event(deployment, "ScalingReplicaSet", f"Scaled up replica set {rs_name} from 0 to "
                                  f"{replicas}", component="deployment-controller")

    def _promote(self, deployment: dict, current: dict, revision: int) -> int:
        """The current ReplicaSet takes the next revision when it becomes current again (a rollback); returns its
        revision (deployment_util.go SetNewReplicaSetAnnotations)."""
        if revisions.stale(current, deployment, revision):
            self.cluster.set_field(current, ("metadata", "annotations"),
                                   revisions.promoted_annotations(current["metadata"].get("annotations"), deployment,
                                                                  revision))
        return revisions.revision_of(current)

    def _record_revision(self, deployment: dict, revision: int) -> None:
        """The Deployment carries its current ReplicaSet's revision (deployment_util.go SetDeploymentRevision)."""
        if revisions.revision_of(deployment) != revision:
            self.cluster.set_field(deployment, ("metadata", "annotations"),
                                   revisions.deployment_annotations(deployment, revision))

    def _scale_replicaset(self, deployment: dict, rs: dict, replicas: int) -> None:
        before = int(rs["spec"].get("replicas", 1))
        if before == replicas:
            return
        self.cluster.set_field(rs, ("spec", "replicas"), replicas)
        rs["metadata"]["generation"] = rs["metadata"].get("generation", 1) + 1
        way = "up" if replicas > before else "down"
        self.cluster.record_event(deployment, "ScalingReplicaSet", f"Scaled {way} replica set "
                                  f"{rs['metadata']['name']} from {before} to {replicas}",
                                  component="deployment-controller")

    def replicasets(self) -> None:
        """ReplicaSets, and the sandbox's PodSets (an operator's custom resource owning its pods directly), which
        keep their replica count the same way."""
        owners = [(rs, "ReplicaSet") for rs in self.cluster.objects("replicasets")]
        owners += [(ps, "PodSet") for ps in self.cluster.objects("podsets")]
        for rs, kind in owners:
            active = self.index.active_count.get(rs["metadata"]["uid"], 0)
            want = int(rs["spec"].get("replicas", 1))
            for _ in range(want - active):
                self._new_pod(rs, kind, f"{rs['metadata']['name']}-{self.cluster.random_suffix()}", {})
            if active > want:
                pods = self.index.active_owned(rs["metadata"]["uid"])
                # Like the real controller: unscheduled, then pending, then not ready, then newest first.
                def rank(pod: dict) -> tuple:
                    phase_rank = {"Pending": 0, "Unknown": 1, "Running": 2}.get(pod["status"].get("phase"), 3)
                    return (bool(pod["spec"].get("nodeName")), phase_rank, pod_ready(pod),
                            -self.cluster.runtime(pod).created_at)
                for pod in sorted(pods, key=rank)[: len(pods) - want]:
                    self.cluster.delete_pod(pod, None, "scaled_down")

    def jobs(self) -> None:
        """The Job controller, the part the sandbox models (pkg/controller/job/job_controller.go ``syncJob``, for
        NonIndexed completion with parallelism 1): while fewer pods Succeeded than ``completions``, keep one active
        pod (a pod deleted or evicted before it succeeded is replaced; backoffLimit counts Failed pods only, and
        the sandbox's pods never fail); status ``active``/``succeeded``/``failed``, ``startTime``, and once done
        ``completionTime`` with the ``Complete`` condition."""
        for job in list(self.cluster.objects("jobs")):
            meta, spec = job["metadata"], job["spec"]
            owned = [p for p in self.cluster.objects("pods", meta["namespace"])
                     if (controller_ref(p) or {}).get("uid") == meta["uid"]]
            # Finished pods are counted once and for good (upstream tracks them with the
            # batch.kubernetes.io/job-tracking finalizer into status.succeeded/failed): a completed pod deleted later,
            # with its node say, still counts.
            counted = self._job_counted.setdefault(meta["uid"], {})
            for p in owned:
                if pod_terminal(p):
                    counted.setdefault(p["metadata"]["uid"], p["status"].get("phase", ""))
            succeeded = sum(1 for phase in counted.values() if phase == "Succeeded")
            failed = sum(1 for phase in counted.values() if phase == "Failed")
            active = sum(1 for p in owned if not pod_terminal(p) and not p["metadata"].get("deletionTimestamp"))
            completions = int(spec.get("completions") or 1)
            status = dict(job.get("status") or {})
            status.setdefault("startTime", self.cluster.timestamp())
            if succeeded < completions and active < 1:
                name = f"{meta['name']}-{self.cluster.random_suffix()}"
                self._new_pod(job, "Job", name, {"batch.kubernetes.io/job-name": meta["name"],
                                                  "batch.kubernetes.io/controller-uid": meta["uid"]})
                active += 1
            status.update(active=active, succeeded=succeeded, failed=failed, ready=sum(
                1 for p in owned if pod_ready(p) and not p["metadata"].get("deletionTimestamp")))
            if succeeded >= completions and "completionTime" not in status:
                stamp = self.cluster.timestamp()
                status["completionTime"] = stamp
                status["conditions"] = [{"type": "Complete", "status": "True", "lastProbeTime": stamp,
                                         "lastTransitionTime": stamp}]
                self.cluster.record_event(job, "Completed", "Job completed", component="job-controller")
            status["observedGeneration"] = meta.get("generation", 1)
            self.cluster.set_status(job, status)

    def kubelet_complete_runs(self) -> None:
        """A Job's pod (annotation run-seconds) runs that long once Ready, then its container exits 0: phase
        Succeeded, Ready False (reason PodCompleted), as the kubelet reports a completed restartPolicy Never pod."""
        now = self.cluster.now
        for uid, pod in list(self._runs.items()):
            if pod["metadata"].get("deletionTimestamp") or pod_terminal(pod):
                self._runs.pop(uid)
                continue
            runtime = self.cluster.runtime(pod)
            seconds = float((pod["metadata"].get("annotations") or {}).get(RUN_SECONDS_ANNOTATION, 0) or 0)
            if runtime.ready_at is None or now < runtime.ready_at + seconds:
                continue
            stamp = self.cluster.timestamp()
            for condition in pod["status"].get("conditions") or []:
                if condition["type"] in ("Ready", "ContainersReady"):
                    condition.update(status="False", reason="PodCompleted", lastTransitionTime=stamp)
            for container in pod["status"].get("containerStatuses") or []:
                container.update(ready=False, state={"terminated": {"exitCode": 0, "reason": "Completed",
                                                                     "finishedAt": stamp}})
            pod["status"]["phase"] = "Succeeded"
            self.cluster.touch(pod)
            self._runs.pop(uid)

    def statefulsets(self) -> None:
        """Pods name-0..n-1 with stable names; OrderedReady creates the lowest missing ordinal only when
        every lower ordinal is Running and Ready, and waits for a terminating pod to be gone."""
        for sts in list(self.cluster.objects("statefulsets")):
            name, namespace = sts["metadata"]["name"], sts["metadata"]["namespace"]
            spec = sts["spec"]
            replicas = int(spec.get("replicas", 1))
            ordered = spec.get("podManagementPolicy", "OrderedReady") == "OrderedReady"
            revision = f"{name}-{self.template_hash(sts)}"
            existing = {p["metadata"]["name"]: p for p in self._owned(sts["metadata"]["uid"])}
            for ordinal in range(replicas):
                pod_name = f"{name}-{ordinal}"
                pod = existing.get(pod_name) or self.cluster.lookup("pods", namespace, pod_name)
                if pod is None:
                    labels = {"statefulset.kubernetes.io/pod-name": pod_name, "apps.kubernetes.io/pod-index":
                              str(ordinal), "controller-revision-hash": revision}
                    claims = self.statefulset_claims(sts, pod_name)
                    self._new_pod(sts, "StatefulSet", pod_name, labels)
                    stored = self.cluster.lookup("pods", namespace, pod_name)
                    assert stored is not None
                    if claims:
                        kept = [v for v in stored["spec"].get("volumes") or [] if v.get("name") not in claims]
                        stored["spec"]["volumes"] = kept + [{"name": t, "persistentVolumeClaim": {"claimName": c}}
                                                            for t, c in claims.items()]
                    stored["spec"]["hostname"] = pod_name
                    if spec.get("serviceName"):
                        stored["spec"]["subdomain"] = spec["serviceName"]
                    self.cluster.touch(stored)  # a write of its own, so watches and snapshots see the hostname
                    if ordered:
                        break
                    continue
                if ordered and not (is_active(pod) and pod_ready(pod)):
                    break
            # Scale down: highest ordinal first, one at a time when ordered.
            extra = sorted((p for n, p in existing.items() if _ordinal(n, name) >= replicas and is_active(p)),
                           key=lambda p: -_ordinal(p["metadata"]["name"], name))
            for pod in extra[:1] if ordered else extra:
                self.cluster.delete_pod(pod, None, "scaled_down")

    def template_hash(self, owner: dict) -> str:
        """The owner's pod-template hash, computed once per (uid, generation)."""
        metadata = owner["metadata"]
        key = (metadata["uid"], metadata.get("generation", 1))
        found = self._template_hashes.get(key)
        if found is None:
            found = self._template_hashes[key] = self.cluster.template_hash(owner["spec"]["template"])
        return found

    def _available(self, owner_uid: str, min_ready_seconds: int) -> int:
        """podutil.IsPodAvailable over the owner's pods: Ready, not terminating, for minReadySeconds."""
        now, count = self.cluster.now, 0
        for uid, pod in self.index.by_owner.get(owner_uid, {}).items():
            if uid in self.index.ready and uid not in self.index.inactive:
                ready_at = self.cluster.runtime(pod).ready_at
                count += ready_at is None or now >= ready_at + min_ready_seconds
        return count

    def replicasets_by_owner(self) -> dict[str, list[dict]]:
        """ReplicaSets by their controller's uid, in creation order."""
        owned: dict[str, list[dict]] = {}
        for rs in self.cluster.objects("replicasets"):
            ref = controller_ref(rs)
            if ref:
                owned.setdefault(ref["uid"], []).append(rs)
        return owned

    def statefulset_claims(self, sts: dict, pod_name: str) -> dict[str, str]:
        """The claims of one StatefulSet pod, created when missing (stateful_pod_control.go:
        createPersistentVolumeClaims): template name -> claim "<template>-<pod>". The default retention policy
        (Retain) gives them no owner: a claim outlives its pod, and so does the volume bound to it."""
        claims: dict[str, str] = {}
        namespace = sts["metadata"]["namespace"]
        for template in sts["spec"].get("volumeClaimTemplates") or []:
            name = template["metadata"]["name"]
            claim = f"{name}-{pod_name}"
            claims[name] = claim
            if self.cluster.lookup("persistentvolumeclaims", namespace, claim) is None:
                labels = {**((template.get("metadata") or {}).get("labels") or {}),
                          **(sts["spec"]["selector"].get("matchLabels") or {})}
                self.cluster.create("persistentvolumeclaims", namespace, {
                    "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                    "metadata": {"name": claim, "namespace": namespace, "labels": labels},
                    "spec": copy.deepcopy(template.get("spec") or {}),
                })
        return claims

    def claim_affinities(self, pod: dict) -> tuple[list[dict], str | None]:
        """The required node affinity of every PersistentVolume bound to the pod's claims, or the reason the pod
        cannot be scheduled at all (volumebinding PreFilter: a claim that does not exist)."""
        affinities = []
        namespace = pod["metadata"]["namespace"]
        for volume in pod["spec"].get("volumes") or []:
            claim_name = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            if not claim_name:
                continue
            claim = self.cluster.lookup("persistentvolumeclaims", namespace, claim_name)
            if claim is None:
                return [], f'persistentvolumeclaim "{claim_name}" not found'
            bound = self.cluster.lookup("persistentvolumes", None, claim["spec"].get("volumeName") or "")
            required = ((bound or {}).get("spec", {}).get("nodeAffinity") or {}).get("required")
            if required:
                affinities.append(required)
        return affinities, None

    def provision_claims(self, pod: dict, node: NodeView) -> None:
        """WaitForFirstConsumer binding once the pod has its node: each unbound claim gets a new volume in the
        node's zone (the scheduler's PreBind selects the node, a zonal provisioner such as the EBS CSI driver
        creates the PersistentVolume with that node affinity, the PV controller binds the pair)."""
        namespace = pod["metadata"]["namespace"]
        zone = node.labels.get(ZONE_LABEL)
        for volume in pod["spec"].get("volumes") or []:
            claim_name = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            claim = self.cluster.lookup("persistentvolumeclaims", namespace, claim_name or "")
            if claim is None or claim["spec"].get("volumeName"):
                continue
            key, value = (ZONE_LABEL, zone) if zone else ("kubernetes.io/hostname", node.name)
            pv_name = f"pvc-{claim['metadata']['uid']}"
            storage = ((claim["spec"].get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
            self.cluster.create("persistentvolumes", None, {
                "apiVersion": "v1", "kind": "PersistentVolume",
                "metadata": {"name": pv_name, "labels": {ZONE_LABEL: zone} if zone else {}},
                "spec": {"capacity": {"storage": storage}, "accessModes": claim["spec"].get("accessModes")
                         or ["ReadWriteOnce"], "persistentVolumeReclaimPolicy": "Retain",
                         "storageClassName": claim["spec"].get("storageClassName") or "",
                         "claimRef": {"kind": "PersistentVolumeClaim", "namespace": namespace,
                                      "name": claim_name, "uid": claim["metadata"]["uid"]},
                         "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                             {"key": key, "operator": "In", "values": [value]}]}]}}},
            })
            pv = self.cluster.lookup("persistentvolumes", None, pv_name)
            assert pv is not None
            self.cluster.set_status(pv, {"phase": "Bound"})
            claim["metadata"].setdefault("annotations", {})["volume.kubernetes.io/selected-node"] = node.name
            claim["spec"]["volumeName"] = pv_name
            self.cluster.set_status(claim, {"phase": "Bound", "accessModes": claim["spec"].get("accessModes")
                                            or ["ReadWriteOnce"], "capacity": {"storage": storage}})

    def daemon_should_run(self, ds: dict, node: dict) -> tuple[bool, bool]:
        key = (ds["metadata"]["uid"], ds["metadata"].get("generation", 1), node["metadata"]["name"],
               node["metadata"].get("resourceVersion"))
        found = self._daemon_fit.get(key)
        if found is None:
            if len(self._daemon_fit) > 100_000:
                self._daemon_fit.clear()
            found = self._daemon_fit[key] = self._daemon_should_run(ds, node)
        return found
    def _daemon_should_run(self, ds: dict, node: dict) -> tuple[bool, bool]:
        """(should run a new pod there, may keep an existing one): nodeSelector, required node affinity and taints,
        the daemon tolerations added; unschedulable is tolerated, as for every daemon pod."""
        template_spec = ds["spec"]["template"]["spec"]
        selector = template_spec.get("nodeSelector") or {}
        labels = node["metadata"].get("labels") or {}
        if any(labels.get(k) != v for k, v in selector.items()):
            return False, False
        required = ((template_spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
            "requiredDuringSchedulingIgnoredDuringExecution")
        if required is not None and not node_selector_matches(
            required, NodeView(node["metadata"]["name"], 0, labels, [], False, 0, 0, 0)
        ):
            return False, False
        tolerations = (template_spec.get("tolerations") or []) + DAEMON_TOLERATIONS
        taints = node["spec"].get("taints") or []
        new_ok = not untolerated_taints(tolerations, taints, ("NoSchedule", "NoExecute"))
        keep_ok = not untolerated_taints(tolerations, taints, ("NoExecute",))
        return new_ok, keep_ok

    def daemonsets(self) -> None:
        nodes = self.cluster.objects("nodes")
        for ds in list(self.cluster.objects("daemonsets")):
            pods = self.index.active_owned(ds["metadata"]["uid"])
            by_node: dict[str, list[dict]] = {}
            for pod in pods:
                by_node.setdefault(pod["spec"].get("nodeName", ""), []).append(pod)
            for node in nodes:
                node_name = node["metadata"]["name"]
                new_ok, keep_ok = self.daemon_should_run(ds, node)
                here = by_node.pop(node_name, [])
                if not here and new_ok:
                    revision = self.template_hash(ds)
                    # Both labels the daemon controller puts on its pods (pkg/controller/daemon/util/
                    # daemonset_util.go CreatePodTemplate): the revision hash and the template generation.
                    generation = str(ds["metadata"].get("generation") or 1)
                    pod = self._new_pod(ds, "DaemonSet", f"{ds['metadata']['name']}-{self.cluster.random_suffix()}",
                                        {"controller-revision-hash": revision, "pod-template-generation": generation},
                                        DAEMON_TOLERATIONS)
                    stored = self.cluster.lookup("pods", pod["metadata"]["namespace"], pod["metadata"]["name"])
                    assert stored is not None
                    stored["spec"]["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [{"matchFields": [
                            {"key": "metadata.name", "operator": "In", "values": [node_name]}]}]}}}
                    stored["spec"]["nodeName"] = node_name  # bound by its node affinity; skip the queue
                    self.cluster.touch(stored)
                    self.index.file(stored)
                elif here and not keep_ok:
                    for pod in here:
                        self.cluster.delete_pod(pod, None, "scaled_down")
                else:
                    for pod in here[1:]:
                        self.cluster.delete_pod(pod, None, "scaled_down")
            for orphaned in by_node.values():  # pods of nodes that no longer exist, or never bound
                for pod in orphaned:
                    if pod["spec"].get("nodeName"):
                        self.cluster.delete_pod(pod, 0, "scaled_down")

    def node_views(self) -> list[NodeView]:
        views = {}
        for node in self.cluster.objects("nodes"):
            allocatable = node.get("status", {}).get("allocatable") or {}
            name = node["metadata"]["name"]
            views[name] = NodeView(
                name=name, order=self.cluster.node_order(name), labels=node["metadata"].get("labels") or {},
                taints=node["spec"].get("taints") or [], unschedulable=bool(node["spec"].get("unschedulable")),
                cpu_m=cpu_millis(allocatable.get("cpu", 0)), memory=memory_bytes(allocatable.get("memory", 0)),
                pods=int(allocatable.get("pods", 110)),
            )
        for name, view in views.items():
            for uid, pod in self.index.by_node.get(name, {}).items():
                if pod_terminal(pod):
                    continue
                cpu, memory = self.index.requests[uid]
                view.used_cpu_m += cpu
                view.used_memory += memory
                view.used_pods += 1
        return sorted(views.values(), key=lambda v: v.order)



    def schedule(self) -> None:
        """Bind pending pods in creation order; unschedulable ones get a PodScheduled=False condition."""
        self.reindex()  # pods created or removed by the loops before this one
        now, delay = self.cluster.now, self.cluster.timing.schedule_seconds
        # A pod is bound on a tick after the one that created it, and not before its scheduling delay.
        pending = sorted((p for p in self.index.pending.values()
                          if not p["spec"].get("nodeName") and is_active(p)
                          and self.cluster.runtime(p).created_at < now
                          and now >= self.cluster.runtime(p).created_at + delay),
                         key=lambda p: self.cluster.runtime(p).created_at)
        if not pending:
            return
        views = self.node_views()
        for pod in pending:
            affinities, unresolvable = self.claim_affinities(pod)
            if unresolvable:
                node, message = None, f"0/{len(views)} nodes are available: {unresolvable}."
            else:
                node, message = choose_node(pod["spec"], views, self.cluster.placement, affinities)
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
            self.provision_claims(pod, node)
            cpu, memory = pod_requests(pod["spec"])
            node.used_cpu_m += cpu
            node.used_memory += memory
            node.used_pods += 1
            pod["status"]["conditions"] = [{"type": "PodScheduled", "status": "True",
                                            "lastTransitionTime": self.cluster.timestamp()}]
            self.cluster.touch(pod)
            self.index.file(pod)
            self.cluster.record_event(pod, "Scheduled", f"Successfully assigned {pod['metadata']['namespace']}/"
                                      f"{pod['metadata']['name']} to {node.name}", component="default-scheduler")

    def kubelet_run_pods(self) -> None:
        """The kubelet's side of a bound pod, in the phases a real node shows (pkg/kubelet/kubelet.go SyncPod,
        status_manager, prober_manager): admitted -> Pending with its container waiting in ContainerCreating
        (image pull, sandbox, start: ``timing.container_start_seconds``) -> Running, not Ready -> Ready once
        its readiness delay has passed since the container started. Nothing happens on a node whose kubelet
        has stopped or that is not Ready."""
        nodes = {n["metadata"]["name"]: n for n in self.cluster.objects("nodes")}
        now = self.cluster.now
        self.reindex()
        for pod in list(self.index.starting.values()):
            name = pod["spec"].get("nodeName") or ""
            node = nodes.get(name)
            if node is None or not node_ready(node) or not self.cluster.node_runtime(name).kubelet_running:
                continue
            if pod["metadata"].get("deletionTimestamp") or pod_terminal(pod):
                continue
            runtime = self.cluster.runtime(pod)
            if runtime.admitted_at is None:
                runtime.admitted_at = now
                self._pod_container_creating(pod, node)
            if runtime.started_at is None:
                # Containers start on a later tick than the admission (so ContainerCreating is always seen),
                # and not before the image pull and start delay.
                start_delay = self.cluster.timing.container_start_seconds
                if now <= runtime.admitted_at or now < runtime.admitted_at + start_delay:
                    continue
                runtime.started_at = now
                self._pod_running(pod, runtime.created_at)
            if pod_ready(pod):
                continue
            annotations = pod["metadata"].get("annotations") or {}
            broken_on = annotations.get(NEVER_READY_ON_IMAGE_ANNOTATION)
            if broken_on and (node["metadata"].get("labels") or {}).get(IMAGE_LABEL) == broken_on:
                continue  # its readiness probe never passes on this AMI (a scenario fault)
            delay = float(annotations.get(READY_SECONDS_ANNOTATION, 0) or 0)
            if now >= runtime.started_at + delay:
                stamp = self.cluster.timestamp()
                for condition in pod["status"]["conditions"]:
                    if condition["type"] in ("Ready", "ContainersReady"):
                        condition.update(status="True", lastTransitionTime=stamp)
                        condition.pop("reason", None)
                        condition.pop("message", None)
                for container in pod["status"].get("containerStatuses") or []:
                    container["ready"] = True
                runtime.ready_at = now
                self.cluster.touch(pod)
                self.cluster.measurements.on_pod_ready(self.cluster.pod_ref(pod), now)

    def _pod_container_creating(self, pod: dict, node: dict) -> None:
        """Admitted by the kubelet: phase Pending, every container waiting with reason ContainerCreating."""
        stamp = self.cluster.timestamp()
        host_ip = next((a["address"] for a in node["status"].get("addresses") or [] if a["type"] == "InternalIP"), "")
        pod["status"].update({
            "phase": "Pending", "hostIP": host_ip, "hostIPs": [{"ip": host_ip}], "startTime": stamp,
            "conditions": [
                {"type": "PodReadyToStartContainers", "status": "False", "lastTransitionTime": stamp},
                {"type": "Initialized", "status": "True", "lastTransitionTime": stamp},
                {"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                 "message": "containers with unready status: [" + " ".join(
                     c["name"] for c in pod["spec"].get("containers") or []) + "]", "lastTransitionTime": stamp},
                {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady",
                 "lastTransitionTime": stamp},
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": stamp},
            ],
            "containerStatuses": [
                {"name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": False, "restartCount": 0,
                 "started": False, "state": {"waiting": {"reason": "ContainerCreating"}}}
                for c in pod["spec"].get("containers") or []
            ],
        })
        self.cluster.touch(pod)
        image = next((c.get("image", "") for c in pod["spec"].get("containers") or []), "")
        self.cluster.record_event(pod, "Pulling", f'Pulling image "{image}"', component="kubelet")

    def _pod_running(self, pod: dict, created_at: float) -> None:
        """The containers started: phase Running, a pod IP, not Ready until the readiness probe passes."""
        stamp = self.cluster.timestamp()
        pod_ip = self.cluster.next_pod_ip()
        status = pod["status"]
        status.update({"phase": "Running", "podIP": pod_ip, "podIPs": [{"ip": pod_ip}]})
        for condition in status.get("conditions") or []:
            if condition["type"] == "PodReadyToStartContainers":
                condition.update(status="True", lastTransitionTime=stamp)
        status["containerStatuses"] = [
            {"name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": False, "restartCount": 0,
             "started": True, "containerID": f"containerd://{created_at}", "state": {"running": {"startedAt": stamp}}}
            for c in pod["spec"].get("containers") or []
        ]
        self.cluster.touch(pod)
        self.cluster.record_event(pod, "Started", "Started container " + ", ".join(
            c["name"] for c in pod["spec"].get("containers") or []), component="kubelet")

    # ------------------------------------------------------------------ statuses
    def workload_statuses(self) -> None:
        stamp = self.cluster.timestamp()
        for rs in self.cluster.objects("replicasets"):
            active = self.index.active_count.get(rs["metadata"]["uid"], 0)
            ready = self.index.healthy_count.get(rs["metadata"]["uid"], 0)
            min_ready = int(rs["spec"].get("minReadySeconds") or 0)
            available = ready if min_ready <= 0 else self._available(rs["metadata"]["uid"], min_ready)
            status = {"replicas": active, "fullyLabeledReplicas": active, "readyReplicas": ready,
                      "availableReplicas": available, "observedGeneration": rs["metadata"].get("generation", 1)}
            self.cluster.set_status(rs, {k: v for k, v in status.items() if v or k == "replicas"})
        replicasets = self.replicasets_by_owner()
        for deployment in self.cluster.objects("deployments"):
            uid = deployment["metadata"]["uid"]
            mine = replicasets.get(uid, [])
            template_hash = self.template_hash(deployment)
            current_name = f"{deployment['metadata']['name']}-{template_hash}"
            total = sum(rs["status"].get("replicas", 0) for rs in mine)
            ready = sum(rs["status"].get("readyReplicas", 0) for rs in mine)
            available = sum(rs["status"].get("availableReplicas", 0) for rs in mine)
            updated = sum(rs["status"].get("replicas", 0) for rs in mine if rs["metadata"]["name"] == current_name)
            desired = int(deployment["spec"].get("replicas", 1))
            strategy = deployment["spec"].get("strategy") or {}
            max_unavailable = 0 if strategy.get("type") == "Recreate" else resolve_fenceposts(
                (strategy.get("rollingUpdate") or {}).get("maxSurge"),
                (strategy.get("rollingUpdate") or {}).get("maxUnavailable"), desired)[1]
            # deployment_util.go DeploymentComplete / sync.go calculateStatus
            available_ok = available >= desired - max_unavailable
            complete = updated == desired and total == desired and available >= desired
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
                "replicas": total, "updatedReplicas": updated, "readyReplicas": ready,
                "availableReplicas": available, "unavailableReplicas": max(desired - available, 0),
                "conditions": [
                    condition("Available", available_ok,
                              "MinimumReplicasAvailable" if available_ok else "MinimumReplicasUnavailable",
                              "Deployment has minimum availability." if available_ok
                              else "Deployment does not have minimum availability."),
                    condition("Progressing", True, "NewReplicaSetAvailable" if complete
                              else "ReplicaSetUpdated", f'ReplicaSet "{current_name}" has successfully progressed.'
                              if complete else f'ReplicaSet "{current_name}" is progressing.'),
                ],
            }
            self.cluster.set_status(deployment, {k: v for k, v in status.items()
                                                 if v or k in ("replicas", "observedGeneration", "conditions")})
        for sts in self.cluster.objects("statefulsets"):
            active = self.index.active_count.get(sts["metadata"]["uid"], 0)
            ready = self.index.healthy_count.get(sts["metadata"]["uid"], 0)
            revision = f"{sts['metadata']['name']}-{self.template_hash(sts)}"
            status = {"observedGeneration": sts["metadata"].get("generation", 1), "replicas": active,
                      "readyReplicas": ready, "currentReplicas": active, "updatedReplicas": active,
                      "availableReplicas": ready, "currentRevision": revision, "updateRevision": revision,
                      "collisionCount": 0}
            self.cluster.set_status(sts, status)
        nodes = self.cluster.objects("nodes")
        for ds in self.cluster.objects("daemonsets"):
            pods = self.index.active_owned(ds["metadata"]["uid"])
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
        (disruption.sync_budget); its events only when the status changes (a real sync runs on changes).

        A budget is synced again only when it, one of its pods' label groups or a controller's scale changed, or
        an entry of its disruptedPods is due to expire (sync_budget is a function of exactly these)."""
        stamp = self.cluster.timestamp()
        now = parse_time(stamp)
        scales = tuple((o["metadata"]["uid"], o["spec"].get("replicas")) for plural in
                       ("deployments", "replicasets", "statefulsets") for o in self.cluster.objects(plural))
        for pdb in self.cluster.objects("poddisruptionbudgets"):
            groups = self._groups_for_budget(pdb)
            inputs = (tuple((g.serial, g.version) for g in groups), scales)
            memo = self._pdb_memo.get(pdb["metadata"]["uid"])
            if memo is not None and memo[0] == (pdb["metadata"]["resourceVersion"], inputs) and (
                    memo[1] is None or now < memo[1]):
                continue
            pods = [pod for group in groups for pod in group.pods.values()]
            result = sync_budget(pdb, pods, self.cluster.lookup, now=now, stamp=stamp)
            if self.cluster.set_status(pdb, result.status):
                for event_type, reason, message in result.events:
                    self.cluster.record_event(pdb, reason, message, event_type=event_type,
                                              component="controllermanager")
            self._pdb_memo[pdb["metadata"]["uid"]] = ((pdb["metadata"]["resourceVersion"], inputs), result.recheck_at)

    def _groups_for_budget(self, pdb: dict) -> list:
        """getPodsForPdb: the index's label groups (pods of any phase) of the PDB's namespace its selector
        matches, matched once per group (a nil selector matches nothing, an empty one the whole namespace)."""
        requirements = selector_requirements((pdb.get("spec") or {}).get("selector"))
        if requirements is None:
            return []
        self.reindex()
        return [group for group in self.index.label_groups.get(pdb["metadata"]["namespace"], {}).values()
                if labels_match(requirements, group.labels)]

    # ------------------------------------------------------------------ measurements
    def availability(self) -> list[WorkloadAvailability]:
        """Ready pods per workload now, against its desired count and its budget (PDB or implicit)."""
        pods_by_workload: dict[tuple[str, str, str], list[dict]] = {}
        ready_by_workload: dict[tuple[str, str, str], int] = {}
        for owner, by_uid in self.index.by_owner.items():  # pods of one controller share its workload
            workload = self.workload_of(next(iter(by_uid.values())))
            if workload:
                # pod_healthy (Ready and not terminating), counted by the index
                healthy = self.index.healthy_count.get(owner, 0)
                ready_by_workload[workload] = ready_by_workload.get(workload, 0) + healthy
                if workload[0] == "DaemonSet":
                    pods_by_workload.setdefault(workload, []).extend(by_uid.values())
        result = []
        for kind, plural in (("Deployment", "deployments"), ("StatefulSet", "statefulsets"),
                             ("DaemonSet", "daemonsets"), ("PodSet", "podsets")):
            for workload in self.cluster.objects(plural):
                namespace, name = workload["metadata"]["namespace"], workload["metadata"]["name"]
                pods = pods_by_workload.get((kind, namespace, name), [])
                ready = ready_by_workload.get((kind, namespace, name), 0)
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
                pdb_specs = [pdb["spec"] for pdb in self.cluster.objects("poddisruptionbudgets", namespace)
                             if selector_matches(pdb["spec"].get("selector"), template_labels)]
                budget = required_ready(kind, workload["spec"], desired, pdb_specs)
                result.append(WorkloadAvailability(f"{namespace}/{name}", kind, desired, ready, budget))
        return result


def _rs_count(rs: dict) -> ReplicaSetCount:
    return ReplicaSetCount(rs["metadata"]["name"], int(rs["spec"].get("replicas", 1)),
                           int((rs.get("status") or {}).get("availableReplicas", 0)))


def _max_surge(deployment: dict, replicas: int) -> int:
    """Pods a rolling update may add above ``replicas`` (deployment_util.go MaxSurge; 0 for Recreate)."""
    strategy = deployment["spec"].get("strategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return 0
    rolling = strategy.get("rollingUpdate") or {}
    return resolve_fenceposts(rolling.get("maxSurge"), rolling.get("maxUnavailable"), replicas)[0]


def _ordinal(pod_name: str, sts_name: str) -> int:
    tail = pod_name[len(sts_name) + 1:]
    return int(tail) if tail.isdigit() else -1


def _merge_tolerations(existing: list[dict], extra: list[dict]) -> list[dict]:
    merged = list(existing)
    for toleration in extra:
        if not any(t.get("key") == toleration["key"] and t.get("effect") == toleration["effect"] for t in merged):
            merged.append(dict(toleration))
    return merged


