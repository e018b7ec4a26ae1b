"""Indexes of the stored pods that the controllers keep from tick to tick, so no loop scans every pod.

The store records which pods changed (created, written, removed) since the controllers last
looked (``ClusterStore.take_pod_changes``); at the start of a tick, and again after the kubelet
has run, the controllers re-file only those pods. Every control loop then reads the buckets it
needs: pods of an owner, of a node, of a namespace, the pending ones, the ones the kubelet has not
finished starting, and which are Ready. A tick over 3,000 unchanged pods therefore costs the
controllers' work on the changed pods only (bench/tick_cost.py measures it).

Buckets are dicts keyed by pod uid, in the order pods were filed into them. Pods with the same
labels in a namespace share a ``LabelGroup``, so a PodDisruptionBudget's selector is matched once
per group rather than once per pod; a group's ``version`` moves whenever one of its pods changes.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from bluegreen.sandbox.kube.scheduler import pod_requests


def pod_ready(pod: dict) -> bool:
    """podutil.IsPodReady: the Ready condition is True."""
    for condition in pod.get("status", {}).get("conditions") or ():
        if condition.get("type") == "Ready":
            return condition.get("status") == "True"
    return False


def controller_uid(pod: dict) -> str | None:
    for ref in pod["metadata"].get("ownerReferences") or ():
        if ref.get("controller"):
            return ref.get("uid")
    return None


@dataclass
class LabelGroup:
    """Pods of one namespace that carry exactly the same labels."""

    labels: dict[str, str]
    pods: dict[str, dict] = field(default_factory=dict)
    version: int = 0
    serial: int = field(default_factory=lambda: next(_SERIALS))  # unique for the process's lifetime


_SERIALS = itertools.count()


@dataclass(frozen=True)
class _Filing:
    """Where one pod is filed."""

    namespace: str
    owner: str | None
    node: str
    labels: frozenset
    state: str  # "pending" (unbound, active), "starting" (bound, active, not Ready), "ready", "inactive"


def _filing(pod: dict) -> _Filing:
    metadata = pod["metadata"]
    node = pod["spec"].get("nodeName") or ""
    if metadata.get("deletionTimestamp") or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        state = "inactive"
    elif not node:
        state = "pending"
    elif pod_ready(pod):
        state = "ready"
    else:
        state = "starting"
    return _Filing(metadata.get("namespace") or "", controller_uid(pod), node,
                   frozenset((metadata.get("labels") or {}).items()), state)


@dataclass
class PodIndex:
    by_owner: dict[str, dict[str, dict]] = field(default_factory=dict)  # controller uid -> pods
    by_node: dict[str, dict[str, dict]] = field(default_factory=dict)  # nodeName -> pods
    by_namespace: dict[str, dict[str, dict]] = field(default_factory=dict)
    label_groups: dict[str, dict[frozenset, LabelGroup]] = field(default_factory=dict)  # namespace -> groups
    pending: dict[str, dict] = field(default_factory=dict)  # unbound, active
    starting: dict[str, dict] = field(default_factory=dict)  # bound, active, not Ready yet
    ready: set[str] = field(default_factory=set)  # uids of Ready pods (terminating ones included)
    inactive: set[str] = field(default_factory=set)  # uids of terminating or terminal pods
    requests: dict[str, tuple[int, int]] = field(default_factory=dict)  # uid -> (millicores, bytes)
    active_count: dict[str, int] = field(default_factory=dict)  # controller uid -> pods not terminating/terminal
    healthy_count: dict[str, int] = field(default_factory=dict)  # controller uid -> of those, Ready
    _filed: dict[str, _Filing] = field(default_factory=dict)

    def apply(self, changes: dict[str, dict | None]) -> None:
        """Re-file the pods that changed (None: the pod is gone)."""
        for uid, pod in changes.items():
            if pod is None:
                self.drop(uid)
            else:
                self.file(pod)

    def file(self, pod: dict) -> None:
        """Put a new or changed pod into the buckets it belongs to now."""
        uid = pod["metadata"]["uid"]
        new = _filing(pod)
        old = self._filed.get(uid)
        if old is not None and old != new:
            self.drop(uid)
            old = None
        if old is None:
            self._filed[uid] = new
            if new.owner is not None:
                self.by_owner.setdefault(new.owner, {})[uid] = pod
            if new.node:
                self.by_node.setdefault(new.node, {})[uid] = pod
            self.by_namespace.setdefault(new.namespace, {})[uid] = pod
            groups = self.label_groups.setdefault(new.namespace, {})
            group = groups.get(new.labels)
            if group is None:
                group = groups[new.labels] = LabelGroup(dict(new.labels))
            group.pods[uid] = pod
            self.requests[uid] = pod_requests(pod["spec"])
            if new.state == "pending":
                self.pending[uid] = pod
            elif new.state == "starting":
                self.starting[uid] = pod
            if new.state == "inactive":
                self.inactive.add(uid)
            elif new.owner is not None:
                self.active_count[new.owner] = self.active_count.get(new.owner, 0) + 1
                if new.state == "ready":
                    self.healthy_count[new.owner] = self.healthy_count.get(new.owner, 0) + 1
        ready = pod_ready(pod)  # a terminating pod may still be Ready
        if ready:
            self.ready.add(uid)
        else:
            self.ready.discard(uid)
        self.label_groups[new.namespace][new.labels].version += 1

    def drop(self, uid: str) -> None:
        old = self._filed.pop(uid, None)
        if old is None:
            return
        for buckets, key in ((self.by_owner, old.owner), (self.by_node, old.node),
                             (self.by_namespace, old.namespace)):
            bucket = buckets.get(key) if key else None
            if bucket is not None:
                bucket.pop(uid, None)
                if not bucket:
                    del buckets[key]  # type: ignore[arg-type]
        group = self.label_groups.get(old.namespace, {}).get(old.labels)
        if group is not None:
            group.pods.pop(uid, None)
            group.version += 1
            if not group.pods:
                del self.label_groups[old.namespace][old.labels]
        if old.owner is not None and old.state != "inactive":
            self.active_count[old.owner] -= 1
            if old.state == "ready":
                self.healthy_count[old.owner] -= 1
        self.pending.pop(uid, None)
        self.starting.pop(uid, None)
        self.ready.discard(uid)
        self.inactive.discard(uid)
        self.requests.pop(uid, None)

    # -- reading ------------------------------------------------------------------------------------
    def owned(self, owner_uid: str) -> list[dict]:
        return list(self.by_owner.get(owner_uid, {}).values())

    def active_owned(self, owner_uid: str) -> list[dict]:
        """Pods of the owner that count as its replicas (not terminating, not terminal)."""
        return [p for uid, p in self.by_owner.get(owner_uid, {}).items() if uid not in self.inactive]

    def on_node(self, node: str) -> list[dict]:
        return list(self.by_node.get(node, {}).values())
