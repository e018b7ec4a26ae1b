"""Status of a cluster's two colors: groups, AMIs, capacities, nodes, cordons, load-balancer health, and the
workloads below their desired ready count (read-only).

A color serves when its group has capacity and it has at least one uncordoned node holding application pods
(pods that are not DaemonSet, mirror or finished ones); a color whose nodes are all cordoned, or hold no such pod,
does not serve, whatever its capacity says. A cluster without any application pod counts a color with capacity
and an uncordoned node as serving."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from bluegreen.engine.errors import GroupNotFound
from bluegreen.engine.groups import describe_group, launch_template_ami
from bluegreen.engine.kube import WORKLOAD_PATHS
from bluegreen.engine.load_balancers import LoadBalancerSpec, health_gaps, observe_health
from bluegreen.engine.naming import COLORS, group_name
from bluegreen.engine.nodes import node_from_json
from bluegreen.engine.pods import Pod, pod_from_json
from bluegreen.engine.readiness import LEAVING
from bluegreen.engine.replacements import judge_workload
from bluegreen.engine.stop import Shortfall, shortfalls
from bluegreen.engine.view import replicaset_owners
from bluegreen.engine.workloads import WorkloadRef, workload_of, workload_status_from_json

#: Workload kinds whose shortfalls ``status`` lists (DaemonSets come and go with their nodes).
LISTED_KINDS = ("Deployment", "StatefulSet")


@dataclass(frozen=True)
class ColorStatus:
    color: str
    group_name: str
    exists: bool
    ami: str | None = None
    desired: int = 0
    min_size: int = 0
    max_size: int = 0
    instances_in_service: int = 0
    nodes: int = 0
    nodes_ready: int = 0
    nodes_cordoned: int = 0
    nodes_drained: int = 0
    suspended_processes: tuple[str, ...] = ()
    load_balancer_gaps: tuple[str, ...] = ()
    cordoned_nodes: tuple[str, ...] = ()
    app_pods: int = 0  # application pods on its nodes (not DaemonSet, mirror or finished)
    cluster_has_app_pods: bool = True

    @property
    def serving(self) -> bool:
        """Capacity, an uncordoned node, and application pods on its nodes (when the cluster runs any)."""
        open_nodes = self.nodes - len(self.cordoned_nodes)
        holds = self.app_pods > 0 or not self.cluster_has_app_pods
        return self.exists and self.desired > 0 and open_nodes > 0 and holds


@dataclass(frozen=True)
class StatusReport:
    cluster_name: str
    colors: tuple[ColorStatus, ...]
    below_desired: tuple[Shortfall, ...] = ()

    @property
    def serving(self) -> tuple[str, ...]:
        return tuple(c.color for c in self.colors if c.serving)

    def to_dict(self) -> dict:
        return {
            "cluster_name": self.cluster_name,
            "serving": list(self.serving),
            "colors": [{**asdict(c), "serving": c.serving} for c in self.colors],
            "cordoned_nodes": sorted(n for c in self.colors for n in c.cordoned_nodes),
            "workloads_below_desired": [s.to_dict() for s in self.below_desired],
        }

    def lines(self) -> list[str]:
        out = [f"cluster {self.cluster_name}: serving {', '.join(self.serving) or 'nothing'}"]
        for c in self.colors:
            if not c.exists:
                out.append(f"  {c.color:5} {c.group_name}: no Auto Scaling group")
                continue
            lb = "LB healthy" if not c.load_balancer_gaps else f"LB: {len(c.load_balancer_gaps)} gap(s)"
            out.append(
                f"  {c.color:5} {c.group_name}: ami {c.ami or '?'}, desired {c.desired} (min {c.min_size}, max "
                f"{c.max_size}), {c.instances_in_service} InService, nodes {c.nodes_ready}/{c.nodes} Ready, "
                f"{c.nodes_cordoned} cordoned, {c.nodes_drained} drained, {lb}"
                + (f", suspended: {', '.join(c.suspended_processes)}" if c.suspended_processes else "")
            )
            out += [f"      {gap}" for gap in c.load_balancer_gaps]
            if c.cordoned_nodes:
                out.append(f"      cordoned: {', '.join(c.cordoned_nodes)}")
            if c.exists and c.desired > 0 and not c.serving:
                why = "every node cordoned" if c.nodes and len(c.cordoned_nodes) == c.nodes else (
                    "no node joined" if not c.nodes else "its nodes hold no application pod")
                out.append(f"      not serving: {why}")
        if self.below_desired:
            out.append("  workloads below desired:")
            out += [f"    {s.workload} {s.why}" for s in self.below_desired]
        return out


def app_pod(pod: Pod) -> bool:
    return pod.owner_kind != "DaemonSet" and not pod.mirror and not pod.finished and not pod.terminating


def color_status(conn, cluster_name: str, color: str, pods: list[Pod] | None = None) -> ColorStatus:
    name = group_name(cluster_name, color)
    try:
        group = describe_group(conn.autoscaling, conn.ec2, name, with_amis=False)
    except GroupNotFound:
        return ColorStatus(color, name, exists=False)
    ami = launch_template_ami(conn.ec2, group.launch_template, group.launch_template_version) if (
        group.launch_template
    ) else None
    nodes = [node_from_json(n) for n in conn.kube.nodes_of_color(color)]
    names = {n.name for n in nodes}
    pods = pods if pods is not None else [pod_from_json(p) for p in conn.kube.list_pods()]
    live = [i.id for i in group.instances if i.lifecycle_state not in LEAVING]
    lbs = LoadBalancerSpec(group.target_group_arns, group.classic_elb_names)
    return ColorStatus(
        color=color, group_name=name, exists=True, ami=ami, desired=group.desired, min_size=group.min_size,
        max_size=group.max_size,
        instances_in_service=sum(1 for i in group.instances if i.lifecycle_state == "InService"),
        nodes=len(nodes), nodes_ready=sum(1 for n in nodes if n.ready),
        nodes_cordoned=sum(1 for n in nodes if n.unschedulable),
        nodes_drained=sum(1 for n in nodes if n.drain_state == "drained"),
        suspended_processes=group.suspended_processes,
        load_balancer_gaps=tuple(health_gaps(live, lbs, observe_health(conn, live, lbs))),
        cordoned_nodes=tuple(sorted(n.name for n in nodes if n.unschedulable)),
        app_pods=sum(1 for p in pods if p.node in names and app_pod(p)),
        cluster_has_app_pods=any(app_pod(p) for p in pods),
    )


def below_desired(kube, pods: list[Pod]) -> tuple[Shortfall, ...]:
    """Deployments and StatefulSets below their desired ready count, each with why (the scheduler's message for a
    Pending pod)."""
    owners = replicaset_owners(kube.list_all("/apis/apps/v1", "replicasets"))
    by_ref: dict[WorkloadRef, list[Pod]] = {}
    for pod in pods:
        by_ref.setdefault(workload_of(pod, owners), []).append(pod)
    verdicts = []
    for kind in LISTED_KINDS:
        path, resource = WORKLOAD_PATHS[kind]
        for obj in kube.list_all(path, resource):
            meta = obj.get("metadata") or {}
            ref = WorkloadRef(kind, meta.get("namespace") or "default", meta["name"])
            verdicts.append(judge_workload(ref, workload_status_from_json(ref, obj), by_ref.get(ref, [])))
    return shortfalls(verdicts)


def status(conn, cluster_name: str) -> StatusReport:
    """Read-only picture of both colors and of the workloads below desired."""
    pods = [pod_from_json(p) for p in conn.kube.list_pods()]
    colors = tuple(color_status(conn, cluster_name, c, pods) for c in COLORS)
    return StatusReport(cluster_name, colors, below_desired(conn.kube, pods))
