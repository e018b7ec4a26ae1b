"""Readiness gate: every instance of the new group is InService, on the expected AMI, joined, Ready, uncordoned.

Before it looks, the gate lifts the marks an earlier drain left on the color it is about to make serve (a cutover
the other way cordoned it: going back): see ``cordons.reclaim_color``."""

from __future__ import annotations

from dataclasses import dataclass

from bluegreen.engine.clock import Clock
from bluegreen.engine.cordons import reclaim_color
from bluegreen.engine.errors import ReadinessTimeout
from bluegreen.engine.groups import Instance, describe_group
from bluegreen.engine.naming import COLOR_LABEL
from bluegreen.engine.nodes import Node, node_from_json
from bluegreen.engine.pods import Pod, pod_from_json
from bluegreen.engine.progress import GatePassed, GateWaiting, Reporter
from bluegreen.engine.settings import RolloutSettings
from bluegreen.engine.stop import release_stuck
from bluegreen.engine.watch import watching

GATE = "nodes-ready"
#: Lifecycle states of instances that are on their way out and do not count either way.
LEAVING = ("Terminating", "Terminating:Wait", "Terminating:Proceed", "Terminated", "Detaching", "Detached")


@dataclass(frozen=True)
class ReadinessVerdict:
    ready: tuple[tuple[str, str], ...]  # (instance id, node name) of every instance that passes
    gaps: tuple[str, ...]  # one line per thing still missing, naming the instance

    @property
    def passed(self) -> bool:
        return not self.gaps


def judge_readiness(
    instances: list[Instance], nodes: list[Node], daemon_pods: list[Pod], *, expected_ami: str, desired: int
) -> ReadinessVerdict:
    """Pure decision: which instances are Ready nodes, and what each other one lacks."""
    by_instance = {n.instance_id: n for n in nodes if n.instance_id}
    live = [i for i in instances if i.lifecycle_state not in LEAVING]
    ready: list[tuple[str, str]] = []
    gaps: list[str] = []
    for inst in sorted(live, key=lambda i: i.id):
        lacks: list[str] = []
        if inst.lifecycle_state != "InService":
            lacks.append(f"not InService ({inst.lifecycle_state or 'unknown'})")
        if inst.health_status and inst.health_status != "Healthy":
            lacks.append(f"marked {inst.health_status} by its Auto Scaling group")
        if inst.unknown_to_ec2:
            lacks.append("not yet known to EC2 (DescribeInstances: InvalidInstanceID.NotFound; normal for a few "
                         "seconds after launch)")
        if inst.ami is not None and inst.ami != expected_ami:
            lacks.append(f"runs {inst.ami}, expected {expected_ami}")
        node = by_instance.get(inst.id)
        if node is None:
            lacks.append("not joined as a node (no node with its providerID)")
        else:
            if not node.ready:
                detail = f"{node.ready_reason}: {node.ready_message}" if node.ready_message else node.ready_reason
                lacks.append(f"node {node.name} NotReady ({detail})")
            if node.unschedulable:
                # A cordoned node takes no pod: it cannot receive the workloads this color is about to serve.
                lacks.append(f"node {node.name} cordoned (spec.unschedulable; kubectl uncordon {node.name})")
            taints = node.not_ready_taints()
            if taints:
                lacks.append(f"node {node.name} tainted {', '.join(taints)}")
            waiting = [p.key for p in daemon_pods if p.node == node.name and not (p.ready and p.phase == "Running")]
            if waiting:
                lacks.append(f"DaemonSet pod(s) not Ready: {', '.join(sorted(waiting))}")
        if lacks:
            gaps.append(f"instance {inst.id}: " + "; ".join(lacks))
        elif node is not None:
            ready.append((inst.id, node.name))
    missing = desired - len(live)
    if missing > 0:
        gaps.append(f"{missing} of {desired} instance(s) not launched yet (group has {len(live)})")
    if len(ready) < desired and not gaps:
        gaps.append(f"only {len(ready)} of {desired} instance(s) ready")
    return ReadinessVerdict(ready=tuple(ready), gaps=tuple(gaps))


