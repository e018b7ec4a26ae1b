"""Config of pools, mixed instances and Spot, extra security groups, and node labels/taints the kubelet may not set."""

from __future__ import annotations

from typing import Any

import pytest

from bluegreen.engine.naming import DEFAULT_POOL
from bluegreen.infra.config import ConfigError, SpotConfig, parse_config
from bluegreen.infra.node_restriction import is_kubelet_label, label_refusal, taint_refusal

TG = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef"
BASE: dict[str, Any] = {
    "activeAmi": "ami-0123456789abcdef0",
    "cluster": {"name": "prod"},
    "workers": {
        "instanceType": "m5.large",
        "desiredCapacity": 5,
        "minSize": 5,
        "maxSize": 8,
        "rootVolumeSize": 48,
        "labels": {"workload-class": "general"},
        "securityGroupIds": ["sg-0123456789abcdef0"],
    },
    "loadBalancers": {"targetGroupArns": [TG]},
}


def config(**extra: Any) -> dict[str, Any]:
    return {**BASE, **extra}


def test_a_pool_takes_each_workers_value_it_does_not_set() -> None:
    cfg = parse_config(
        config(
            pools={
                "gpu": {
                    "instanceType": "g5.xlarge",
                    "desiredCapacity": 2,
                    "minSize": 2,
                    "maxSize": 4,
                    "labels": {"workload-class": "gpu"},
                    "taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}],
                    "loadBalancers": {},
                },
                "batch": {"activeAmi": "ami-0fedcba9876543210", "activeColor": "green"},
            }
        )
    )
    assert [p.name for p in cfg.all_pools()] == [DEFAULT_POOL, "gpu", "batch"]
    default, gpu, batch = cfg.all_pools()
    assert default.workers == cfg.workers and default.active_ami == cfg.active_ami and default.is_default
    assert (gpu.workers.instance_type, gpu.workers.desired_capacity, gpu.workers.min_size) == ("g5.xlarge", 2, 2)
    assert gpu.workers.max_size == 4 and gpu.workers.root_volume_size == 48  # inherited
    assert gpu.workers.labels == {"workload-class": "gpu"}
    assert [t.kubelet_form() for t in gpu.workers.taints] == ["nvidia.com/gpu=true:NoSchedule"]
    assert gpu.workers.security_group_ids == ("sg-0123456789abcdef0",)
    assert gpu.load_balancers.target_group_arns == () and gpu.active_ami == cfg.active_ami
    # Unset: every workers value, the stack's load balancers, its own AMI and pinned color.
    assert batch.workers == cfg.workers and batch.load_balancers == cfg.load_balancers
    assert (batch.active_ami, batch.active_color) == ("ami-0fedcba9876543210", "green")
    assert (gpu.active_ami_key, batch.active_ami_key) == ("activeAmi", "pools.batch.activeAmi")
    assert not cfg.pools_in_parallel
    assert parse_config(config(rollout={"poolsInParallel": True})).pools_in_parallel


def test_unset_pool_bounds_follow_its_desired_capacity() -> None:
    cfg = parse_config(config(pools={"big": {"desiredCapacity": 12}}))
    (big,) = cfg.pools
    assert (big.workers.min_size, big.workers.desired_capacity, big.workers.max_size) == (5, 12, 12)


def test_mixed_instances_and_spot() -> None:
    cfg = parse_config(
        config(
            pools={
                "spot": {
                    "instanceTypes": ["m5.large", "m5a.large", "m6i.large"],
                    "spot": {"onDemandBaseCapacity": 1, "allocationStrategy": "capacity-optimized"},
                },
                "ondemand": {"instanceType": "c5.large", "spot": False},
            }
        )
    )
    spot, ondemand = cfg.pools
    assert spot.workers.mixed_instances and spot.workers.instance_type_choices == ("m5.large", "m5a.large", "m6i.large")
    assert spot.workers.spot == SpotConfig(1, 0, "capacity-optimized")
    assert not ondemand.workers.mixed_instances and ondemand.workers.instance_types == ()
    assert not cfg.workers.mixed_instances
    # A pool inheriting Spot from workers, and one setting instanceType over inherited instanceTypes.
    workers = {**BASE["workers"], "instanceTypes": ["m5.large", "m5a.large"], "spot": {}}
    del workers["instanceType"]
    cfg = parse_config(config(workers=workers, pools={"a": {}, "b": {"instanceType": "c5.large"}}))
    a, b = cfg.pools
    assert a.workers.instance_types == ("m5.large", "m5a.large") and a.workers.spot == SpotConfig()
    assert b.workers.instance_types == () and b.workers.instance_type == "c5.large" and b.workers.spot == SpotConfig()


