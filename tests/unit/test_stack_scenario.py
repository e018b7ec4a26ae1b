"""A stack file as a rehearsal scenario: the stack's pools, node shapes from the instance type table, labels,
taints, capacities, AMIs, load balancers and rollout settings, with a scenario's workloads."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest

from bluegreen.infra.stack_file import load_stack_file, parse_stack_document
from bluegreen.sandbox.scenario import load_scenario
from bluegreen.stack_scenario import StackRehearsalError, previous_ami, stack_scenario

ROOT = Path(__file__).resolve().parents[2]
BASE = {
    "activeAmi": "ami-0a1b2c3d4e5f60718",
    "cluster": {"name": "prod"},
    "workers": {"instanceType": "m5.large", "desiredCapacity": 5, "minSize": 5, "maxSize": 8,
                "labels": {"workload-class": "general"}},
    "loadBalancers": {"classicElbNames": ["prod-legacy-web"]},
    "rollout": {"canaryPauseSeconds": 120, "maxParallelNodes": 2, "poolsInParallel": True},
    "pools": {"gpu": {"instanceType": "g5.xlarge", "desiredCapacity": 2, "labels": {"workload-class": "gpu"},
                      "taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}],
                      "loadBalancers": {}, "activeAmi": "ami-0fedcba9876543210"},
              "spot": {"instanceTypes": ["r5.xlarge", "r5.large"]}},
}


def stack(config: dict):
    return parse_stack_document({"config": {f"eks-bluegreen:{k}": v for k, v in config.items()}})


def test_every_pool_with_its_shape_labels_taints_capacity_and_ami() -> None:
    scenario = stack_scenario(stack(BASE), load_scenario("small"), label="stack prod")
    workers, gpu, spot = scenario.all_pools()
    assert (workers.name, workers.nodes_per_color, workers.node.instance_type, workers.node.cpu,
            workers.node.pods) == ("workers", 5, "m5.large", "1930m", 29)
    assert workers.node.labels == {"workload-class": "general"} and workers.node.taints == ()
    assert workers.ami.to == "ami-0a1b2c3d4e5f60718" and workers.ami.from_ != workers.ami.to
    assert (gpu.name, gpu.nodes_per_color, gpu.node.instance_type, gpu.node.cpu) == ("gpu", 2, "g5.xlarge", "3920m")
    assert gpu.node.taints == ({"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"},)
    assert gpu.ami.to == "ami-0fedcba9876543210" and not gpu.load_balancers
    # Several instance types: the smallest sizes the pool; the pool inherits the workers' count and labels.
    assert (spot.node.instance_type, spot.nodes_per_color, spot.node.labels) == (
        "r5.large", 5, {"workload-class": "general"})
    assert spot.load_balancers


def test_rollout_load_balancers_and_workloads() -> None:
    config = stack(BASE)
    base = load_scenario("small")
    scenario = stack_scenario(config, base, label="stack prod")
    assert scenario.rollout_settings() == config.rollout
    assert scenario.pools_in_parallel
    assert (scenario.load_balancers.target_groups, scenario.load_balancers.classic_elbs) == (0, 1)
    assert scenario.workloads == base.workloads and scenario.join_seconds == base.join_seconds
    assert scenario.name == "stack prod (small workloads)"


def test_the_committed_prod_stack() -> None:
    scenario = stack_scenario(load_stack_file(ROOT / "Pulumi.prod.yaml"), load_scenario("small"))
    assert [p.name for p in scenario.all_pools()] == ["workers"]
    assert (scenario.nodes_per_color, scenario.node.instance_type) == (5, "m5.large")
    assert (scenario.load_balancers.target_groups, scenario.load_balancers.classic_elbs) == (2, 1)
    assert asdict(scenario.rollout_settings()) == scenario.rollout


def test_an_unknown_instance_type_names_the_pool_key() -> None:
    config = stack({**BASE, "pools": {"odd": {"instanceType": "t3.nano"}}})
    with pytest.raises(StackRehearsalError, match=r"^pools\.odd\.instanceType: instance type 't3\.nano' is not"):
        stack_scenario(config, load_scenario("small"))


def test_the_previous_ami_differs_from_the_active_one() -> None:
    assert previous_ami("ami-0a1b2c3d4e5f60718") != "ami-0a1b2c3d4e5f60718"
    assert previous_ami(previous_ami("ami-0a1b2c3d4e5f60718")) != previous_ami("ami-0a1b2c3d4e5f60718")
