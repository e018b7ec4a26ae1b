"""Deterministic names and tags shared by the Pulumi program, the engine and the sandbox.

The drain step finds the old color's nodes and groups by these names instead of
by Output dependencies on the old group's resources, which keeps the resource
graph free of cycles (see README "Resource graph").
"""

from __future__ import annotations

COLORS: tuple[str, str] = ("blue", "green")

#: Node label set through kubelet args on every worker; the engine selects nodes by it.
COLOR_LABEL = "bluegreen.io/color"
#: Tag keys on Auto Scaling groups and launch templates.
CLUSTER_TAG = "bluegreen.io/cluster"
COLOR_TAG = "bluegreen.io/color"
#: Node annotation the drain writes as it goes, so a re-run recognises finished work.
DRAIN_STATE_ANNOTATION = "bluegreen.io/drain-state"
#: cluster-autoscaler's per-node opt-out from scale-down.
CA_SCALE_DOWN_DISABLED = "cluster-autoscaler.kubernetes.io/scale-down-disabled"


def other_color(color: str) -> str:
    """The color that is not ``color``."""
    if color not in COLORS:
        raise ValueError(f"unknown color {color!r}; expected one of {', '.join(COLORS)}")
    return COLORS[1] if color == COLORS[0] else COLORS[0]


def group_name(cluster_name: str, color: str) -> str:
    """Name of the Auto Scaling group (and launch template) of ``color``."""
    if color not in COLORS:
        raise ValueError(f"unknown color {color!r}; expected one of {', '.join(COLORS)}")
    return f"{cluster_name}-workers-{color}"


def launch_template_name(cluster_name: str, color: str) -> str:
    """Name of the launch template of ``color``."""
    return group_name(cluster_name, color)


def instance_id_from_provider_id(provider_id: str) -> str | None:
    """``aws:///eu-west-1a/i-0abc`` -> ``i-0abc``; None when it is not an AWS provider id."""
    if not provider_id.startswith("aws://"):
        return None
    tail = provider_id.rsplit("/", 1)[-1]
    return tail if tail.startswith("i-") else None


def provider_id(availability_zone: str, instance_id: str) -> str:
    """The providerID the AWS cloud provider gives a node of ``instance_id``."""
    return f"aws:///{availability_zone}/{instance_id}"
