"""Placement check: would every pod to move fit on the new color's nodes, one node at a time?

The scheduler's filters (kube-scheduler v1.32, pkg/scheduler/framework/plugins) as pure functions over
plain data, and a first-fit-decreasing packing over them. Per node the filters run in the default profile's
order and the first one that rejects the pod gives the node's reasons (framework.RunFilterPlugins):

    NodeUnschedulable, TaintToleration, NodeAffinity, NodeResourcesFit, VolumeBinding, VolumeZone

A pod that fits nowhere gets the scheduler's own FitError text ("0/3 nodes are available: 3 Insufficient
cpu."), so the preflight says what a Pending replacement's event would have said, before any eviction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from bluegreen.engine.quantities import bytes_of, millicores

UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"
#: Node labels the VolumeZone plugin reads (pkg/scheduler/framework/plugins/volumezone: topologyLabels).
ZONE_LABELS = ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone")
REGION_LABELS = ("topology.kubernetes.io/region", "failure-domain.beta.kubernetes.io/region")
#: Tolerations the DaemonSet controller adds to every daemon pod
#: (pkg/controller/daemon/util/daemonset_util.go: AddOrUpdateDaemonPodTolerations).
DAEMON_TOLERATION_KEYS = (
    "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable", "node.kubernetes.io/disk-pressure",
    "node.kubernetes.io/memory-pressure", "node.kubernetes.io/pid-pressure", UNSCHEDULABLE_TAINT,
    "node.kubernetes.io/network-unavailable",
)

# The scheduler's reasons, word for word (v1.32).
REASON_UNSCHEDULABLE = "node(s) were unschedulable"  # nodeunschedulable.ErrReasonUnschedulable
REASON_AFFINITY = "node(s) didn't match Pod's node affinity/selector"  # nodeaffinity.ErrReasonPod
REASON_TOO_MANY_PODS = "Too many pods"  # noderesources fit.go
REASON_VOLUME_AFFINITY = "node(s) had volume node affinity conflict"  # volumebinding.ErrReasonNodeConflict
REASON_VOLUME_ZONE = "node(s) had no available volume zone"  # volumezone.ErrReasonConflict


def insufficient(resource: str) -> str:
    """noderesources fit.go: "Insufficient <resource name>"."""
    return f"Insufficient {resource}"


def untolerated(taint: Taint) -> str:
    """tainttoleration.Filter's reason for the first taint the pod does not tolerate."""
    return f"node(s) had untolerated taint {{{taint.key}: {taint.value}}}"


# --------------------------------------------------------------------------------------------------------------------
# The vocabulary: taints, tolerations, node selector terms


@dataclass(frozen=True)
class Taint:
    key: str
    value: str = ""
    effect: str = ""  # NoSchedule | PreferNoSchedule | NoExecute


@dataclass(frozen=True)
class Toleration:
    key: str = ""
    operator: str = "Equal"  # Equal | Exists
    value: str = ""
    effect: str = ""  # empty: every effect

    def tolerates(self, taint: Taint) -> bool:
        """v1.Toleration.ToleratesTaint (staging/src/k8s.io/api/core/v1/toleration.go)."""
        if self.effect and self.effect != taint.effect:
            return False
        if self.key and self.key != taint.key:
            return False
        if self.operator == "Exists":
            return True
        return self.operator in ("Equal", "") and self.value == taint.value


@dataclass(frozen=True)
class Requirement:
    """One NodeSelectorRequirement: a label (or field) key, an operator and its values."""

    key: str
    operator: str  # In | NotIn | Exists | DoesNotExist | Gt | Lt
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """k8s.io/component-helpers/scheduling/corev1/nodeaffinity: the requirement as a labels.Selector."""
        present = self.key in labels
        value = labels.get(self.key, "")
        if self.operator == "In":
            return present and value in self.values
        if self.operator == "NotIn":
            return not present or value not in self.values
        if self.operator == "Exists":
            return present
        if self.operator == "DoesNotExist":
            return not present
        if self.operator in ("Gt", "Lt") and present and len(self.values) == 1:
            try:
                have, bound = int(value), int(self.values[0])
            except ValueError:
                return False
            return have > bound if self.operator == "Gt" else have < bound
        return False


