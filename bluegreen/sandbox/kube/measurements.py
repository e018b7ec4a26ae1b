"""What the sandbox observes while a cutover runs: availability per workload, pod moves, lost pods.

The cluster calls the ``on_*`` hooks as things happen and ``sample`` on every advance; nothing is
recorded before ``start``. ``summary`` is the plain dict the rehearse report embeds.

This module is the independent oracle of every budget claim: it imports nothing from the engine
(``bluegreen.engine``) nor from the fake's disruption controller, and judges how many Ready pods a
workload must keep (``required_ready``) from the objects themselves — the PDB specs that select the
workload's pods, else the workload's own rolling-update maxUnavailable.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass, field, fields


@dataclass(frozen=True)
class WorkloadAvailability:
    """One workload at one instant: how many of its pods are Ready against what it wants and its budget."""

    key: str  # "namespace/name"
    kind: str
    desired: int
    ready: int
    budget: int


def required_ready(kind: str, workload_spec: dict, desired: int, pdb_specs: list[dict]) -> int:
    """The fewest Ready pods a workload of ``desired`` pods may have at any instant.

    With PodDisruptionBudgets: the strictest of them — minAvailable as an int, or its percentage of
    ``desired`` rounded up; maxUnavailable (int, or percentage rounded up) taken off ``desired``. Without
    one, the implicit budget (docs/engine.md): one Ready pod down at a time, or the workload's own rolling-update
    maxUnavailable (percentages rounded down, as a Deployment rounds them), never less than one.
    """
    if pdb_specs:
        return max(max(_pdb_floor(spec, desired) for spec in pdb_specs), 0)
    return max(desired - _implicit_allowance(kind, workload_spec, desired), 0)


def _pdb_floor(spec: dict, desired: int) -> int:
    if spec.get("maxUnavailable") is not None:
        return desired - _int_or_percent(spec["maxUnavailable"], desired, round_up=True)
    if spec.get("minAvailable") is not None:
        return _int_or_percent(spec["minAvailable"], desired, round_up=True)
    return 0


def _implicit_allowance(kind: str, workload_spec: dict, desired: int) -> int:
    if kind == "DaemonSet":
        return 1
    strategy = workload_spec.get("strategy") if kind == "Deployment" else workload_spec.get("updateStrategy")
    value = ((strategy or {}).get("rollingUpdate") or {}).get("maxUnavailable")
    return 1 if value is None else max(1, _int_or_percent(value, desired, round_up=False))


def _int_or_percent(value: int | str, total: int, *, round_up: bool) -> int:
    if isinstance(value, int):
        return value
    if value.endswith("%"):
        exact = int(value[:-1]) * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(value)


@dataclass(frozen=True)
class PodRef:
    """Enough of a pod to report on it after it is gone."""

    uid: str
    name: str
    namespace: str
    node: str
    workload: str | None  # "namespace/name" of its top controller; None for a bare pod
    workload_kind: str | None
    created_at: float = 0.0
    ever_ready: bool = True  # its Ready condition turned True at least once


@dataclass
class _PendingMove:
    pod: PodRef
    original: str  # name of the first pod of this lineage that was evicted
    original_uid: str
    at: float
    how: str


@dataclass
class Measurements:
    started_at: float | None = None
    lowest: dict[str, dict] = field(default_factory=dict)
    budget_violations: list[dict] = field(default_factory=list)
    pods_evicted: int = 0
    pods_deleted: int = 0
    pods_killed_by_node_removal: int = 0
    evictions_refused: int = 0
    pod_moves: list[dict] = field(default_factory=list)
    bare_pods_lost: list[str] = field(default_factory=list)
    daemonset_pods_ended: list[str] = field(default_factory=list)
    _pending: dict[str, deque] = field(default_factory=dict)  # workload -> pods awaiting a Ready replacement
    _lineage: dict[str, tuple[str, str]] = field(default_factory=dict)  # pod uid -> (original name, original uid)
    _evicted_originals: set[str] = field(default_factory=set)
    _violating: set[str] = field(default_factory=set)
    _first_ready: dict[str, int] = field(default_factory=dict)  # workload -> Ready pods when recording began
    moves_settled_whole: int = 0  # removed pods owed no replacement: their workload was whole again without one
    # Ready Deployment pods their own controller removed from a cordoned node: a rolling update (a surge move)
    # started their replacement first. Not evictions, not disruptions; counted apart.
    surge_moves: list[dict] = field(default_factory=list)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    @property
    def recording(self) -> bool:
        return self.started_at is not None

    def start(self, now: float, workloads: list[WorkloadAvailability] | None = None) -> None:
        """Forget everything seen so far and record from ``now`` on; ``workloads``: their availability now (a
        workload already below its budget then is charged only when it drops lower still)."""
        with self._lock:
            fresh = Measurements()
            for f in fields(self):
                if f.name != "_lock":
                    setattr(self, f.name, getattr(fresh, f.name))
            self.started_at = now
            self._first_ready = {w.key: w.ready for w in workloads or []}

    # --- hooks the cluster calls -------------------------------------------------------------
    def on_pod_gone(self, pod: PodRef, how: str, now: float) -> None:
        """A pod was evicted ("evicted"), deleted through the API ("deleted") or died with its node."""
        with self._lock:
            if not self.recording:
                return
            if how == "evicted":
                self.pods_evicted += 1
            elif how == "deleted":
                self.pods_deleted += 1
            else:
                self.pods_killed_by_node_removal += 1
            if pod.workload is None:
                self.bare_pods_lost.append(f"{pod.namespace}/{pod.name}")
                return
            if pod.workload_kind == "DaemonSet" and how == "node_removed":
                # A DaemonSet pod ends with its node by design; no replacement elsewhere is owed.
                self.daemonset_pods_ended.append(f"{pod.namespace}/{pod.name}")
                return
            queue = self._pending.get(pod.workload)
            if not pod.ever_ready and queue and queue[0].at <= pod.created_at:
                # A replacement that never became Ready went too (a rollback took it back): the move it was to
                # finish still waits for a Ready pod; it is not a second pod owed.
                return
            original, original_uid = self._lineage.get(pod.uid, (pod.name, pod.uid))
            if how == "evicted":
                self._evicted_originals.add(original_uid)
            self._pending.setdefault(pod.workload, deque()).append(
                _PendingMove(pod, original, original_uid, now, how)
            )

    def on_pod_scaled_down(self, pod: PodRef, now: float, *, node_cordoned: bool) -> None:
        """A controller removed one of its own pods (a scale-down, a rolling update's old pod). One of a Deployment,
        once Ready, on a cordoned node is a surge move: its rolling update moved it off the node being emptied."""
        with self._lock:
            if not self.recording or pod.workload_kind != "Deployment" or not node_cordoned or not pod.ever_ready:
                return
            self.surge_moves.append({"pod": f"{pod.namespace}/{pod.name}", "workload": pod.workload,
                                     "from_node": pod.node, "at": round(now, 3)})

    def on_eviction_refused(self) -> None:
        with self._lock:
            if self.recording:
                self.evictions_refused += 1

    def on_pod_ready(self, pod: PodRef, now: float) -> None:
        """A pod became Ready: it replaces the oldest pod of its workload still waiting for one."""
        with self._lock:
            if not self.recording or pod.workload is None:
                return
            queue = self._pending.get(pod.workload)
            if not queue or pod.created_at < queue[0].at:
                return  # not a replacement: it existed before any of its workload's pods went away
            move = queue.popleft()
            self._lineage[pod.uid] = (move.original, move.original_uid)
            self.pod_moves.append({
                "pod": f"{move.pod.namespace}/{move.pod.name}",
                "original": f"{move.pod.namespace}/{move.original}",
                "workload": pod.workload,
                "how": move.how,
                "from_node": move.pod.node,
                "replacement": f"{pod.namespace}/{pod.name}",
                "to_node": pod.node,
                "seconds": round(now - move.at, 3),
            })

    def sample(self, now: float, workloads: list[WorkloadAvailability]) -> None:
        with self._lock:
            if not self.recording:
                return
            for w in workloads:
                entry = self.lowest.get(w.key)
                if entry is None or w.ready < entry["lowest_ready"]:
                    self.lowest[w.key] = {"kind": w.kind, "lowest_ready": w.ready, "desired": w.desired,
                                          "budget": w.budget, "at": round(now, 3)}
                elif w.ready == entry["lowest_ready"]:
                    entry["desired"], entry["budget"] = w.desired, w.budget
                # A workload already below its budget when recording began (pods that were never Ready) is charged
                # only when it drops lower still: evicting an unready pod costs no availability (as the eviction
                # handler sees it: a PDB counts healthy pods only).
                floor = min(w.budget, self._first_ready.get(w.key, w.budget))
                if w.ready < floor:
                    if w.key not in self._violating:
                        self._violating.add(w.key)
                        self.budget_violations.append({"workload": w.key, "kind": w.kind, "time": round(now, 3),
                                                       "ready": w.ready, "budget": w.budget})
                else:
                    self._violating.discard(w.key)
                queue = self._pending.get(w.key)
                if queue and w.ready >= w.desired:
                    # Whole again with no pod created after the removal turning Ready: a rollout's new pods (created
                    # before it, surge) took the removed pod's place. Nothing is owed, nothing was lost.
                    self.moves_settled_whole += len(queue)
                    queue.clear()

    # --- report ---------------------------------------------------------------------------------
    def summary(self) -> dict:
        with self._lock:
            lost = [f"{m.pod.namespace}/{m.pod.name}" for queue in self._pending.values() for m in queue]
            distinct = len(self._evicted_originals)
            return {
                "started_at": self.started_at,
                "lowest_availability": {k: dict(v) for k, v in sorted(self.lowest.items())},
                "budget_violations": list(self.budget_violations),
                "pods_evicted": self.pods_evicted,
                "pods_deleted": self.pods_deleted,
                "pods_killed_by_node_removal": self.pods_killed_by_node_removal,
                "pod_moves": list(self.pod_moves),
                "pod_moves_per_evicted_pod": round(self.pods_evicted / distinct, 4) if distinct else 0.0,
                "pods_lost": sorted(lost + self.bare_pods_lost),
                "daemonset_pods_ended": sorted(self.daemonset_pods_ended),
                "pods_awaiting_replacement": len(lost),
                "evictions_refused": self.evictions_refused,
                "moves_settled_whole": self.moves_settled_whole,
                "pods_moved_by_surge": len(self.surge_moves),
                "surge_moves": [dict(m) for m in self.surge_moves],
            }
