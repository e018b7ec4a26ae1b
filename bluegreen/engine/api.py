"""The engine's facade: what the Pulumi dynamic resources and the command line call.

Every report is a frozen dataclass with ``to_dict()`` returning JSON-able plain data.
"""

from __future__ import annotations

from dataclasses import dataclass

from bluegreen.engine import groups
from bluegreen.engine.connection import ClusterTarget, Connection, connect
from bluegreen.engine.drain import DrainReport, drain
from bluegreen.engine.load_balancers import LoadBalancerReport, LoadBalancerSpec, wait_load_balancers_healthy
from bluegreen.engine.naming import DEFAULT_POOL
from bluegreen.engine.naming import group_name as _group_name
from bluegreen.engine.preflight import PreflightReport, preflight
from bluegreen.engine.readiness import ReadinessReport, wait_nodes_ready
from bluegreen.engine.status import StatusReport, status


@dataclass(frozen=True)
class GroupSpec:
    """One color's group as the cutover expects it: its AMI and how many nodes it should run.

    ``pool``: the worker pool the group belongs to; its nodes are told apart by the pool label (naming.in_pool).
    None (the default): the cluster's one pair, named like the default pool, whatever pool label its nodes carry.
    """

    cluster_name: str
    color: str
    ami: str
    desired: int
    pool: str | None = None

    @property
    def group_name(self) -> str:
        return _group_name(self.cluster_name, self.color, self.pool or DEFAULT_POOL)


def scale_group(conn: Connection, group_name: str, *, desired: int, min_size: int | None = None,
                max_size: int | None = None) -> None:
    """Set a group's capacity (the command line's scale-down; the Pulumi program scales through its ASG)."""
    groups.scale(conn.autoscaling, group_name, desired=desired, min_size=min_size, max_size=max_size)


__all__ = [
    "ClusterTarget", "Connection", "DrainReport", "GroupSpec", "LoadBalancerReport", "LoadBalancerSpec",
    "PreflightReport", "ReadinessReport", "StatusReport", "connect", "drain", "preflight", "scale_group", "status",
    "wait_load_balancers_healthy", "wait_nodes_ready",
]