@dataclass(frozen=True)
class Term:
    """One NodeSelectorTerm: every expression and every field requirement must match; an empty term matches
    nothing (nodeaffinity.nodeSelectorTerms)."""

    expressions: tuple[Requirement, ...] = ()
    fields: tuple[Requirement, ...] = ()  # only metadata.name is a supported field

    def matches(self, labels: Mapping[str, str], name: str) -> bool:
        if not self.expressions and not self.fields:
            return False
        if not all(r.matches(labels) for r in self.expressions):
            return False
        return all(r.key == "metadata.name" and r.matches({"metadata.name": name}) for r in self.fields)


def terms_match(terms: Sequence[Term], labels: Mapping[str, str], name: str) -> bool:
    """A NodeSelector: the terms are ORed; no terms match no node."""
    return any(t.matches(labels, name) for t in terms)


def taints_from_json(items: Iterable[dict] | None) -> tuple[Taint, ...]:
    return tuple(Taint(t.get("key") or "", str(t.get("value") or ""), t.get("effect") or "") for t in items or [])


def tolerations_from_json(items: Iterable[dict] | None) -> tuple[Toleration, ...]:
    return tuple(Toleration(t.get("key") or "", t.get("operator") or "Equal", str(t.get("value") or ""),
                            t.get("effect") or "") for t in items or [])


def terms_from_json(selector: Mapping | None) -> tuple[Term, ...]:
    """A v1 NodeSelector ({"nodeSelectorTerms": [...]}) as Terms."""
    def requirements(items: Iterable[dict] | None) -> tuple[Requirement, ...]:
        return tuple(Requirement(r.get("key") or "", r.get("operator") or "", tuple(str(v) for v in r.get("values")
                                                                                    or ())) for r in items or [])
    return tuple(Term(requirements(t.get("matchExpressions")), requirements(t.get("matchFields")))
                 for t in (selector or {}).get("nodeSelectorTerms") or [])


# --------------------------------------------------------------------------------------------------------------------
# What a pod asks of a node, and what a node offers


@dataclass(frozen=True)
class PodConstraints:
    """Everything besides room that decides which nodes a pod may run on."""

    node_selector: tuple[tuple[str, str], ...] = ()
    required_terms: tuple[Term, ...] | None = None  # requiredDuringSchedulingIgnoredDuringExecution; None: unset
    tolerations: tuple[Toleration, ...] = ()
    claims: tuple[str, ...] = ()  # names of the PersistentVolumeClaims its volumes use


def constraints_from_json(spec: Mapping) -> PodConstraints:
    """The placement-relevant part of a pod spec."""
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution"))
    return PodConstraints(
        node_selector=tuple(sorted((str(k), str(v)) for k, v in (spec.get("nodeSelector") or {}).items())),
        required_terms=None if required is None else terms_from_json(required),
        tolerations=tolerations_from_json(spec.get("tolerations")),
        claims=tuple(v["persistentVolumeClaim"].get("claimName") or "" for v in spec.get("volumes") or []
                     if isinstance(v.get("persistentVolumeClaim"), dict)),
    )


def requests_from_json(spec: Mapping) -> tuple[int, int]:
    """(millicores, bytes) the scheduler reserves for the pod: the larger of its containers' sum (plus sidecar
    init containers) and any one init container, plus the pod overhead (noderesources: computePodResourceRequest)."""
    def req(container: Mapping) -> tuple[int, int]:
        requests = (container.get("resources") or {}).get("requests") or {}
        return millicores(requests.get("cpu")), bytes_of(requests.get("memory"))

    cpu = mem = 0
    for container in spec.get("containers") or []:
        c, m = req(container)
        cpu, mem = cpu + c, mem + m
    init_cpu = init_mem = sidecar_cpu = sidecar_mem = 0
    for container in spec.get("initContainers") or []:
        c, m = req(container)
        if container.get("restartPolicy") == "Always":  # a sidecar keeps running beside the app containers
            sidecar_cpu, sidecar_mem = sidecar_cpu + c, sidecar_mem + m
            cpu, mem = cpu + c, mem + m
        else:
            init_cpu, init_mem = max(init_cpu, sidecar_cpu + c), max(init_mem, sidecar_mem + m)
    overhead = spec.get("overhead") or {}
    return (max(cpu, init_cpu) + millicores(overhead.get("cpu")),
            max(mem, init_mem) + bytes_of(overhead.get("memory")))


@dataclass(frozen=True)
class VolumeTopology:
    """Where a bound PersistentVolume can be used: its required node affinity and its zone labels."""

    claim: str
    volume: str
    required_terms: tuple[Term, ...] | None = None
    zones: tuple[str, ...] = ()  # from the PV's zone label ("a__b" lists several)
    regions: tuple[str, ...] = ()


