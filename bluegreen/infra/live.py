"""Live state: what each color's group of a pool looks like in AWS now, read through pulumi-aws data sources.

Only list-style data sources are asked first (they answer empty when nothing exists);
a group is read only once it is known to exist, because a failed data-source call
fails the whole program even inside try/except.

Groups are listed by tags: the cluster tag, and for a pool other than the default one
its pool tag too (the default pool's groups carry no pool tag: they were created before
pools existed). Each pool's two groups are then picked by their deterministic names.
"""

from __future__ import annotations

from typing import Any

import pulumi_aws as aws

from bluegreen.engine.naming import CLUSTER_TAG, COLORS, DEFAULT_POOL, POOL_TAG, group_name
from bluegreen.infra.colors import GroupState, LiveState
from bluegreen.infra.workers import AUTOSCALER_ENABLED_TAG


def group_state(group: Any, ami: str | None) -> GroupState:
    """A GroupState from a get_group result (pure)."""
    tags = {t.key for t in (group.tags or [])}
    return GroupState(
        exists=True,
        desired_capacity=int(group.desired_capacity or 0),
        ami=ami,
        declared_active=AUTOSCALER_ENABLED_TAG in tags,
    )


def launch_template_id(group: Any) -> str | None:
    """The id of the launch template a get_group result launches from: its own, or its mixed instances policy's."""
    if group.launch_templates:
        return group.launch_templates[0].id
    for policy in group.mixed_instances_policies or []:
        for template in policy.launch_templates or []:
            for spec in template.launch_template_specifications or []:
                if spec.launch_template_id:
                    return spec.launch_template_id
    return None


def group_filters(cluster_name: str, pool: str) -> list[dict[str, Any]]:
    """The tag filters that list a pool's groups (pure)."""
    filters: list[dict[str, Any]] = [{"name": f"tag:{CLUSTER_TAG}", "values": [cluster_name]}]
    if pool != DEFAULT_POOL:
        filters.append({"name": f"tag:{POOL_TAG}", "values": [pool]})
    return filters


def read_live_state(cluster_name: str, pool: str = DEFAULT_POOL) -> LiveState:
    """Both colors' groups of ``pool`` in ``cluster_name``; groups that do not exist read as GroupState()."""
    # Named get_ami_ids in pulumi-aws 7, but it lists Auto Scaling groups.
    listed = aws.autoscaling.get_ami_ids(filters=group_filters(cluster_name, pool))
    names = set(listed.names or [])
    states: dict[str, GroupState] = {}
    for color in COLORS:
        name = group_name(cluster_name, color, pool)
        if name not in names:
            states[color] = GroupState()
            continue
        group = aws.autoscaling.get_group(name=name)
        ami = None
        template_id = launch_template_id(group)
        if template_id:
            template = aws.ec2.get_launch_template(id=template_id)
            ami = template.image_id
        states[color] = group_state(group, ami)
    return LiveState(blue=states["blue"], green=states["green"])
