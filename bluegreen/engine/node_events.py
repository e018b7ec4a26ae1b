"""Kubernetes Events on the nodes a cutover touches, so `kubectl get events` and `kubectl describe node` show it.

Each progress event that names a node (cordoned, drain started, drained, uncordoned) becomes a core/v1 Event on that
node: reason ``BlueGreenCordon``, ``BlueGreenDrain``, ``BlueGreenDrained``, ``BlueGreenUncordon`` (``BlueGreenRollback``
for every step of a rollback), source component ``eks-bluegreen``. Like the kubelet's node events
(k8s.io/kubernetes pkg/kubelet/kubelet.go, ``nodeRef`` with ``UID: types.UID(nodeName)``) the involved object's UID
is the node's name and the Event lives in the ``default`` namespace; kubectl's node describer
(k8s.io/kubectl pkg/describe/describe.go, ``NodeDescriber.Describe``) searches by the node's name as UID too.

Events are visibility only: a failed post is counted and never stops a cutover.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bluegreen.engine.progress import (
    Event,
    NodeCordoned,
    NodeDrained,
    NodeDrainStarted,
    NodesUncordoned,
    RollbackFinished,
    RollbackStarted,
)

#: The Event's source component (``source.component``, ``reportingComponent``).
COMPONENT = "eks-bluegreen"
#: Where node Events live (nodes are cluster-scoped; the kubelet's go to "default").
EVENT_NAMESPACE = "default"
ROLLBACK_REASON = "BlueGreenRollback"


@dataclass(frozen=True)
class NodeEvent:
    node: str
    reason: str
    message: str
    type: str = "Normal"  # Normal | Warning


def node_events(event: Event, rolling_back: bool) -> list[NodeEvent]:
    """The Kubernetes Events one progress event makes (none for events that name no node)."""
    found: list[NodeEvent] = []
    if isinstance(event, NodeCordoned):
        found.append(NodeEvent(event.node, "BlueGreenCordon", "Cordoned by eks-bluegreen before its drain"))
    elif isinstance(event, NodeDrainStarted):
        found.append(NodeEvent(event.node, "BlueGreenDrain",
                               f"Draining ({event.index}/{event.total}): {event.pods} pod(s) to evict"))
    elif isinstance(event, NodeDrained):
        found.append(NodeEvent(event.node, "BlueGreenDrained",
                               f"Drained ({event.index}/{event.total}): {event.pods_evicted} pod(s) moved in "
                               f"{event.seconds:.0f}s"))
    elif isinstance(event, NodesUncordoned):
        found += [NodeEvent(n, "BlueGreenUncordon", f"Uncordoned by eks-bluegreen: {event.reason}")
                  for n in event.nodes]
    if rolling_back:
        found = [NodeEvent(e.node, ROLLBACK_REASON, f"Rollback: {e.message}", "Warning") for e in found]
    return found


def event_body(event: NodeEvent, now: datetime) -> dict:
    """The core/v1 Event for ``event`` (a generated name: the API server makes it unique)."""
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"generateName": f"{event.node}.", "namespace": EVENT_NAMESPACE},
        "involvedObject": {"apiVersion": "v1", "kind": "Node", "name": event.node, "uid": event.node},
        "reason": event.reason, "message": event.message, "type": event.type,
        "source": {"component": COMPONENT}, "reportingComponent": COMPONENT, "reportingInstance": COMPONENT,
        "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
    }


class NodeEventRecorder:
    """A Reporter that posts each node-naming progress event as a Kubernetes Event (best effort)."""

    def __init__(self, kube) -> None:
        self.kube = kube
        self.rolling_back = False
        self.posted = 0
        self.failed = 0

    def emit(self, event: Event) -> None:
        if isinstance(event, RollbackStarted):
            self.rolling_back = True
        for item in node_events(event, self.rolling_back):
            try:
                self.kube.request("POST", f"/api/v1/namespaces/{EVENT_NAMESPACE}/events",
                                  body=event_body(item, datetime.now(UTC)))
                self.posted += 1
            except Exception:  # noqa: BLE001 - an Event is visibility only; it never stops a cutover
                self.failed += 1
        if isinstance(event, RollbackFinished):
            self.rolling_back = False
