"""Config validation: pure functions over plain dicts; each bad value gives one message naming key, value, rule."""

import copy

import pytest

from bluegreen.engine.settings import RolloutSettings
from bluegreen.infra.config import ConfigError, parse_config

TG = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef"

GOOD = {
    "activeAmi": "ami-0123456789abcdef0",
    "cluster": {
        "name": "prod",
        "create": True,
        "vpcId": "vpc-0123abcd",
        "subnetIds": ["subnet-0123abcd", "subnet-4567abcd"],
    },
    "workers": {
        "instanceType": "m5.large",
        "desiredCapacity": 5,
        "minSize": 5,
        "maxSize": 8,
        "rootVolumeSize": 48,
        "labels": {"team": "web"},
        "taints": ["dedicated=web:NoSchedule", {"key": "gpu", "effect": "NoExecute"}],
    },
    "loadBalancers": {"targetGroupArns": [TG], "classicElbNames": ["web-classic"]},
    "rollout": {
        "maxParallelNodes": 2,
        "canaryPauseSeconds": 0,
        "onPdbTimeout": "force",
        "evictionTimeoutSeconds": "120",
    },
}


def with_value(path: str, value):
    raw = copy.deepcopy(GOOD)
    *parents, last = path.split(".")
    node = raw
    for p in parents:
        node = node.setdefault(p, {})
    if value is DELETE:
        node.pop(last, None)
    else:
        node[last] = value
    return raw


DELETE = object()


def test_good_config_parses_into_typed_values():
    cfg = parse_config(GOOD)
    assert cfg.active_ami == "ami-0123456789abcdef0"
    assert cfg.cluster.create and cfg.cluster.subnet_ids == ("subnet-0123abcd", "subnet-4567abcd")
    assert (cfg.workers.min_size, cfg.workers.desired_capacity, cfg.workers.max_size) == (5, 5, 8)
    assert [t.kubelet_form() for t in cfg.workers.taints] == ["dedicated=web:NoSchedule", "gpu:NoExecute"]
    assert cfg.load_balancers.target_group_arns == (TG,)
    assert cfg.rollout.max_parallel_nodes == 2 and cfg.rollout.on_pdb_timeout == "force"
    assert cfg.rollout.eviction_timeout_s == 120.0
    # Unset rollout knobs keep the engine's defaults.
    assert cfg.rollout.node_ready_timeout_s == RolloutSettings().node_ready_timeout_s


def test_minimal_config_uses_defaults():
    cfg = parse_config({"activeAmi": "ami-0123abcd", "cluster": {"name": "prod"}})
    assert cfg.active_color is None and not cfg.cluster.create
    assert cfg.workers.min_size <= cfg.workers.desired_capacity <= cfg.workers.max_size
    assert cfg.rollout == RolloutSettings()


