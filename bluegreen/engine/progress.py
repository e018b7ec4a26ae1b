"""Progress of a cutover as typed events, delivered to an injected reporter.

The engine never prints: it emits events. ``PrintReporter`` turns them into
concise lines for a terminal or a ``pulumi up`` log, ``CollectingReporter``
keeps them for reports and tests, ``FanOutReporter`` sends each to several.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import asdict, dataclass
from typing import Protocol, TextIO

from bluegreen.engine.clock import Clock, SystemClock


@dataclass(frozen=True)
class Event:
    def line(self) -> str:
        return type(self).__name__

    def to_dict(self) -> dict:
        return {"event": type(self).__name__, **asdict(self)}


@dataclass(frozen=True)
class GateWaiting(Event):
    gate: str  # "nodes-ready" | "load-balancers"
    group: str
    satisfied: int
    total: int
    waiting_on: tuple[str, ...]

    def line(self) -> str:
        shown = "; ".join(self.waiting_on[:3]) + (" ..." if len(self.waiting_on) > 3 else "")
        return f"{self.gate} {self.group}: {self.satisfied}/{self.total} ready, waiting: {shown}"


@dataclass(frozen=True)
class GatePassed(Event):
    gate: str
    group: str
    count: int
    waited_s: float

    def line(self) -> str:
        return f"{self.gate} {self.group}: passed ({self.count} instance(s), waited {self.waited_s:.0f}s)"


@dataclass(frozen=True)
class PreflightChecked(Event):
    old_nodes: int
    pods_to_move: int
    blockers: int

    def line(self) -> str:
        return (
            f"preflight: {self.old_nodes} old node(s), {self.pods_to_move} pod(s) to move, "
            f"{self.blockers} blocker(s)"
        )


@dataclass(frozen=True)
class GroupGuarded(Event):
    old_group: str
    protected_nodes: int

    def line(self) -> str:
        return (
            f"guard: {self.old_group} cannot launch; {self.protected_nodes} new node(s) protected from "
            "autoscaler scale-down"
        )


@dataclass(frozen=True)
class GroupUnguarded(Event):
    old_group: str

    def line(self) -> str:
        return f"guard lifted: {self.old_group} may launch again; new nodes no longer protected"


@dataclass(frozen=True)
class NodeCordoned(Event):
    node: str

    def line(self) -> str:
        return f"cordoned {self.node}"


@dataclass(frozen=True)
class NodesCordoned(Event):
    count: int

    def line(self) -> str:
        return f"cordoned all {self.count} old node(s)"


@dataclass(frozen=True)
class NodesUncordoned(Event):
    color: str
    nodes: tuple[str, ...]
    reason: str

    def line(self) -> str:
        shown = ", ".join(self.nodes[:5]) + (" ..." if len(self.nodes) > 5 else "")
        return f"uncordoned {len(self.nodes)} {self.color} node(s) ({shown}): {self.reason}"


@dataclass(frozen=True)
class DrainVerified(Event):
    old_nodes: int
    workloads: int

    def line(self) -> str:
        return (f"verified: {self.old_nodes} old node(s) hold no pod to move, {self.workloads} workload(s) at their "
                "desired ready count, none Pending")


@dataclass(frozen=True)
class NodeDrainStarted(Event):
    node: str
    index: int
    total: int
    pods: int

    def line(self) -> str:
        return f"draining {self.node} ({self.index}/{self.total}): {self.pods} pod(s) to evict"


@dataclass(frozen=True)
class PodEvicted(Event):
    pod: str
    node: str
    workload: str

    def line(self) -> str:
        return f"evicted {self.pod} ({self.workload}) from {self.node}"


@dataclass(frozen=True)
class PodForced(Event):
    pod: str
    node: str
    pdb: str | None

    def line(self) -> str:
        return f"FORCED: deleted {self.pod} from {self.node} past budget {self.pdb or '(implicit)'}"


@dataclass(frozen=True)
class EvictionRefused(Event):
    pod: str
    pdb: str | None
    attempts: int
    waited_s: float

    def line(self) -> str:
        return f"budget {self.pdb or '(implicit)'} blocks {self.pod} (attempt {self.attempts}, {self.waited_s:.0f}s)"


@dataclass(frozen=True)
class PodStuckTerminating(Event):
    """An evicted pod still present after its grace period plus a margin: named once, with what holds it."""

    pod: str
    node: str
    waited_s: float
    finalizers: tuple[str, ...]
    node_state: str

    def line(self) -> str:
        held = f"finalizers {', '.join(self.finalizers)}" if self.finalizers else "no finalizers"
        return (f"pod {self.pod} still Terminating {self.waited_s:.0f}s after its eviction ({held}; node "
                f"{self.node} {self.node_state})")


@dataclass(frozen=True)
class DeleteNotAwaited(Event):
    """Evicted pods on an old node that is NotReady or unreachable: no kubelet will confirm their deletion, so
    the drain does not wait for it (kubectl drain --skip-wait-for-delete-timeout)."""

    node: str
    node_state: str
    pods: tuple[str, ...]

    def line(self) -> str:
        return (f"node {self.node} is {self.node_state}: not waiting for the deletion of {', '.join(self.pods)} "
                "(no kubelet to confirm it; they are left Terminating)")


@dataclass(frozen=True)
class WorkloadHealthy(Event):
    workload: str
    ready: int
    desired: int

    def line(self) -> str:
        return f"workload {self.workload} available again ({self.ready}/{self.desired})"


@dataclass(frozen=True)
class NodeDrained(Event):
    node: str
    index: int
    total: int
    pods_evicted: int
    seconds: float

    def line(self) -> str:
        return (
            f"drained {self.node} ({self.index}/{self.total}): {self.pods_evicted} pod(s) moved "
            f"in {self.seconds:.0f}s"
        )


@dataclass(frozen=True)
class PacedDrainStarted(Event):
    """The paced strategy, after its canary: every remaining old node drains at once, budget by budget."""

    nodes: int
    pods: int
    workloads: int

    def line(self) -> str:
        return (f"paced: evicting from {self.nodes} old node(s) at once, {self.pods} pod(s) of {self.workloads} "
                "workload(s), each workload in the waves its budget allows")


@dataclass(frozen=True)
class WaveEvicted(Event):
    """One workload's wave in the paced strategy: its next pods evicted, oldest node first."""

    workload: str
    wave: int
    pods: int
    nodes: int
    left: int  # its pods still to evict after this wave

    def line(self) -> str:
        return (f"wave {self.wave} of {self.workload}: {self.pods} pod(s) evicted from {self.nodes} node(s), "
                f"{self.left} left")