def volume_topology_from_json(claim: str, pv: Mapping) -> VolumeTopology:
    meta, spec = pv.get("metadata") or {}, pv.get("spec") or {}
    labels = meta.get("labels") or {}
    required = (spec.get("nodeAffinity") or {}).get("required")

    def split(keys: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v for key in keys if labels.get(key) for v in str(labels[key]).split("__"))
    return VolumeTopology(claim, meta.get("name") or "", None if required is None else terms_from_json(required),
                          split(ZONE_LABELS), split(REGION_LABELS))


@dataclass(frozen=True)
class PodToPlace:
    """A pod the drain will evict, whose controller will recreate it on the new color."""

    key: str  # namespace/name
    workload: str  # "Deployment ns/name"
    cpu_m: int
    memory_b: int
    constraints: PodConstraints = PodConstraints()
    volumes: tuple[VolumeTopology, ...] = ()  # of its bound claims


@dataclass(frozen=True)
class NodeRoom:
    """A node of the new color as the scheduler sees it: allocatable, what already runs there, labels, taints."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)
    taints: tuple[Taint, ...] = ()
    unschedulable: bool = False
    cpu_m: int = 0
    memory_b: int = 0
    pods: int = 0
    used_cpu_m: int = 0
    used_memory_b: int = 0
    used_pods: int = 0
    estimated: bool = False  # not joined yet: shaped like an old node


# --------------------------------------------------------------------------------------------------------------------
# The filters


def filter_reasons(pod: PodToPlace, node: NodeRoom) -> tuple[str, ...]:
    """Why ``pod`` cannot go on ``node`` in the scheduler's words (the first rejecting filter's reasons);
    empty when it fits."""
    for check in _FILTERS:
        reasons = check(pod, node)
        if reasons:
            return reasons
    return ()


def fits(pod: PodToPlace, node: NodeRoom) -> bool:
    """Whether every filter accepts the node (the cheap resource arithmetic first: most nodes a packing looks at
    are full)."""
    if node.used_pods + 1 > node.pods:
        return False
    if (pod.cpu_m or pod.memory_b) and (pod.cpu_m > node.cpu_m - node.used_cpu_m
                                         or pod.memory_b > node.memory_b - node.used_memory_b):
        return False
    return not any(check(pod, node) for check in _FILTERS if check is not _resources_fit)


def _node_unschedulable(pod: PodToPlace, node: NodeRoom) -> tuple[str, ...]:
    """nodeunschedulable.Filter: a cordoned node takes only pods tolerating its unschedulable taint."""
    cordon = Taint(UNSCHEDULABLE_TAINT, "", "NoSchedule")
    if node.unschedulable and not any(t.tolerates(cordon) for t in pod.constraints.tolerations):
        return (REASON_UNSCHEDULABLE,)
    return ()


def _taint_toleration(pod: PodToPlace, node: NodeRoom) -> tuple[str, ...]:
    """tainttoleration.Filter: the first NoSchedule/NoExecute taint no toleration tolerates."""
    for taint in node.taints:
        if taint.effect in ("NoSchedule", "NoExecute") and not any(
            t.tolerates(taint) for t in pod.constraints.tolerations
        ):
            return (untolerated(taint),)
    return ()


def _node_affinity(pod: PodToPlace, node: NodeRoom) -> tuple[str, ...]:
    """nodeaffinity.Filter: the nodeSelector and the required node affinity must both match."""
    labels = node.labels
    if any(labels.get(k) != v for k, v in pod.constraints.node_selector):
        return (REASON_AFFINITY,)
    terms = pod.constraints.required_terms
    if terms is not None and not terms_match(terms, labels, node.name):
        return (REASON_AFFINITY,)
    return ()


def _resources_fit(pod: PodToPlace, node: NodeRoom) -> tuple[str, ...]:
    """noderesources fit.go fitsRequest: pod slots always; cpu and memory when the pod requests any."""
    reasons = []
    if node.used_pods + 1 > node.pods:
        reasons.append(REASON_TOO_MANY_PODS)
    if pod.cpu_m == 0 and pod.memory_b == 0:
        return tuple(reasons)
    if pod.cpu_m > node.cpu_m - node.used_cpu_m:
        reasons.append(insufficient("cpu"))
    if pod.memory_b > node.memory_b - node.used_memory_b:
        reasons.append(insufficient("memory"))
    return tuple(reasons)


def _volume_binding(pod: PodToPlace, node: NodeRoom) -> tuple[str, ...]:
    """volumebinding (FindPodVolumes, checkBoundClaims): every bound PV's node affinity must match the node."""
    for volume in pod.volumes:
        if volume.required_terms is not None and not terms_match(volume.required_terms, node.labels, node.name):
            return (REASON_VOLUME_AFFINITY,)
    return ()