BAD = [
    ("activeAmi", "ami-12", r'^activeAmi: "ami-12" is not an AMI id \(ami- followed by 8 or 17 hex digits\)$'),
    ("activeAmi", DELETE, r"^activeAmi: missing"),
    ("activeColor", "red", r'^activeColor: "red" is not allowed \(one of blue, green\)$'),
    ("activeAmy", "ami-0123abcd", r'^activeAmy: unknown key; did you mean "activeAmi"\?'),
    ("cluster.nmae", "x", r'^cluster.nmae: unknown key; did you mean "name"\?'),
    ("cluster.subnetIds", ["subnet-zz"], r'^cluster.subnetIds\[0\]: "subnet-zz" is not a subnet id'),
    ("cluster.subnetIds", ["subnet-0123abcd"], r"^cluster.subnetIds: .* fewer than 2 subnets"),
    ("cluster.vpcId", DELETE, r"^cluster.vpcId: missing"),
    ("cluster.create", "yes", r'^cluster.create: "yes" is not a boolean'),
    ("cluster.version", 1.3, r"^cluster.version: 1.3 is a number; quote it"),
    ("cluster.version", "v1", r"^cluster.version: \"v1\" is not a Kubernetes version"),
    ("workers.desiredCapacity", 9, r"^workers: minSize 5 <= desiredCapacity 9 <= maxSize 8 does not hold"),
    ("workers.minSize", 6, r"^workers: minSize 6 <= desiredCapacity 5"),
    ("workers.desiredCapacity", "five", r'^workers.desiredCapacity: "five" is not a whole number$'),
    ("workers.instanceTyp", "m5.large", r'^workers.instanceTyp: unknown key; did you mean "instanceType"\?'),
    ("workers.rootVolumeSize", 2, r"^workers.rootVolumeSize: 2 is out of range \(at least 8"),
    ("workers.labels", {"bluegreen.io/color": "red"}, r"^workers.labels.bluegreen.io/color: reserved"),
    ("workers.labels", {"bad key!": "x"}, r"^workers.labels.bad key!: \"bad key!\" is not a Kubernetes label key$"),
    ("workers.taints", ["dedicated=web:Sometimes"], r'^workers.taints\[0\].effect: "Sometimes" is not allowed'),
    ("workers.taints", ["nonsense"], r'^workers.taints\[0\]: "nonsense" is not a taint'),
    ("workers.amiFamily", "Bottlerocket", r'^workers.amiFamily: "Bottlerocket" is not allowed \(one of AL2023, AL2\)$'),
    (
        "loadBalancers.targetGroupArns",
        ["arn:aws:s3:::bucket"],
        r"^loadBalancers.targetGroupArns\[0\]: .* is not a target group ARN",
    ),
    ("loadBalancers.targetGroupArns", [TG, TG], r"^loadBalancers.targetGroupArns\[1\]: .* listed twice"),
    (
        "loadBalancers.classicElbNames",
        ["bad_name"],
        r'^loadBalancers.classicElbNames\[0\]: "bad_name" is not a classic ELB name',
    ),
    ("loadBalancers.targetGroups", [TG], r'^loadBalancers.targetGroups: unknown key; did you mean "targetGroupArns"\?'),
    (
        "rollout.nodeReadyTimeoutSeconds",
        0,
        r"^rollout.nodeReadyTimeoutSeconds: 0 is not allowed \(a positive number of seconds\)$",
    ),
    ("rollout.evictionTimeoutSeconds", -5, r"^rollout.evictionTimeoutSeconds: -5 is not allowed"),
    ("rollout.canaryPauseSeconds", -1, r"^rollout.canaryPauseSeconds: -1 is not allowed \(zero or more seconds\)$"),
    ("rollout.maxParallelNodes", 0, r"^rollout.maxParallelNodes: 0 is out of range"),
    ("rollout.onPdbTimeout", "ignore", r'^rollout.onPdbTimeout: "ignore" is not allowed \(one of stop, force\)$'),
    ("rollout.emptyDir", "keep", r'^rollout.emptyDir: "keep" is not allowed \(one of evict, block\)$'),
    ("rollout.maxParallelNode", 2, r'^rollout.maxParallelNode: unknown key; did you mean "maxParallelNodes"\?'),
    ("rollout", "fast", r'^rollout: "fast" is not an object'),
    (
        "exampleWorkload.nodePort",
        80,
        r"^exampleWorkload.nodePort: 80 is out of range \(at least 30000 and at most 32767\)$",
    ),
    ("exampleWorkload.enable", True, r'^exampleWorkload.enable: unknown key; did you mean "enabled"\?'),
]


@pytest.mark.parametrize(("path", "value", "message"), BAD, ids=[f"{p}={v!r}" for p, v, _ in BAD])
def test_bad_values_are_refused_with_one_message(path, value, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(with_value(path, value))


def test_existing_cluster_needs_no_network():
    cfg = parse_config({"activeAmi": "ami-0123abcd", "cluster": {"name": "prod", "create": "false"}})
    assert cfg.cluster.subnet_ids == () and cfg.cluster.vpc_id is None
