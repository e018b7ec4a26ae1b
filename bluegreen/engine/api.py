"""The engine's facade: what the Pulumi dynamic resources and the command line call.

``GroupSpec`` lives in ``groups.py`` and is re-exported here for callers of the facade.

Every report is a frozen dataclass with ``to_dict()`` returning JSON-able plain data.
"""

from __future__ import annotations

from bluegreen.engine import groups
from bluegreen.engine.connection import ClusterTarget, Connection, connect
from bluegreen.engine.drain import DrainReport, drain
from bluegreen.engine.groups import GroupSpec
from bluegreen.engine.load_balancers import LoadBalancerReport, LoadBalancerSpec, wait_load_balancers_healthy
from bluegreen.engine.preflight import PreflightReport, preflight
from bluegreen.engine.readiness import ReadinessReport, wait_nodes_ready
from bluegreen.engine.status import StatusReport, status


def scale_group(conn: Connection, group_name: str, *, desired: int, min_size: int | None = None,
                max_size: int | None = None) -> None:
    """Set a group's capacity (the command line's scale-down; the Pulumi program scales through its ASG)."""
    groups.scale(conn.autoscaling, group_name, desired=desired, min_size=min_size, max_size=max_size)


__all__ = [
    "ClusterTarget", "Connection", "DrainReport", "GroupSpec", "LoadBalancerReport", "LoadBalancerSpec",
    "PreflightReport", "ReadinessReport", "StatusReport", "connect", "drain", "preflight", "scale_group", "status",
    "wait_load_balancers_healthy", "wait_nodes_ready",
]