def _volume_zone(pod: PodToPlace, node: NodeRoom) -> tuple[str, ...]:
    """volumezone.Filter: a PV labelled with zones (or regions) fits only nodes labelled with one of them; a node
    without any topology label passes."""
    keys = ZONE_LABELS + REGION_LABELS
    if not any(k in node.labels for k in keys):
        return ()
    node_zone = next((node.labels[k] for k in ZONE_LABELS if k in node.labels), None)
    node_region = next((node.labels[k] for k in REGION_LABELS if k in node.labels), None)
    for volume in pod.volumes:
        if volume.zones and node_zone not in volume.zones:
            return (REASON_VOLUME_ZONE,)
        if volume.regions and node_region not in volume.regions:
            return (REASON_VOLUME_ZONE,)
    return ()


_FILTERS = (_node_unschedulable, _taint_toleration, _node_affinity, _resources_fit, _volume_binding, _volume_zone)


def fit_error(node_count: int, reasons_per_node: Iterable[Sequence[str]]) -> str:
    """framework.FitError.Error: "0/N nodes are available: " then "<count> <reason>" strings sorted as strings,
    joined by ", ", and a final "."."""
    if node_count == 0:
        return "no nodes available to schedule pods"  # scheduler.ErrNoNodesAvailable
    histogram: dict[str, int] = {}
    for reasons in reasons_per_node:
        for reason in reasons:
            histogram[reason] = histogram.get(reason, 0) + 1
    parts = sorted(f"{count} {reason}" for reason, count in histogram.items())
    return f"0/{node_count} nodes are available: {', '.join(parts)}."


# --------------------------------------------------------------------------------------------------------------------
# The packing


@dataclass(frozen=True)
class Misfit:
    """A pod that fits on no node, with the scheduler's message and the distinct reasons behind it."""

    pod: str
    workload: str
    message: str
    reasons: tuple[str, ...]
    volumes: tuple[str, ...] = ()  # where its bound volumes can be used, when a volume filter rejected nodes

    def blocker(self) -> str:
        """The preflight's line: the pod, its workload, the scheduler's words, the operator's next step."""
        where = f" ({'; '.join(self.volumes)})" if self.volumes else ""
        return (f"pod {self.pod} ({self.workload}) would fit on no new node: {self.message}{where} "
                f"Next: {'; '.join(next_steps(self.reasons))}")


def volume_zones(volume: VolumeTopology) -> tuple[str, ...]:
    """The zones a bound volume can be used in: its zone label, or the zone values its node affinity requires."""
    found = list(volume.zones)
    for term in volume.required_terms or ():
        for requirement in term.expressions:
            if requirement.key in ZONE_LABELS and requirement.operator == "In":
                found += [z for z in requirement.values if z not in found]
    return tuple(found)


def describe_volumes(volumes: Iterable[VolumeTopology]) -> tuple[str, ...]:
    return tuple(f"volume {v.volume} of claim {v.claim} is in zone {', '.join(volume_zones(v))}"
                 if volume_zones(v) else f"volume {v.volume} of claim {v.claim} has a node affinity"
                 for v in volumes)


def next_steps(reasons: Iterable[str]) -> list[str]:
    steps: list[str] = []
    reasons = set(reasons)
    if reasons & {insufficient("cpu"), insufficient("memory"), REASON_TOO_MANY_PODS}:
        steps.append("raise workers.desiredCapacity or use a larger instance type")
    if REASON_AFFINITY in reasons:
        steps.append("give the new nodes the labels the pod selects (workers.labels) or change its "
                     "nodeSelector/affinity")
    if any(r.startswith("node(s) had untolerated taint") for r in reasons):
        steps.append("remove the taint from the new nodes (workers.taints) or add a toleration to the workload")
    if reasons & {REASON_VOLUME_AFFINITY, REASON_VOLUME_ZONE}:
        steps.append("its volume is bound to a zone where no new node has room: run new nodes in that zone "
                     "(the group's subnets)")
    if REASON_UNSCHEDULABLE in reasons:
        steps.append("uncordon the new nodes (kubectl uncordon NODE)")
    return steps or ["make room for the pod on the new nodes"]


