"""The fake cluster: an object store with the API server's verbs, plus tick-driven controllers.

Everything happens under one lock (``cluster.lock``). API verbs (create, replace, patch, delete,
evict) act at the cluster's current simulated time; controllers run only in ``advance(now)``, in
a fixed order, so a given sequence of calls always produces the same cluster.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import random
import re
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from bluegreen.sandbox.kube.admission import default_toleration_seconds
from bluegreen.sandbox.kube.controllers import Controllers
from bluegreen.sandbox.kube.disruption import pod_terminal
from bluegreen.sandbox.kube.errors import (
    AlreadyExists,
    ApiError,
    BadRequest,
    Conflict,
    Invalid,
    NotFound,
    TooManyRequests,
)
from bluegreen.sandbox.kube.eviction import (
    MULTIPLE_PDBS_MESSAGE,
    MultiplePodDisruptionBudgets,
    budgets_selecting,
    can_ignore_pdb,
    check_and_decrement,
    disruption_target_condition,
    parse_eviction,
    should_enforce_resource_version,
    still_being_processed,
    success_status,
    unhealthy_pod_may_go,
    with_condition,
)
from bluegreen.sandbox.kube.measurements import Measurements, PodRef
from bluegreen.sandbox.kube.patch import apply_patch
from bluegreen.sandbox.kube.preconditions import DeleteOptions, Preconditions, precondition_conflict, update_conflict
from bluegreen.sandbox.kube.resources import BY_PLURAL, ResourceType, kind_type, resource_type
from bluegreen.sandbox.kube.scheduler import NOT_READY_TAINT, PLACEMENTS
from bluegreen.sandbox.kube.selectors import (
    fields_match,
    labels_match,
    parse_field_selector,
    parse_label_selector,
    selector_matches,
)
from bluegreen.sandbox.kube.services import kubernetes_service
from bluegreen.sandbox.kube.store import READY_SECONDS_ANNOTATION, ClusterTiming, NodeRuntime, PodRuntime
from bluegreen.sandbox.kube.tick_costs import TickCosts
from bluegreen.sandbox.kube.validation import (
    decode_error,
    node_errors,
    patch_type_error,
    pdb_errors,
    refuse_unmodelled,
    toleration_errors,
    type_problem,
    validate_status,
)
from bluegreen.sandbox.kube.watch import DEFAULT_HISTORY, ObjectTable, WatchLog

KUBERNETES_VERSION = "v1.32.0"

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # the apiserver's generateName / ReplicaSet suffix alphabet
_DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
# Resources whose status is owned by controllers: PUT and PATCH of the main resource leave status alone.
_STATUS_OWNED = {"pods", "nodes", "deployments", "replicasets", "statefulsets", "daemonsets", "jobs", "podsets",
                 "poddisruptionbudgets", "namespaces", "persistentvolumeclaims", "persistentvolumes"}
_GENERATION_TRACKED = {"deployments", "replicasets", "statefulsets", "daemonsets", "poddisruptionbudgets", "jobs"}


class FakeCluster:
    """State plus controllers of a small Kubernetes cluster; thread-safe through ``lock``."""

    def __init__(self, *, placement: str = "spread", seed: int = 0, epoch: float | None = None,
                 timing: ClusterTiming | None = None, watch_history: int = DEFAULT_HISTORY):
        if placement not in PLACEMENTS:
            raise ValueError(f"placement {placement!r} is not one of {', '.join(PLACEMENTS)}")
        self.placement = placement
        self.seed = seed
        self.timing = timing or ClusterTiming()
        self._node_runtime: dict[str, NodeRuntime] = {}
        self.lock = threading.RLock()
        self.now = 0.0
        # Wall-clock time that simulated second 0 maps to, for timestamps kubectl turns into ages.
        self.epoch = float(int(time.time())) if epoch is None else epoch
        self.measurements = Measurements()
        self.tick_costs = TickCosts()  # real time per advance, for reports
        self._rng = random.Random(seed)
        #: Every change, per resource (``watch_history`` events each), for watches and lists at a resourceVersion.
        self.watch_log = WatchLog(watch_history)
        self._objects: dict[str, dict[tuple[str, str], dict]] = {
            plural: ObjectTable(plural, self.watch_log, self._next_resource_version) for plural in BY_PLURAL}
        self._resource_version = 0
        self._runtime: dict[str, PodRuntime] = {}  # pod uid -> runtime
        self._terminating: dict[str, dict] = {}  # pod uid -> stored pod with a grace period running
        self._pod_changes: dict[str, dict | None] = {}  # pod uid -> stored pod (None: gone) since last taken
        self._node_order: dict[str, int] = {}
        self._node_counter = 0
        self._ip_counter = 0
        self._event_counter = 0
        self._controllers = Controllers(self)
        for namespace in _DEFAULT_NAMESPACES:
            self.create("namespaces", None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        self._bootstrap_kubernetes_service()

    def _bootstrap_kubernetes_service(self) -> None:
        """The API server's own Service; its uid does not come from the seeded generator, so names and uids
        of everything else are the same as without it."""
        state = self._rng.getstate()
        service = self.create("services", "default", kubernetes_service())
        self._rng.setstate(state)
        stored = self._stored("services", "default", service["metadata"]["name"])
        stored["metadata"]["uid"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"bluegreen-sandbox/{self.seed}/kubernetes"))
        self._touch(stored)

    # ------------------------------------------------------------------ time and identity
    def timestamp(self, at: float | None = None) -> str:
        moment = self.epoch + (self.now if at is None else at)
        return datetime.fromtimestamp(int(moment), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _next_resource_version(self) -> str:
        self._resource_version += 1
        return str(self._resource_version)

    @property
    def resource_version(self) -> str:
        return str(self._resource_version)

    def new_uid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def random_suffix(self, length: int = 5) -> str:
        return "".join(self._rng.choice(_NAME_ALPHABET) for _ in range(length))

    def next_pod_ip(self) -> str:
        self._ip_counter += 1
        return f"10.244.{self._ip_counter // 250}.{self._ip_counter % 250 + 2}"

    @staticmethod
    def template_hash(template: dict) -> str:
        # Nulls are dropped: a template sent back by a Go client (kubectl rollout undo) carries
        # "creationTimestamp": null and is still the same template (controller.ComputeHash hashes the struct).
        digest = hashlib.sha256(json.dumps(_without_nulls(template), sort_keys=True).encode()).digest()
        return "".join(_NAME_ALPHABET[b % len(_NAME_ALPHABET)] for b in digest[:10])

    def record_event(self, obj: dict, reason: str, message: str, *, event_type: str = "Normal",
                     component: str = "sandbox") -> None:
        """A core/v1 Event about ``obj``, as the controller named ``component`` would emit it."""
        namespace = obj["metadata"].get("namespace") or "default"
        if ("", namespace) not in self._objects["namespaces"]:
            return
        self._event_counter += 1
        stamp = self.timestamp()
        name = f"{obj['metadata']['name']}.{self._event_counter:016x}"
        event = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"),
                               "name": obj["metadata"]["name"], "namespace": obj["metadata"].get("namespace"),
                               "uid": obj["metadata"].get("uid"),
                               "resourceVersion": obj["metadata"].get("resourceVersion")},
            "reason": reason, "message": message, "type": event_type, "count": 1,
            "source": {"component": component}, "firstTimestamp": stamp, "lastTimestamp": stamp,
            "reportingComponent": component, "reportingInstance": "",
        }
        self.create("events", namespace, event)

    # ------------------------------------------------------------------ contract API (plain dicts)
    def apply(self, obj: dict) -> dict:
        """Create ``obj``, or replace the stored object of the same kind/namespace/name."""
        with self.lock:
            rtype = kind_type(obj.get("kind", ""), obj.get("apiVersion"))
            namespace = (obj.get("metadata") or {}).get("namespace") or ("default" if rtype.namespaced else None)
            name = (obj.get("metadata") or {}).get("name")
            if name and (namespace or "", name) in self._objects[rtype.plural]:
                body = copy.deepcopy(obj)
                body["metadata"].pop("resourceVersion", None)
                stored = self.replace(rtype.plural, namespace, name, body)
                if rtype.plural in _STATUS_OWNED and "status" in obj and rtype.plural != "pods":
                    stored = self._store_status(rtype.plural, namespace, name, obj["status"])
                return stored
            return self.create(rtype.plural, namespace, obj)

    def get(self, resource: str, namespace: str | None, name: str) -> dict | None:
        with self.lock:
            found = self._objects[resource_type(resource).plural].get((namespace or "", name))
            return copy.deepcopy(found) if found is not None else None

    def list(self, resource: str, namespace: str | None = None) -> list[dict]:
        with self.lock:
            return [copy.deepcopy(o) for o in self._iter(resource, namespace)]

    # ------------------------------------------------------------------ the store's public interface (store.py)
    def objects(self, resource: str, namespace: str | None = None) -> list[dict]:
        """Stored objects (not copies) in creation order; for the controllers, under the lock."""
        return self._iter(resource, namespace)

    def lookup(self, resource: str, namespace: str | None, name: str) -> dict | None:
        """The stored object (not a copy), or None."""
        rtype = resource_type(resource)
        return self._objects[rtype.plural].get(((namespace or "") if rtype.namespaced else "", name))

    def touch(self, obj: dict) -> None:
        self._touch(obj)

    def delete_pod(self, pod: dict, grace_seconds: int | None, how: str) -> dict:
        return self._delete_pod(pod, grace_seconds, how)

    def remove_pod(self, pod: dict) -> None:
        self._remove_pod(pod)

    def take_pod_changes(self) -> dict[str, dict | None]:
        """Pods created, written or removed since the last call (uid -> stored pod, None when gone)."""
        changes, self._pod_changes = self._pod_changes, {}
        return changes

    def terminating_pods(self) -> list[dict]:
        """Stored pods whose grace period is running, in the order their deletion began."""
        return list(self._terminating.values())

    # ------------------------------------------------------------------ store internals
    def _iter(self, resource: str, namespace: str | None = None) -> list[dict]:
        """Stored objects (not copies) in creation order; for controllers and the server."""
        objects = self._objects[resource].values()
        if namespace is None:
            return list(objects)
        return [o for o in objects if o["metadata"].get("namespace") == namespace]

    def _stored(self, resource: str, namespace: str | None, name: str) -> dict:
        rtype = resource_type(resource)
        found = self._objects[rtype.plural].get((namespace or "" if rtype.namespaced else "", name))
        if found is None:
            raise NotFound.of(rtype.plural, name, rtype.group)
        return found

    def _touch(self, obj: dict) -> None:
        obj["metadata"]["resourceVersion"] = self._next_resource_version()
        if obj.get("kind") == "Pod":
            self._pod_changes[obj["metadata"]["uid"]] = obj
        self.watch_log.touched(obj, self._objects)

    def _store_status(self, resource: str, namespace: str | None, name: str, status: dict) -> dict:
        obj = self._stored(resource, namespace, name)
        self.set_status(obj, status)
        return copy.deepcopy(obj)

    def set_status(self, obj: dict, status: dict) -> bool:
        """Controllers write status through here: the resourceVersion moves only on a real change."""
        if obj.get("status") == status:
            return False
        obj["status"] = status
        self._touch(obj)
        return True

    def set_field(self, obj: dict, path: tuple[str, ...], value: Any) -> bool:
        target = obj
        for key in path[:-1]:
            target = target.setdefault(key, {})
        if target.get(path[-1]) == value:
            return False
        if value is None:
            target.pop(path[-1], None)
        else:
            target[path[-1]] = value
        self._touch(obj)
        return True

    # ------------------------------------------------------------------ API verbs (raise ApiError)
    def list_objects(self, resource: str, namespace: str | None, *, label_selector: str | None = None,
                     field_selector: str | None = None) -> tuple[list[dict], str]:
        """Copies of the matching objects and the list's resourceVersion."""
        rtype = resource_type(resource)
        labels = parse_label_selector(label_selector)
        field_requirements = parse_field_selector(rtype.plural, field_selector)
        with self.lock:
            items = [copy.deepcopy(o) for o in self._iter(rtype.plural, namespace if rtype.namespaced else None)
                     if labels_match(labels, o["metadata"].get("labels")) and fields_match(field_requirements, o)]
            items.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
            return items, self.resource_version

    def read(self, resource: str, namespace: str | None, name: str) -> dict:
        with self.lock:
            return copy.deepcopy(self._stored(resource, namespace, name))

    def create(self, resource: str, namespace: str | None, body: dict) -> dict:
        rtype = resource_type(resource)
        if not isinstance(body, dict):
            raise BadRequest(f"the body of a {rtype.kind} create must be a JSON object")
        with self.lock:
            obj = copy.deepcopy(body)
            self._check_kind(rtype, obj)
            metadata = obj.setdefault("metadata", {})
            if rtype.namespaced:
                namespace = namespace or metadata.get("namespace") or "default"
                if metadata.get("namespace") not in (None, "", namespace):
                    raise BadRequest("the namespace of the provided object does not match the namespace sent on "
                                     "the request")
                if ("", namespace) not in self._objects["namespaces"]:
                    raise NotFound.of("namespaces", namespace)
                metadata["namespace"] = namespace
            else:
                metadata.pop("namespace", None)
            if not metadata.get("name"):
                if metadata.get("generateName"):
                    metadata["name"] = metadata["generateName"] + self.random_suffix()
                else:
                    raise Invalid.of(rtype.kind, "", "metadata.name", "Required value: name or generateName is "
                                     "required", rtype.group)
            name = metadata["name"]
            if rtype.plural != "events" and not _DNS_SUBDOMAIN.match(name):
                raise Invalid.of(rtype.kind, name, "metadata.name", f'Invalid value: "{name}": a lowercase RFC '
                                 "1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'",
                                 rtype.group)
            key = (namespace or "" if rtype.namespaced else "", name)
            if key in self._objects[rtype.plural]:
                raise AlreadyExists.of(rtype.plural, name, rtype.group)
            problem = type_problem(rtype, obj)
            if problem is not None:
                raise decode_error(rtype, problem)
            refuse_unmodelled(rtype, obj)
            metadata["uid"] = self.new_uid()
            metadata["creationTimestamp"] = self.timestamp()
            metadata.pop("deletionTimestamp", None)
            if rtype.plural in _GENERATION_TRACKED:
                metadata["generation"] = 1
            self._default(rtype, obj)
            if rtype.plural == "pods":
                default_toleration_seconds(obj["spec"], self.timing.default_toleration_seconds)
            self._validate(rtype, obj)
            self._touch(obj)
            self._objects[rtype.plural][key] = obj
            if rtype.plural == "pods":
                self._runtime[metadata["uid"]] = PodRuntime(created_at=self.now)
            return copy.deepcopy(obj)

    def replace(self, resource: str, namespace: str | None, name: str, body: dict) -> dict:
        rtype = resource_type(resource)
        with self.lock:
            current = self._stored(rtype.plural, namespace, name)
            obj = copy.deepcopy(body)
            self._check_kind(rtype, obj)
            metadata = obj.setdefault("metadata", {})
            if metadata.get("name", name) != name:
                raise BadRequest(f"the name of the object ({metadata.get('name')}) does not match the name on the "
                                 f"URL ({name})")
            problem = type_problem(rtype, obj)
            if problem is not None:
                raise decode_error(rtype, problem)
            conflict = update_conflict(rtype.plural, rtype.group, current, obj)
            if conflict is not None:
                raise conflict
            return self._commit_update(rtype, current, obj)

    def patch(self, resource: str, namespace: str | None, name: str, patch: Any, content_type: str) -> dict:
        rtype = resource_type(resource)
        with self.lock:
            current = self._stored(rtype.plural, namespace, name)
            patched = apply_patch(current, patch, content_type)
            if not isinstance(patched, dict):
                raise BadRequest(f"the patch turned {rtype.kind} {name!r} into something that is not an object")
            problem = type_problem(rtype, patched)
            if problem is not None:
                raise patch_type_error(problem, patch, content_type, patched)
            conflict = update_conflict(rtype.plural, rtype.group, current, patched)
            if conflict is not None:
                raise conflict
            return self._commit_update(rtype, current, patched)

    def update_status(self, resource: str, namespace: str | None, name: str, *, body: dict | None = None,
                      patch: Any = None, content_type: str = "") -> dict:
        """PUT or PATCH of the status subresource: only ``status`` changes."""
        rtype = resource_type(resource)
        with self.lock:
            current = self._stored(rtype.plural, namespace, name)
            updated = apply_patch(current, patch, content_type) if body is None else body
            if not isinstance(updated, dict):
                raise BadRequest(f"the status update of {rtype.kind} {name!r} is not an object")
            conflict = update_conflict(rtype.plural, rtype.group, current, updated)
            if conflict is not None:
                raise conflict
            validate_status(rtype, current, updated.get("status") or {})
            self.set_status(current, copy.deepcopy(updated.get("status") or {}))
            return copy.deepcopy(current)

    def read_scale(self, resource: str, namespace: str | None, name: str) -> dict:
        """The autoscaling/v1 Scale of a Deployment, ReplicaSet or StatefulSet (``kubectl scale`` uses it)."""
        rtype = resource_type(resource)
        if rtype.plural not in ("deployments", "replicasets", "statefulsets"):
            raise NotFound("the server could not find the requested resource")
        with self.lock:
            obj = self._stored(rtype.plural, namespace, name)
            selector = ",".join(f"{k}={v}" for k, v in sorted((obj["spec"]["selector"].get("matchLabels") or {})
                                                               .items()))
            metadata = {k: obj["metadata"][k] for k in ("name", "namespace", "uid", "resourceVersion",
                                                         "creationTimestamp")}
            return {"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": metadata,
                    "spec": {"replicas": int(obj["spec"].get("replicas", 1))},
                    "status": {"replicas": int((obj.get("status") or {}).get("replicas", 0)), "selector": selector}}

    def update_scale(self, resource: str, namespace: str | None, name: str, *, body: dict | None = None,
                     patch: Any = None, content_type: str = "") -> dict:
        """PUT or PATCH of the scale subresource: only ``spec.replicas`` changes."""
        with self.lock:
            scale = self.read_scale(resource, namespace, name)
            updated = apply_patch(scale, patch, content_type) if body is None else body
            replicas = ((updated or {}).get("spec") or {}).get("replicas")
            if not isinstance(replicas, int) or replicas < 0:
                raise Invalid.of("Scale", name, "spec.replicas", f"Invalid value: {replicas!r}: must be an integer "
                                 ">= 0", "autoscaling")
            wanted_version = ((updated or {}).get("metadata") or {}).get("resourceVersion")
            if body is not None and wanted_version and wanted_version != scale["metadata"]["resourceVersion"]:
                raise Conflict(f'Operation cannot be fulfilled on {resource} "{name}": the object has been modified; '
                               "please apply your changes to the latest version and try again")
            self.patch(resource, namespace, name, {"spec": {"replicas": replicas}}, "application/merge-patch+json")
            return self.read_scale(resource, namespace, name)

    def _commit_update(self, rtype: ResourceType, current: dict, obj: dict) -> dict:
        self._check_kind(rtype, obj)
        refuse_unmodelled(rtype, obj)
        metadata = obj.setdefault("metadata", {})
        for immutable in ("name", "namespace", "uid", "creationTimestamp", "deletionTimestamp",
                          "deletionGracePeriodSeconds", "generation"):
            if immutable in current["metadata"]:
                metadata[immutable] = current["metadata"][immutable]
            else:
                metadata.pop(immutable, None)
        metadata["resourceVersion"] = current["metadata"]["resourceVersion"]
        if rtype.plural in _STATUS_OWNED:
            if "status" in current:
                obj["status"] = copy.deepcopy(current["status"])
            else:
                obj.pop("status", None)
        if rtype.plural in _GENERATION_TRACKED and obj.get("spec") != current.get("spec"):
            metadata["generation"] = current["metadata"].get("generation", 1) + 1
        self._default(rtype, obj)
        self._validate(rtype, obj)
        if obj == current:
            return copy.deepcopy(current)  # no-op updates keep their resourceVersion, as on the real server
        self._touch(obj)
        current.clear()
        current.update(obj)
        return copy.deepcopy(current)

    def delete(self, resource: str, namespace: str | None, name: str, *, grace_seconds: int | None = None,
               propagation: str | None = None, how: str = "deleted",
               preconditions: Preconditions | None = None) -> dict:
        """Delete as the API does; pods on a node terminate gracefully and the object is returned.
        ``preconditions`` (DeleteOptions.preconditions) that no longer match are a 409, as in rest.BeforeDelete."""
        rtype = resource_type(resource)
        with self.lock:
            obj = self._stored(rtype.plural, namespace, name)
            conflict = precondition_conflict(rtype.kind, rtype.group, obj, preconditions or Preconditions())
            if conflict is not None:
                raise conflict
            if propagation == "Foreground" and rtype.plural not in ("pods", "events"):
                raise BadRequest(f"the sandbox does not model foreground cascading deletion (propagationPolicy "
                                 f"Foreground) of {rtype.plural} {name!r}; delete with Background or Orphan")
            if rtype.plural == "pods":
                return self._delete_pod(obj, grace_seconds, how)
            if rtype.plural == "nodes":
                self.remove_node(name)
            elif rtype.plural == "namespaces":
                for plural, objects in self._objects.items():
                    for key in [k for k, o in objects.items() if o["metadata"].get("namespace") == name]:
                        if plural == "pods":
                            self._forget_pod(objects[key], "deleted")
                        del objects[key]
                del self._objects["namespaces"][("", name)]
            else:
                del self._objects[rtype.plural][(namespace or "" if rtype.namespaced else "", name)]
                self._collect_dependents(obj["metadata"]["uid"], orphan=propagation == "Orphan")
            return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                    "details": {"name": name, "group": rtype.group, "kind": rtype.plural,
                                "uid": obj["metadata"]["uid"]}}

    def _collect_dependents(self, owner_uid: str, *, orphan: bool) -> None:
        """The garbage collector, run at once: dependents of a deleted owner go too (or are orphaned)."""
        for plural in ("replicasets", "pods", "events"):
            for obj in list(self._objects[plural].values()):
                references = obj["metadata"].get("ownerReferences") or []
                if not any(r.get("uid") == owner_uid for r in references):
                    continue
                if orphan:
                    obj["metadata"]["ownerReferences"] = [r for r in references if r.get("uid") != owner_uid]
                    self._touch(obj)
                elif plural == "pods":
                    self._delete_pod(obj, None, "deleted")
                else:
                    del self._objects[plural][(obj["metadata"].get("namespace", ""), obj["metadata"]["name"])]
                    self._collect_dependents(obj["metadata"]["uid"], orphan=False)

    def _delete_pod(self, pod: dict, grace_seconds: int | None, how: str) -> dict:
        metadata = pod["metadata"]
        if grace_seconds is None:
            grace_seconds = int(pod["spec"].get("terminationGracePeriodSeconds", 30))
        if grace_seconds < 0:
            grace_seconds = 1  # rest.BeforeDelete: a negative grace period is treated as 1 s
        runtime = self._runtime.setdefault(metadata["uid"], PodRuntime(created_at=self.now))
        immediate = grace_seconds == 0 or not pod["spec"].get("nodeName") or pod_terminal(pod)
        if not metadata.get("deletionTimestamp"):
            self._record_pod_gone(pod, how)
        if immediate and not metadata.get("finalizers"):
            self._remove_pod(pod)
            return copy.deepcopy(pod)
        if immediate:
            grace_seconds = 0  # finalizers hold the object: it stays, terminating, until they are all removed
        delete_at = self.now + grace_seconds
        if runtime.delete_at is not None and runtime.delete_at <= delete_at:
            return copy.deepcopy(pod)  # a second delete may shorten the grace period, never extend it
        runtime.delete_at = delete_at
        self._terminating[metadata["uid"]] = pod
        if runtime.started_at is not None:
            self.record_event(pod, "Killing", "Stopping container app", component="kubelet")
        metadata["deletionTimestamp"] = self.timestamp(delete_at)
        metadata["deletionGracePeriodSeconds"] = grace_seconds
        # The pod stays Ready while its containers run out their grace period: the kubelet reports them
        # stopped (and the pod Succeeded/Failed) only when they have exited (kubelet_finish_terminating).
        self._touch(pod)
        return copy.deepcopy(pod)

    def _remove_pod(self, pod: dict) -> None:
        key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
        if self._objects["pods"].get(key) is pod:
            del self._objects["pods"][key]
        self._runtime.pop(pod["metadata"]["uid"], None)
        self._terminating.pop(pod["metadata"]["uid"], None)
        self._pod_changes[pod["metadata"]["uid"]] = None

    def _forget_pod(self, pod: dict, how: str) -> None:
        if not pod["metadata"].get("deletionTimestamp"):
            self._record_pod_gone(pod, how)
        self._runtime.pop(pod["metadata"]["uid"], None)
        self._terminating.pop(pod["metadata"]["uid"], None)
        self._pod_changes[pod["metadata"]["uid"]] = None

    def _record_pod_gone(self, pod: dict, how: str) -> None:
        if how == "scaled_down":  # a controller removing its own surplus is not a disruption
            node = self.lookup("nodes", None, pod["spec"].get("nodeName") or "")
            cordoned = bool(node is not None and (node.get("spec") or {}).get("unschedulable"))
            if not pod_terminal(pod):
                self.measurements.on_pod_scaled_down(self.pod_ref(pod), self.now, node_cordoned=cordoned)
            return
        if pod_terminal(pod):
            return  # a finished pod (a Job's completed one) owes no replacement
        self.measurements.on_pod_gone(self.pod_ref(pod), how, self.now)

    def pod_ref(self, pod: dict) -> PodRef:
        workload = self.workload_of(pod)
        runtime = self._runtime.get(pod["metadata"]["uid"])
        return PodRef(
            uid=pod["metadata"]["uid"], name=pod["metadata"]["name"], namespace=pod["metadata"]["namespace"],
            node=pod["spec"].get("nodeName") or "",
            workload=f"{workload[1]}/{workload[2]}" if workload else None,
            workload_kind=workload[0] if workload else None,
            created_at=runtime.created_at if runtime else self.now,
            ever_ready=runtime is None or runtime.ready_at is not None,
        )

    def evict(self, namespace: str, name: str, body: dict | None, *, dry_run: bool = False) -> dict:
        """POST pods/{name}/eviction, in the order of upstream's EvictionREST.Create (eviction.go): a pod that
        canIgnorePDB is deleted at once; otherwise its one PDB's *stored* status decides (429 while
        observedGeneration lags or disruptionsAllowed is 0), is decremented and records the pod in
        disruptedPods; the pod gets the DisruptionTarget condition and is deleted gracefully.
        ``dry_run`` (or deleteOptions.dryRun): decided and answered, nothing changes."""
        with self.lock:
            pod = self._stored("pods", namespace, name)
            eviction = parse_eviction(body, name)
            options = eviction.options
            if dry_run and not options.dry_run:
                options = dataclasses.replace(options, dry_run=True)
            try:
                return self._evict(pod, options)
            except (TooManyRequests, MultiplePodDisruptionBudgets):  # the budget's answers, not the client's errors
                self.measurements.on_eviction_refused()
                raise

    def _evict(self, pod: dict, options: DeleteOptions) -> dict:
        pinned = options
        if can_ignore_pdb(pod):
            if should_enforce_resource_version(pod) and options.preconditions.resource_version is None:
                pinned = _pin_resource_version(options, pod)
            self._delete_evicted(pod, pinned)
            return success_status()
        pdbs = budgets_selecting(pod, self._iter("poddisruptionbudgets", pod["metadata"]["namespace"]))
        if len(pdbs) > 1:
            raise MultiplePodDisruptionBudgets(MULTIPLE_PDBS_MESSAGE)
        if pdbs and unhealthy_pod_may_go(pod, pdbs[0]):
            if options.preconditions.resource_version is None:
                pinned = _pin_resource_version(options, pod)
        elif pdbs:
            status = check_and_decrement(pdbs[0], pod["metadata"]["name"], self.timestamp(),
                                         dry_run=options.dry_run)
            if not options.dry_run:
                self.set_status(pdbs[0], status)
        try:
            self._delete_evicted(pod, pinned)
        except Conflict:
            if pinned is not options:  # the pod changed since it was judged unhealthy: let the client retry
                raise still_being_processed(pdbs[0]["metadata"]["name"]) from None
            raise
        return success_status()

    def _delete_evicted(self, pod: dict, options: DeleteOptions) -> None:
        """addConditionAndDeletePod: preconditions against the stored pod, the DisruptionTarget condition, then
        the graceful delete."""
        conflict = precondition_conflict("Pod", "", pod, options.preconditions)
        if conflict is not None:
            raise conflict
        if options.dry_run:
            return
        condition = disruption_target_condition(self.timestamp())
        conditions = with_condition(pod["status"].get("conditions") or [], condition)
        self.set_status(pod, {**pod["status"], "conditions": conditions})
        self._delete_pod(pod, options.grace_seconds, "evicted")

    # ------------------------------------------------------------------ nodes (the kubelet's side)
    def add_node(self, name: str, *, provider_id: str, labels: dict[str, str], cpu: str, memory: str, pods: int,
                 taints: list[dict] | None = None, ready: bool = True, not_ready_reason: str = "KubeletNotReady",
                 annotations: dict[str, str] | None = None) -> None:
        """A kubelet registering its node; ``ready=False`` keeps it NotReady with that reason (a fault)."""
        with self.lock:
            if ("", name) in self._objects["nodes"]:
                raise AlreadyExists.of("nodes", name)
            address = _ip_from_name(name) or f"10.0.{self._node_counter // 250}.{self._node_counter % 250 + 10}"
            self._node_counter += 1
            heartbeat = self.timestamp()
            conditions = [
                {"type": kind, "status": "False", "reason": reason, "message": message,
                 "lastHeartbeatTime": heartbeat, "lastTransitionTime": heartbeat}
                for kind, reason, message in (
                    ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                    ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                    ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                )
            ]
            conditions.append({
                "type": "Ready", "status": "True" if ready else "False",
                "reason": "KubeletReady" if ready else not_ready_reason,
                "message": "kubelet is posting ready status" if ready else
                "container runtime network not ready: NetworkReady=false (sandbox fault)",
                "lastHeartbeatTime": heartbeat, "lastTransitionTime": heartbeat,
            })
            node = {
                "apiVersion": "v1", "kind": "Node",
                "metadata": {
                    "name": name,
                    "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                               "kubernetes.io/arch": "amd64", **labels},
                    "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                                    "volumes.kubernetes.io/controller-managed-attach-detach": "true",
                                    **(annotations or {})},
                },
                "spec": {"providerID": provider_id, **({"taints": copy.deepcopy(taints)} if taints else {})},
                "status": {
                    "capacity": {"cpu": str(cpu), "memory": str(memory), "pods": str(pods),
                                 "ephemeral-storage": "20959212Ki"},
                    "allocatable": {"cpu": str(cpu), "memory": str(memory), "pods": str(pods),
                                    "ephemeral-storage": "19316009748"},
                    "conditions": conditions,
                    "addresses": [{"type": "InternalIP", "address": address},
                                  {"type": "Hostname", "address": name},
                                  {"type": "InternalDNS", "address": name}],
                    "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                    "nodeInfo": {
                        "architecture": "amd64", "bootID": self.new_uid(), "containerRuntimeVersion":
                        "containerd://1.7.22", "kernelVersion": "6.1.112-122.189.amzn2023.x86_64",
                        "kubeProxyVersion": KUBERNETES_VERSION, "kubeletVersion": KUBERNETES_VERSION + "-eks-sandbox",
                        "machineID": self.new_uid().replace("-", ""), "operatingSystem": "linux",
                        "osImage": "Amazon Linux 2023.6.20241010", "systemUUID": self.new_uid(),
                    },
                },
            }
            self.create("nodes", None, node)
            self._node_runtime[name] = NodeRuntime(heartbeat_at=self.now)
            self._node_order[name] = len(self._node_order)
            self._controllers.node_lifecycle()

    def set_node_ready(self, name: str, ready: bool, *, reason: str = "KubeletNotReady") -> None:
        """The kubelet's Ready condition changes (a fault starting or ending); taints follow at the next tick."""
        with self.lock:
            node = self._stored("nodes", None, name)
            conditions = copy.deepcopy(node["status"]["conditions"])
            for condition in conditions:
                if condition["type"] == "Ready" and (condition["status"] == "True") != ready:
                    condition.update(
                        status="True" if ready else "False", reason="KubeletReady" if ready else reason,
                        message="kubelet is posting ready status" if ready else
                        "container runtime network not ready: NetworkReady=false (sandbox fault)",
                        lastTransitionTime=self.timestamp(), lastHeartbeatTime=self.timestamp())
            self.set_status(node, {**node["status"], "conditions": conditions})

    def remove_node(self, name: str) -> None:
        """The instance is gone: its Node and every pod bound to it disappear at once (pod GC)."""
        with self.lock:
            if ("", name) not in self._objects["nodes"]:
                raise NotFound.of("nodes", name)
            del self._objects["nodes"][("", name)]
            self._node_runtime.pop(name, None)
            for pod in [p for p in self._iter("pods") if p["spec"].get("nodeName") == name]:
                self._forget_pod(pod, "node_removed")
                self._remove_pod(pod)

    def stop_kubelet(self, name: str) -> None:
        """The node's kubelet stops reporting (the instance froze or lost its network): nothing changes on the
        API until the node lifecycle controller's grace period has passed (a scenario's ``node_lost`` fault)."""
        with self.lock:
            self._stored("nodes", None, name)
            self.node_runtime(name).kubelet_running = False

    def node_runtime(self, name: str) -> NodeRuntime:
        return self._node_runtime.setdefault(name, NodeRuntime(heartbeat_at=self.now))

    def node_order(self, name: str) -> int:
        return self._node_order.get(name, 1 << 30)

    def runtime(self, pod: dict) -> PodRuntime:
        return self._runtime.setdefault(pod["metadata"]["uid"], PodRuntime(created_at=self.now))

    # ------------------------------------------------------------------ controllers
    def advance(self, now: float) -> None:
        """Run every controller up to simulated time ``now`` (which must not go backwards)."""
        with self.lock:
            if now < self.now:
                raise ValueError(f"advance({now}) goes back in time; the cluster is at {self.now}")
            self.now = now
            started = time.perf_counter()
            self._controllers.run()
            self.measurements.sample(now, self._controllers.availability())
            self.tick_costs.record(time.perf_counter() - started, len(self._objects["pods"]))

    def settle(self, until: float, step: float = 1.0) -> None:
        """Advance in ``step``s up to ``until`` (convenience for tests and builders)."""
        t = self.now
        while t < until:
            t = min(until, t + step)
            self.advance(t)

    def availability_now(self) -> list:
        """Every workload's Ready pods against desired and budget now (what the measurements sample)."""
        with self.lock:
            return self._controllers.availability()

    def workload_of(self, pod: dict) -> tuple[str, str, str] | None:
        """(kind, namespace, name) of the pod's top controller; None for a bare pod."""
        return self._controllers.workload_of(pod)

    # ------------------------------------------------------------------ checks and defaults
    @staticmethod
    def _check_kind(rtype: ResourceType, obj: dict) -> None:
        kind, api_version = obj.get("kind"), obj.get("apiVersion")
        if kind not in (None, rtype.kind) or api_version not in (None, rtype.api_version):
            raise BadRequest(f"the API version in the data ({api_version}) and kind ({kind}) do not match the "
                             f"resource {rtype.plural} ({rtype.api_version})")
        obj["kind"], obj["apiVersion"] = rtype.kind, rtype.api_version

    def _default(self, rtype: ResourceType, obj: dict) -> None:
        spec = obj.setdefault("spec", {}) if rtype.plural not in ("events",) else None
        if rtype.plural == "pods":
            _default_pod_spec(spec)
            obj.setdefault("status", {"phase": "Pending", "qosClass": _qos_class(spec)})
        elif rtype.plural == "namespaces":
            spec.setdefault("finalizers", ["kubernetes"])
            obj.setdefault("status", {"phase": "Active"})
        elif rtype.plural == "nodes":
            obj.setdefault("status", {})
        elif rtype.plural in ("deployments", "replicasets", "statefulsets", "daemonsets", "podsets"):
            if rtype.plural != "daemonsets":
                spec.setdefault("replicas", 1)
            spec.setdefault("revisionHistoryLimit", 10)
            _default_pod_spec(spec.setdefault("template", {}).setdefault("spec", {}))
            if rtype.plural == "deployments":
                spec.setdefault("strategy", {"type": "RollingUpdate",
                                             "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
                spec.setdefault("progressDeadlineSeconds", 600)
            elif rtype.plural == "statefulsets":
                spec.setdefault("podManagementPolicy", "OrderedReady")
                spec.setdefault("serviceName", "")
                spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
            elif rtype.plural == "daemonsets":
                spec.setdefault("updateStrategy", {"type": "RollingUpdate",
                                                   "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
            obj.setdefault("status", {"replicas": 0} if rtype.plural != "daemonsets" else {
                "currentNumberScheduled": 0, "desiredNumberScheduled": 0, "numberMisscheduled": 0,
                "numberReady": 0})
        elif rtype.plural == "jobs":
            # batch/v1 defaults (pkg/apis/batch/v1/defaults.go SetDefaults_Job); what the fake does not model
            # (indexed completion, pod failure policy, suspend, parallelism > 1) is refused in _validate.
            spec.setdefault("completions", 1)
            spec.setdefault("parallelism", 1)
            spec.setdefault("backoffLimit", 6)
            spec.setdefault("completionMode", "NonIndexed")
            template_spec = spec.setdefault("template", {}).setdefault("spec", {})
            _default_pod_spec(template_spec)
            obj.setdefault("status", {})
        elif rtype.plural == "persistentvolumeclaims":
            obj.setdefault("status", {"phase": "Pending"})
        elif rtype.plural == "persistentvolumes":
            obj.setdefault("status", {"phase": "Available"})
        elif rtype.plural == "poddisruptionbudgets":
            # PrepareForCreate: an empty status (observedGeneration 0 < generation 1: evictions answer "still
            # being processed" until the disruption controller has synced it).
            obj.setdefault("status", {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0,
                                      "expectedPods": 0})

    @staticmethod
    def _validate(rtype: ResourceType, obj: dict) -> None:
        name = obj["metadata"].get("name", "")
        spec = obj.get("spec") or {}
        if rtype.plural in ("deployments", "replicasets", "statefulsets", "daemonsets", "podsets"):
            selector = spec.get("selector")
            if not selector:
                raise Invalid.of(rtype.kind, name, "spec.selector", "Required value", rtype.group)
            labels = (spec.get("template", {}).get("metadata") or {}).get("labels")
            if not selector_matches(selector, labels):
                raise Invalid.of(rtype.kind, name, "spec.template.metadata.labels",
                                 f"Invalid value: {json.dumps(labels)}: `selector` does not match template `labels`",
                                 rtype.group)
            if not spec.get("template", {}).get("spec", {}).get("containers"):
                raise Invalid.of(rtype.kind, name, "spec.template.spec.containers", "Required value", rtype.group)
            if isinstance(spec.get("replicas"), int) and spec["replicas"] < 0:
                raise Invalid.of(rtype.kind, name, "spec.replicas", "must be greater than or equal to 0",
                                 rtype.group)
        elif rtype.plural == "pods" and not spec.get("containers"):
            raise Invalid.of("Pod", name, "spec.containers", "Required value")
        elif rtype.plural == "jobs":
            template = spec.get("template") or {}
            if template.get("spec", {}).get("restartPolicy") not in ("Never", "OnFailure"):
                raise Invalid.of("Job", name, "spec.template.spec.restartPolicy",
                                 'Required value: valid values: "OnFailure", "Never"', "batch")
            if not template.get("spec", {}).get("containers"):
                raise Invalid.of("Job", name, "spec.template.spec.containers", "Required value", "batch")
            unmodelled = [k for k, ok in (("parallelism", spec.get("parallelism") == 1),
                                          ("completionMode", spec.get("completionMode") == "NonIndexed"),
                                          ("suspend", not spec.get("suspend")),
                                          ("podFailurePolicy", "podFailurePolicy" not in spec)) if not ok]
            if unmodelled:
                raise BadRequest(f"the sandbox's Job controller models parallelism 1, NonIndexed completion, no "
                                 f"suspend and no podFailurePolicy; refusing spec.{unmodelled[0]}")
        errors = {"nodes": node_errors, "poddisruptionbudgets": pdb_errors}.get(rtype.plural, lambda _: [])(obj)
        if rtype.plural == "pods":
            errors = toleration_errors(spec.get("tolerations") or [], "spec.tolerations")
        if errors:
            raise Invalid.fields(rtype.kind, rtype.group, name, errors)


def _default_pod_spec(spec: dict) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    for container in spec.get("containers") or []:
        container.setdefault("imagePullPolicy", "IfNotPresent")
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        container.setdefault("resources", {})


def _qos_class(spec: dict) -> str:
    containers = spec.get("containers") or []
    resources = [c.get("resources") or {} for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    if all(r.get("limits") and r.get("requests", r.get("limits")) == r.get("limits") for r in resources):
        return "Guaranteed"
    return "Burstable"


def _pin_resource_version(options: DeleteOptions, pod: dict) -> DeleteOptions:
    """setPreconditionsResourceVersion: the delete goes through only if the pod is still the one judged."""
    pinned = dataclasses.replace(options.preconditions, resource_version=pod["metadata"]["resourceVersion"])
    return dataclasses.replace(options, preconditions=pinned)


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _ip_from_name(name: str) -> str | None:
    match = re.match(r"^ip-(\d+)-(\d+)-(\d+)-(\d+)\b", name)
    return ".".join(match.groups()) if match else None


__all__ = ["FakeCluster", "ApiError", "READY_SECONDS_ANNOTATION", "NOT_READY_TAINT"]
