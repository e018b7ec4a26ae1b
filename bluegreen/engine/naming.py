"""Deterministic names and tags shared by the Pulumi program, the engine and the sandbox.

The drain step finds the old color's nodes and groups by these names instead of
by Output dependencies on the old group's resources, which keeps the resource
graph free of cycles (see README "Resource graph").
"""

from __future__ import annotations

from collections.abc import Mapping

COLORS: tuple[str, str] = ("blue", "green")

#: Node label set through kubelet args on every worker; the engine selects nodes by it.
COLOR_LABEL = "bluegreen.io/color"
#: Node label of every node of a pool other than the default one (set through kubelet args, like the color).
POOL_LABEL = "bluegreen.io/pool"
#: The default pool: the stack's `workers`. Its groups keep the names they had before pools existed, and its
#: nodes carry no pool label (so existing launch templates and nodes stay as they are).
DEFAULT_POOL = "workers"
#: Tag keys on Auto Scaling groups and launch templates (the pool tag only on pools other than the default).
CLUSTER_TAG = "bluegreen.io/cluster"
COLOR_TAG = "bluegreen.io/color"
POOL_TAG = "bluegreen.io/pool"
#: Node annotation the drain writes as it goes, so a re-run recognises finished work.
DRAIN_STATE_ANNOTATION = "bluegreen.io/drain-state"
#: cluster-autoscaler's per-node opt-out from scale-down.
CA_SCALE_DOWN_DISABLED = "cluster-autoscaler.kubernetes.io/scale-down-disabled"


def other_color(color: str) -> str:
    """The color that is not ``color``."""
    if color not in COLORS:
        raise ValueError(f"unknown color {color!r}; expected one of {', '.join(COLORS)}")
    return COLORS[1] if color == COLORS[0] else COLORS[0]


def group_name(cluster_name: str, color: str, pool: str = DEFAULT_POOL) -> str:
    """Name of the Auto Scaling group (and launch template) of ``color`` in ``pool``: ``<cluster>-<pool>-<color>``
    (the default pool's groups are ``<cluster>-workers-<color>``, as before pools existed)."""
    if color not in COLORS:
        raise ValueError(f"unknown color {color!r}; expected one of {', '.join(COLORS)}")
    return f"{cluster_name}-{pool}-{color}"


def launch_template_name(cluster_name: str, color: str, pool: str = DEFAULT_POOL) -> str:
    """Name of the launch template of ``color`` in ``pool``."""
    return group_name(cluster_name, color, pool)


def in_pool(labels: Mapping[str, str], pool: str | None) -> bool:
    """Whether a node with ``labels`` belongs to ``pool``. None: any pool (one pair per cluster, as before pools).
    The default pool's nodes are the ones without a pool label (or labelled with the default pool's name)."""
    if pool is None:
        return True
    own = labels.get(POOL_LABEL)
    if pool == DEFAULT_POOL:
        return own is None or own == DEFAULT_POOL
    return own == pool


def instance_id_from_provider_id(provider_id: str) -> str | None:
    """``aws:///eu-west-1a/i-0abc`` -> ``i-0abc``; None when it is not an AWS provider id."""
    if not provider_id.startswith("aws://"):
        return None
    tail = provider_id.rsplit("/", 1)[-1]
    return tail if tail.startswith("i-") else None


def provider_id(availability_zone: str, instance_id: str) -> str:
    """The providerID the AWS cloud provider gives a node of ``instance_id``."""
    return f"aws:///{availability_zone}/{instance_id}"