@dataclass(frozen=True)
class Placement:
    """Where each pod would go (pod key -> node name) and every pod that fits nowhere."""

    assigned: tuple[tuple[str, str], ...]
    misfits: tuple[Misfit, ...]

    @property
    def ok(self) -> bool:
        return not self.misfits


def decreasing(pods: Iterable[PodToPlace], nodes: Sequence[NodeRoom]) -> list[PodToPlace]:
    """Biggest request first: the larger of the cpu and memory shares of the largest node, then cpu, memory, key."""
    top_cpu = max((n.cpu_m for n in nodes), default=0) or 1
    top_mem = max((n.memory_b for n in nodes), default=0) or 1
    return sorted(pods, key=lambda p: (-max(p.cpu_m / top_cpu, p.memory_b / top_mem), -p.cpu_m, -p.memory_b, p.key))


def place(pods: Iterable[PodToPlace], nodes: Sequence[NodeRoom]) -> Placement:
    """First-fit decreasing over ``nodes`` in the given order: each pod, biggest first, goes to the first node
    every filter accepts, and that node's room shrinks by its requests. Succeeds whenever such a packing exists;
    every pod that fits nowhere is reported, each with the FitError of the nodes as they were at its turn."""
    rooms = list(nodes)
    assigned: list[tuple[str, str]] = []
    misfits: list[Misfit] = []
    # Pods alike for every filter (a workload's replicas; StatefulSet pods whose volumes share a zone) never fit
    # earlier than the previous one did: start from its node, and once one misfits the rest do too. This keeps
    # thousands of pods on hundreds of nodes well under a second.
    cursor: dict[tuple, int] = {}
    failed: dict[tuple, tuple[str, tuple[str, ...]]] = {}
    for pod in decreasing(pods, nodes):
        shape = (pod.cpu_m, pod.memory_b, pod.constraints,
                 tuple((v.required_terms, v.zones, v.regions) for v in pod.volumes))
        if shape not in failed:
            chosen = next((i for i in range(cursor.get(shape, 0), len(rooms)) if fits(pod, rooms[i])), None)
            if chosen is not None:
                cursor[shape] = chosen
                room = rooms[chosen]
                rooms[chosen] = replace(room, used_cpu_m=room.used_cpu_m + pod.cpu_m,
                                        used_memory_b=room.used_memory_b + pod.memory_b,
                                        used_pods=room.used_pods + 1)
                assigned.append((pod.key, room.name))
                continue
            per_node = [filter_reasons(pod, room) for room in rooms]
            failed[shape] = (fit_error(len(rooms), per_node), tuple(sorted({r for rs in per_node for r in rs})))
        message, reasons = failed[shape]
        volumes = describe_volumes(pod.volumes) if {REASON_VOLUME_AFFINITY, REASON_VOLUME_ZONE} & set(reasons) else ()
        misfits.append(Misfit(pod.key, pod.workload, message, reasons, volumes))
    return Placement(tuple(assigned), tuple(misfits))


def daemon_fits(constraints: PodConstraints, node: NodeRoom) -> bool:
    """Whether a DaemonSet's pod would run on ``node``: its nodeSelector and NoSchedule/NoExecute taints, with the
    tolerations every daemon pod gets (the DaemonSet controller's nodeShouldRunDaemonPod, simplified: the
    template's own required affinity is not visible on its pods, which pin one node by name)."""
    extra = tuple(Toleration(key, "Exists") for key in DAEMON_TOLERATION_KEYS)
    probe = PodToPlace("", "", 0, 0, PodConstraints(constraints.node_selector, None, constraints.tolerations + extra))
    return not _taint_toleration(probe, node) and not _node_affinity(probe, node)


def with_daemons(node: NodeRoom, daemons: Mapping[str, tuple[int, int, PodConstraints]],
                 present: Iterable[str]) -> NodeRoom:
    """``node`` with the requests of every DaemonSet (name -> (cpu, memory, constraints)) that would run a pod on
    it but has none there yet (``present``: the DaemonSets already there) reserved."""
    have = set(present)
    cpu, mem, count = node.used_cpu_m, node.used_memory_b, node.used_pods
    for name, (d_cpu, d_mem, constraints) in sorted(daemons.items()):
        if name not in have and daemon_fits(constraints, node):
            cpu, mem, count = cpu + d_cpu, mem + d_mem, count + 1
    return NodeRoom(node.name, node.labels, node.taints, node.unschedulable, node.cpu_m, node.memory_b, node.pods,
                    cpu, mem, count, node.estimated)