@dataclass(frozen=True)
class NodeAlreadyDrained(Event):
    node: str

    def line(self) -> str:
        return f"{self.node} already drained (earlier run)"


@dataclass(frozen=True)
class CanaryPause(Event):
    seconds: float

    def line(self) -> str:
        return f"canary pause {self.seconds:.0f}s after the first node"


@dataclass(frozen=True)
class SignalChecked(Event):
    when: str  # "before the first eviction", "after node x", "during the bake"
    failed: tuple[str, ...]  # each failed signal, described

    def line(self) -> str:
        if not self.failed:
            return f"health signals ok {self.when}"
        return f"health signal(s) FAILED {self.when}: " + "; ".join(self.failed)


@dataclass(frozen=True)
class BakeStarted(Event):
    seconds: float
    group: str

    def line(self) -> str:
        return f"bake: keeping {self.group} cordoned at its size for {self.seconds:.0f}s while the signals are watched"


@dataclass(frozen=True)
class BakeFinished(Event):
    seconds: float

    def line(self) -> str:
        return f"bake finished after {self.seconds:.0f}s, signals healthy"


@dataclass(frozen=True)
class RollbackStarted(Event):
    old_group: str
    new_group: str
    reason: str

    def line(self) -> str:
        return f"ROLLBACK: moving the workloads back from {self.new_group} onto {self.old_group} ({self.reason})"


@dataclass(frozen=True)
class RollbackFinished(Event):
    old_group: str
    pods_moved: int
    seconds: float

    def line(self) -> str:
        return (f"rollback finished: {self.pods_moved} pod(s) moved back onto {self.old_group} in "
                f"{self.seconds:.0f}s; it serves again")


@dataclass(frozen=True)
class DrainFinished(Event):
    nodes: int
    pods_evicted: int
    seconds: float

    def line(self) -> str:
        return f"drain finished: {self.nodes} node(s), {self.pods_evicted} pod(s) moved in {self.seconds:.0f}s"


@dataclass(frozen=True)
class GroupScaled(Event):
    group: str
    desired: int

    def line(self) -> str:
        return f"scaled {self.group} to {self.desired}"


@dataclass(frozen=True)
class Note(Event):
    text: str

    def line(self) -> str:
        return self.text


class Reporter(Protocol):
    def emit(self, event: Event) -> None: ...


class NullReporter:
    def emit(self, event: Event) -> None:
        pass


class CollectingReporter:
    """Keeps every event, in order (thread-safe: parallel node drains emit concurrently)."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._lock = threading.Lock()

    def emit(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)

    def of(self, kind: type[Event]) -> list[Event]:
        with self._lock:
            return [e for e in self.events if isinstance(e, kind)]


class PrintReporter:
    """One concise line per event, prefixed with elapsed time.

    A waiting line that says what the previous one said is dropped, unless ``heartbeat_s`` passed since it was
    printed: a long wait still shows a sign of life, without a line per poll.
    """

    def __init__(self, stream: TextIO | None = None, clock: Clock | None = None, prefix: str = "",
                 heartbeat_s: float = 60.0) -> None:
        self._stream = stream if stream is not None else sys.stdout
        self._clock = clock or SystemClock()
        self._start = self._clock.now()
        self._prefix = prefix
        self._heartbeat_s = heartbeat_s
        self._last_waiting: dict[tuple[str, str], tuple[str, float]] = {}
        self._lock = threading.Lock()

    def use_clock(self, clock: Clock) -> None:
        """Measure elapsed time on ``clock`` from now on (the rehearsal switches to simulated time)."""
        with self._lock:
            self._clock = clock
            self._start = clock.now()

    def emit(self, event: Event) -> None:
        text = event.line()
        with self._lock:
            now = self._clock.now()
            if isinstance(event, GateWaiting):
                key = (event.gate, event.group)
                last = self._last_waiting.get(key)
                if last is not None and last[0] == text and now - last[1] < self._heartbeat_s:
                    return
                self._last_waiting[key] = (text, now)
            elapsed = now - self._start
            self._stream.write(f"{self._prefix}[{elapsed:7.1f}s] {text}\n")
            self._stream.flush()


class FanOutReporter:
    """Sends each event to every reporter, in order; an exception from one stops the fan-out (crash injection)."""

    def __init__(self, *reporters: Reporter) -> None:
        self.reporters = list(reporters)

    def emit(self, event: Event) -> None:
        for reporter in self.reporters:
            reporter.emit(event)