BAD = [
    # Pools: names, reserved names, unknown keys (with a did-you-mean), shared settings.
    ({"pools": {"workers": {}}}, r"^pools.workers: reserved; the default pool is configured by eks-bluegreen:workers"),
    ({"pools": {"GPU": {}}}, r'^pools.GPU: "GPU" is not a pool name \(a DNS label'),
    ({"pools": {"big-workers": {}}}, r"^pools.big-workers: a pool name may not end in -workers"),
    (
        {"pools": {"gpu": {"instanceTyp": "g5.xlarge"}}},
        r'^pools.gpu.instanceTyp: unknown key; did you mean "instanceType"\?',
    ),
    (
        {"pools": {"gpu": {"activeAmy": "ami-0123abcd"}}},
        r'^pools.gpu.activeAmy: unknown key; did you mean "activeAmi"\?',
    ),
    ({"pools": {"gpu": {"ssmCore": True}}}, r"^pools.gpu.ssmCore: not a pool setting; .* set workers.ssmCore"),
    ({"pools": {"gpu": {"activeAmi": "ami-12"}}}, r'^pools.gpu.activeAmi: "ami-12" is not an AMI id'),
    (
        {"pools": {"gpu": {"activeColor": "red"}}},
        r'^pools.gpu.activeColor: "red" is not allowed \(one of blue, green\)',
    ),
    ({"pools": {"gpu": {"maxSize": 3}}}, r"^pools.gpu: minSize 5 <= desiredCapacity 5 <= maxSize 3 does not hold"),
    (
        {"pools": {"gpu": {"loadBalancers": {"targetGroups": []}}}},
        r"^pools.gpu.loadBalancers.targetGroups: unknown key",
    ),
    ({"pools": ["gpu"]}, r"^pools: \['gpu'\] is not an object"),
    (
        {"pools": {"x" * 63: {}}, "cluster": {"name": "c" * 60}},
        r"^pools.x+: the launch template name .* more than EC2's 128",
    ),
    ({"rollout": {"poolsInParalel": True}}, r'^rollout.poolsInParalel: unknown key; did you mean "poolsInParallel"\?'),
    ({"rollout": {"poolsInParallel": "yes"}}, r'^rollout.poolsInParallel: "yes" is not a boolean'),
    # Mixed instances and Spot.
    (
        {"pools": {"gpu": {"instanceType": "g5.xlarge", "instanceTypes": ["g5.xlarge"]}}},
        r"^pools.gpu: instanceType and instanceTypes are both set",
    ),
    ({"pools": {"gpu": {"instanceTypes": []}}}, r"^pools.gpu.instanceTypes: 0 instance types listed; list 1 to 40"),
    ({"pools": {"gpu": {"instanceTypes": ["g5"]}}}, r'^pools.gpu.instanceTypes\[0\]: "g5" is not an EC2 instance type'),
    (
        {"pools": {"s": {"spot": {"allocationStrategy": "cheapest"}}}},
        r'^pools.s.spot.allocationStrategy: "cheapest" is not allowed \(one of price-capacity-optimized, '
        r"capacity-optimized, capacity-optimized-prioritized, lowest-price\)",
    ),
    (
        {"pools": {"s": {"spot": {"onDemandPercentageAboveBaseCapacity": 101}}}},
        r"^pools.s.spot.onDemandPercentageAboveBaseCapacity: 101 is out of range \(at least 0 and at most 100\)",
    ),
    (
        {"pools": {"s": {"spot": {"onDemandBaseCapacity": -1}}}},
        r"^pools.s.spot.onDemandBaseCapacity: -1 is out of range",
    ),
    (
        {"pools": {"s": {"spot": {"maxPrice": "0.1"}}}},
        r"^pools.s.spot.maxPrice: unknown key; .*known keys: onDemandBaseCapacity",
    ),
    # Security groups.
    (
        {"pools": {"s": {"securityGroupIds": ["sg-zz"]}}},
        r'^pools.s.securityGroupIds\[0\]: "sg-zz" is not a security group id',
    ),
    (
        {"pools": {"s": {"securityGroupIds": [f"sg-{i:08x}" for i in range(16)]}}},
        r"^pools.s.securityGroupIds: 16 security groups; .* at most 15",
    ),
    # Labels and taints the kubelet may not register with.
    (
        {"pools": {"gpu": {"labels": {"node-role.kubernetes.io/gpu": ""}}}},
        r"^pools.gpu.labels.node-role.kubernetes.io/gpu: not allowed: "
        r"the kubelet may not set labels under kubernetes.io/",
    ),
    ({"pools": {"gpu": {"labels": {"app.k8s.io/name": "x"}}}}, r"^pools.gpu.labels.app.k8s.io/name: not allowed"),
    (
        {"pools": {"gpu": {"labels": {"node-restriction.kubernetes.io/gpu": "x"}}}},
        r"^pools.gpu.labels.node-restriction.kubernetes.io/gpu: not allowed: "
        r"the node-restriction.kubernetes.io/ prefix is reserved",
    ),
    ({"pools": {"gpu": {"labels": {"bluegreen.io/pool": "x"}}}}, r"^pools.gpu.labels.bluegreen.io/pool: reserved"),
    (
        {"pools": {"gpu": {"taints": ["node.kubernetes.io/not-ready:NoSchedule"]}}},
        r'^pools.gpu.taints\[0\].key: "node.kubernetes.io/not-ready" is not allowed: taints under kubernetes.io/',
    ),
]


