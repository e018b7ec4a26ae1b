"""The Pulumi program's edge: read the stack config and live state, decide, declare, export."""

from __future__ import annotations

import json
import os
from typing import Any

import pulumi
import pulumi_aws as aws
from pulumi.runtime import config as runtime_config

from bluegreen.infra.cluster import ClusterError
from bluegreen.infra.colors import ColorPlan, ColorSelectionError, PlanKeys, select_colors
from bluegreen.infra.config import NAMESPACE, TOP_LEVEL_KEYS, ConfigError, PoolConfig, StackConfig, parse_config
from bluegreen.infra.live import read_live_state
from bluegreen.infra.stack import BlueGreenStack, CutoverHook, build_stack, export_outputs, no_cutover_steps

STRUCTURED_KEYS = ("cluster", "workers", "pools", "loadBalancers", "rollout", "exampleWorkload")


def _namespace_keys() -> set[str]:
    """Every key the engine passed in our namespace (so typos at the top level are caught too)."""
    keys = set(runtime_config.CONFIG.get())
    if "PULUMI_CONFIG" in os.environ:
        keys |= set(json.loads(os.environ["PULUMI_CONFIG"]))
    prefix = f"{NAMESPACE}:"
    return {k[len(prefix) :] for k in keys if k.startswith(prefix)}


def read_raw_config() -> dict[str, Any]:
    """The stack's config values in our namespace, structured values decoded from JSON."""
    config = pulumi.Config(NAMESPACE)
    raw: dict[str, Any] = {}
    for key in sorted(_namespace_keys() | set(TOP_LEVEL_KEYS)):
        value = config.get(key)
        if value is None:
            continue
        if key in STRUCTURED_KEYS:
            try:
                value = json.loads(value)
            except ValueError:
                pass  # parse_config names the key and says it is not an object
        raw[key] = value
    return raw


def plan_pool(cluster_name: str, pool: PoolConfig) -> ColorPlan:
    """One pool's color decision from its groups' live state (ColorSelectionError names the pool's keys)."""
    live = read_live_state(cluster_name, pool.name)
    keys = PlanKeys(ami=pool.active_ami_key, color=pool.key("activeColor"))
    return select_colors(live, pool.active_ami, pool.active_color, keys)


def main(cutover: CutoverHook = no_cutover_steps) -> BlueGreenStack:
    """Run the program: every refusal becomes one RunError message (no traceback) naming what to change."""
    try:
        config: StackConfig = parse_config(read_raw_config())
        plans = {pool.name: plan_pool(config.cluster.name, pool) for pool in config.all_pools()}
    except (ConfigError, ColorSelectionError) as error:
        raise pulumi.RunError(str(error)) from error
    # Shows in `pulumi preview` diagnostics: which color becomes active and which is drained, per pool.
    for pool in config.all_pools():
        where = "" if pool.is_default else f" pool {pool.name}"
        pulumi.log.info(f"blue/green{where}: {plans[pool.name].reason}")
    partition = aws.get_partition().partition
    try:
        stack = build_stack(config, plans, partition=partition, cutover=cutover)
    except ClusterError as error:
        raise pulumi.RunError(str(error)) from error
    export_outputs(stack)
    return stack
