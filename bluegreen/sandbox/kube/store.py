"""The cluster store's public interface: what the controllers may use of the fake cluster.

``controllers.py`` is written against ``ClusterStore`` only and never imports ``cluster.py``;
``FakeCluster`` implements it. Stored objects handed out here are the store's own dicts (not
copies): a controller that changes one writes through ``set_status``/``set_field`` or calls
``touch`` afterwards, so resourceVersions move exactly when something changed. Everything runs
under the cluster's lock (controllers run only inside ``FakeCluster.advance``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from bluegreen.sandbox.kube.measurements import Measurements, PodRef

#: Pod (template) annotation: seconds from container start until the pod is Ready (the scenario's ready_seconds).
READY_SECONDS_ANNOTATION = "sandbox.bluegreen.io/ready-seconds"
#: Pod (template) annotation: the pod never becomes Ready on a node whose IMAGE_LABEL is this AMI (the scenario's
#: ``never_ready_after_move`` / ``unready_before_move`` faults: "this AMI breaks that app").
NEVER_READY_ON_IMAGE_ANNOTATION = "sandbox.bluegreen.io/never-ready-on-image"
#: Pod (template) annotation: seconds a Job's pod runs once Ready, then its container exits 0 (``run_seconds``).
RUN_SECONDS_ANNOTATION = "sandbox.bluegreen.io/run-seconds"
#: Node label EKS sets from the node group's AMI; the sandbox sets it from the instance's AMI.
IMAGE_LABEL = "eks.amazonaws.com/nodegroup-image"


@dataclass(frozen=True)
class ClusterTiming:
    """How long the steps between a pod's creation and its readiness, and a node's failure detection, take.

    Scenario key ``timing`` (docs/sandbox.md). A pod is Pending (unbound) until the scheduler binds it,
    then ContainerCreating (image pull and container start), then Running and not Ready until its
    readiness delay (the workload's ``ready_seconds``) has passed since the container started.
    """

    # Seconds from a pod's creation until the scheduler may bind it. The scheduler acts at the earliest on
    # the tick after the pod was created, so a new pod is always seen Pending at least once.
    schedule_seconds: float = 0.0
    # Seconds from binding until the container runs (image pull + container start): ContainerCreating. The
    # kubelet starts containers on a tick after the one that admitted the pod, so the state is always seen.
    container_start_seconds: float = 1.0
    # kube-controller-manager --node-monitor-grace-period: a node whose kubelet has not reported for this long
    # gets Ready=Unknown, the unreachable taints, and its pods marked not Ready.
    node_monitor_grace_seconds: float = 40.0
    # kube-apiserver --default-not-ready-toleration-seconds / --default-unreachable-toleration-seconds:
    # the tolerationSeconds the DefaultTolerationSeconds admission plugin gives every pod.
    default_toleration_seconds: int = 300


@dataclass
class NodeRuntime:
    """What the node's kubelet is doing, which the API object shows only through the node lifecycle controller."""

    heartbeat_at: float  # the last time the kubelet reported (its Lease renewal)
    kubelet_running: bool = True


@dataclass
class PodRuntime:
    """What the kubelet knows about a pod and the API object does not show."""

    created_at: float
    started_at: float | None = None
    delete_at: float | None = None
    # Simulated second the scheduler first saw the pod pending (None: not yet seen).
    queued_at: float | None = None
    # Simulated second the kubelet admitted the bound pod and began pulling its image (None: not yet).
    admitted_at: float | None = None
    # Simulated second the pod's Ready condition last turned True (for minReadySeconds).
    ready_at: float | None = None


class ClusterStore(Protocol):
    """The store as the controllers see it."""

    now: float
    placement: str
    measurements: Measurements
    timing: ClusterTiming

    # -- reading stored objects (the store's own dicts, not copies) --------------------------------
    def objects(self, resource: str, namespace: str | None = None) -> list[dict]:
        """Stored objects of ``resource`` (a plural) in creation order, optionally of one namespace."""
        ...

    def lookup(self, resource: str, namespace: str | None, name: str) -> dict | None:
        """The stored object, or None."""
        ...

    # -- writing ------------------------------------------------------------------------------------
    def create(self, resource: str, namespace: str | None, body: dict) -> dict:
        ...

    def set_status(self, obj: dict, status: dict) -> bool:
        ...

    def set_field(self, obj: dict, path: tuple[str, ...], value: Any) -> bool:
        ...

    def touch(self, obj: dict) -> None:
        """A stored object was changed in place: give it a new resourceVersion."""
        ...

    def delete_pod(self, pod: dict, grace_seconds: int | None, how: str) -> dict:
        """Delete a stored pod as the API does (graceful when bound), recording ``how`` it went."""
        ...

    def remove_pod(self, pod: dict) -> None:
        """The pod object is gone from the store (the kubelet confirmed termination, or GC)."""
        ...

    def take_pod_changes(self) -> dict[str, dict | None]:
        """Pods created, written or removed since the last call (uid -> stored pod, None when gone)."""
        ...

    def terminating_pods(self) -> list[dict]:
        """Stored pods whose grace period is running."""
        ...

    def record_event(self, obj: dict, reason: str, message: str, *, event_type: str = "Normal",
                     component: str = "sandbox") -> None:
        ...

    # -- identity, time and runtime -----------------------------------------------------------------
    def timestamp(self, at: float | None = None) -> str:
        ...

    def random_suffix(self, length: int = 5) -> str:
        ...

    def template_hash(self, template: dict) -> str:
        ...

    def next_pod_ip(self) -> str:
        ...

    def node_order(self, name: str) -> int:
        ...

    def runtime(self, pod: dict) -> PodRuntime:
        ...

    def node_runtime(self, name: str) -> NodeRuntime:
        ...

    def pod_ref(self, pod: dict) -> PodRef:
        ...
