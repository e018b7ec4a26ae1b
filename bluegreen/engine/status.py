"""Status of a cluster's two colors: groups, AMIs, capacities, nodes, cordons, load-balancer health (read-only)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from bluegreen.engine.errors import GroupNotFound
from bluegreen.engine.groups import describe_group, launch_template_ami
from bluegreen.engine.load_balancers import LoadBalancerSpec, health_gaps, observe_health
from bluegreen.engine.naming import COLORS, DEFAULT_POOL, group_name
from bluegreen.engine.nodes import node_from_json
from bluegreen.engine.readiness import LEAVING


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
    pool: str = DEFAULT_POOL

    @property
    def serving(self) -> bool:
        return self.exists and self.desired > 0


@dataclass(frozen=True)
class StatusReport:
    cluster_name: str
    colors: tuple[ColorStatus, ...]

    @property
    def serving(self) -> tuple[str, ...]:
        return tuple(c.color for c in self.colors if c.serving)

    def to_dict(self) -> dict:
        return {
            "cluster_name": self.cluster_name,
            "serving": list(self.serving),
            "colors": [{**asdict(c), "serving": c.serving} for c in self.colors],
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
        return out


def color_status(conn, cluster_name: str, color: str, pool: str = DEFAULT_POOL,
                 node_pool: str | None = None) -> ColorStatus:
    """One color's group of ``pool`` and its nodes (of ``node_pool``, naming.in_pool; None: any pool)."""
    name = group_name(cluster_name, color, pool)
    try:
        group = describe_group(conn.autoscaling, conn.ec2, name, with_amis=False)
    except GroupNotFound:
        return ColorStatus(color, name, exists=False, pool=pool)
    ami = launch_template_ami(conn.ec2, group.launch_template, group.launch_template_version) if (
        group.launch_template
    ) else None
    nodes = [node_from_json(n) for n in conn.kube.nodes_of_color(color, node_pool)]
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
        pool=pool,
    )


def status(conn, cluster_name: str) -> StatusReport:
    """Read-only picture of both colors."""
    return StatusReport(cluster_name, tuple(color_status(conn, cluster_name, c) for c in COLORS))