@pytest.mark.parametrize(("extra", "message"), BAD, ids=[m.split(":")[0].strip("^") for _, m in BAD])
def test_bad_pool_values_are_refused_by_name(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(config(**extra))


def test_workers_labels_under_the_kubernetes_namespaces_are_refused_too() -> None:
    workers = {**BASE["workers"], "labels": {"kubernetes.io/role": "worker"}}
    with pytest.raises(ConfigError, match=r"^workers.labels.kubernetes.io/role: not allowed"):
        parse_config(config(workers=workers))


@pytest.mark.parametrize(
    "key",
    [
        "node.kubernetes.io/instance-type",
        "node.kubernetes.io/lifecycle",  # the node.kubernetes.io namespace
        "team.node.kubernetes.io/x",  # a subdomain of an allowed namespace
        "kubelet.kubernetes.io/x",
        "topology.kubernetes.io/zone",
        "kubernetes.io/arch",
        "example.com/kubernetes.io",  # the namespace is example.com
        "workload-class",
    ],
)
def test_labels_the_kubelet_may_set(key: str) -> None:
    assert label_refusal(key) is None


@pytest.mark.parametrize(
    "key", ["kubernetes.io/role", "node-role.kubernetes.io/worker", "k8s.io/x", "sub.k8s.io/x", "x.kubernetes.io/y"]
)
def test_labels_the_kubelet_may_not_set(key: str) -> None:
    assert not is_kubelet_label(key) and label_refusal(key)


def test_taints() -> None:
    assert taint_refusal("nvidia.com/gpu") is None and taint_refusal("dedicated") is None
    assert taint_refusal("node.kubernetes.io/unschedulable") and taint_refusal("node.cloudprovider.kubernetes.io/x")


def test_a_stack_file_is_read_without_pulumi() -> None:
    """Tools outside the Pulumi program (a rehearsal of the stack) may use the config types."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    code = (
        "import sys\n"
        "from bluegreen.infra.stack_file import load_stack_file\n"
        "pools = load_stack_file('Pulumi.prod.yaml').all_pools()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pulumi' or m.startswith('pulumi_')), "
        "[p.name for p in pools])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[] ['workers']"
