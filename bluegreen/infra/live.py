"""Live state: what each color's group looks like in AWS now, read through pulumi-aws data sources.

Only list-style data sources are asked first (they answer empty when nothing exists);
a group is read only once it is known to exist, because a failed data-source call
fails the whole program even inside try/except.
"""

from __future__ import annotations

from typing import Any

import pulumi_aws as aws

from bluegreen.engine.naming import CLUSTER_TAG, COLORS, group_name
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


def read_live_state(cluster_name: str) -> LiveState:
    """Both colors' groups of ``cluster_name``; groups that do not exist read as GroupState()."""
    # Named get_ami_ids in pulumi-aws 7, but it lists Auto Scaling groups.
    listed = aws.autoscaling.get_ami_ids(filters=[{"name": f"tag:{CLUSTER_TAG}", "values": [cluster_name]}])
    names = set(listed.names or [])
    states: dict[str, GroupState] = {}
    for color in COLORS:
        name = group_name(cluster_name, color)
        if name not in names:
            states[color] = GroupState()
            continue
        group = aws.autoscaling.get_group(name=name)
        ami = None
        if group.launch_templates:
            template = aws.ec2.get_launch_template(id=group.launch_templates[0].id)
            ami = template.image_id
        states[color] = group_state(group, ami)
    return LiveState(blue=states["blue"], green=states["green"])