@dataclass(frozen=True)
class ReadinessReport:
    group_name: str
    instances: tuple[str, ...]
    nodes: tuple[str, ...]
    waited_s: float

    def to_dict(self) -> dict:
        return {"group_name": self.group_name, "instances": list(self.instances), "nodes": list(self.nodes),
                "waited_s": round(self.waited_s, 3)}


#: Label the daemon controller puts on every pod it creates (pkg/controller/daemon/util/daemonset_util.go
#: CreatePodTemplate, ``extensions.DaemonSetTemplateGenerationKey``): selects DaemonSet pods on the server.
DAEMON_POD_LABEL = "pod-template-generation"


def read_daemon_pods(kube, nodes: set[str]) -> list[Pod]:
    """The DaemonSet pods on ``nodes``: one list per poll, whatever the number of nodes, of the pods carrying the
    daemon controller's label (selected by the server), filtered here by node and owner kind."""
    if not nodes:
        return []
    return [p for p in map(pod_from_json, kube.list_pods(label_selector=DAEMON_POD_LABEL))
            if p.node in nodes and p.owner_kind == "DaemonSet"]


def observe_readiness(conn, group_name: str, color: str, expected_ami: str, desired: int, *,
                      pool: str | None = None) -> ReadinessVerdict:
    group = describe_group(conn.autoscaling, conn.ec2, group_name)
    nodes = [node_from_json(n) for n in conn.kube.nodes_of_color(color, pool)]
    # Nodes may join before their color label is set by a slow bootstrap; match them by providerID as well.
    ids = {i.id for i in group.instances}
    if len(nodes) < len(ids):
        known = {n.name for n in nodes}
        unlabelled = map(node_from_json, conn.kube.list_nodes(f"!{COLOR_LABEL}"))
        nodes += [n for n in unlabelled if n.instance_id in ids and n.name not in known]
    daemon_pods = read_daemon_pods(conn.kube, {n.name for n in nodes if n.instance_id in ids})
    verdict = judge_readiness(list(group.instances), nodes, daemon_pods, expected_ami=expected_ami, desired=desired)
    if not verdict.passed and "Launch" in group.suspended_processes:
        hint = (f"group {group_name} has its Launch process suspended (left by an interrupted run?): "
                f"aws autoscaling resume-processes --auto-scaling-group-name {group_name}")
        return ReadinessVerdict(verdict.ready, verdict.gaps + (hint,))
    return verdict


def wait_nodes_ready(conn, group, settings: RolloutSettings, reporter: Reporter, clock: Clock) -> ReadinessReport:
    """Wait until ``group.desired`` instances of the group are Ready nodes; ReadinessTimeout naming each gap.

    First uncordons the group's nodes an earlier drain cordoned and clears their progress annotations."""
    reclaim_color(conn.kube, group.color, reporter, group.pool)
    with watching(conn.kube, *GATE_COLLECTIONS):  # every poll reads memory kept current by a watch (watch.py)
        return _wait_nodes_ready(conn, group, settings, reporter, clock)


#: What each readiness poll reads: the nodes and the DaemonSet pods (see ``read_daemon_pods``).
GATE_COLLECTIONS = ("/api/v1/nodes", ("/api/v1/pods", DAEMON_POD_LABEL))


def _wait_nodes_ready(conn, group, settings: RolloutSettings, reporter: Reporter, clock: Clock) -> ReadinessReport:
    start = clock.now()
    while True:
        verdict = observe_readiness(conn, group.group_name, group.color, group.ami, group.desired,
                                    pool=group.pool)
        waited = clock.now() - start
        if verdict.passed:
            reporter.emit(GatePassed(GATE, group.group_name, len(verdict.ready), waited))
            return ReadinessReport(
                group.group_name, tuple(i for i, _ in verdict.ready), tuple(n for _, n in verdict.ready), waited
            )
        if waited >= settings.node_ready_timeout_s:
            error = ReadinessTimeout(group.group_name, waited, list(verdict.gaps))
            raise error.with_state(release_stuck(conn.kube, group.color, reporter, group.pool))
        reporter.emit(GateWaiting(GATE, group.group_name, len(verdict.ready), group.desired, verdict.gaps))
        clock.sleep(settings.poll_interval_s)
