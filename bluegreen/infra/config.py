"""The stack's configuration: typed dataclasses, parsed and validated from plain data.

``parse_config`` takes the raw values of the ``eks-bluegreen:*`` keys (already
decoded from YAML/JSON) and either returns a ``StackConfig`` or raises
``ConfigError`` naming the key, the value and what is allowed. It runs before any
resource is declared, so a typo never reaches AWS.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bluegreen.engine.naming import COLOR_LABEL, COLORS
from bluegreen.engine.settings import RolloutSettings

NAMESPACE = "eks-bluegreen"

AMI_RE = re.compile(r"^ami-([0-9a-f]{8}|[0-9a-f]{17})$")
SUBNET_RE = re.compile(r"^subnet-([0-9a-f]{8}|[0-9a-f]{17})$")
VPC_RE = re.compile(r"^vpc-([0-9a-f]{8}|[0-9a-f]{17})$")
TARGET_GROUP_ARN_RE = re.compile(
    r"^arn:aws(-cn|-us-gov|-iso|-iso-b)?:elasticloadbalancing:[a-z0-9-]+:\d{12}:targetgroup/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}$"
)
ELB_NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$")
# EKS cluster names: 1-100 chars, alphanumerics, hyphens and underscores, starting alphanumeric.
CLUSTER_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
K8S_VERSION_RE = re.compile(r"^1\.\d{2}$")
INSTANCE_TYPE_RE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
# Kubernetes label key: optional DNS-subdomain prefix, then a name of up to 63 characters.
_LABEL_NAME = r"[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?"
LABEL_KEY_RE = re.compile(rf"^([a-z0-9]([a-z0-9.-]{{0,251}}[a-z0-9])?/)?{_LABEL_NAME}$")
LABEL_VALUE_RE = re.compile(rf"^({_LABEL_NAME})?$")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
AMI_FAMILIES = ("AL2023", "AL2")
# Kept below the ASG's own limit so both colors' capacities stay readable in previews.
MAX_GROUP_SIZE = 1000

AMI_RULE = "ami- followed by 8 or 17 hex digits"


class ConfigError(ValueError):
    """A stack config value is missing or not allowed; the message names key, value and what is allowed."""


@dataclass(frozen=True)
class ClusterConfig:
    # EKS cluster name; also the prefix of the workers' group and launch-template names.
    name: str
    # True: create the cluster with pulumi-eks; False: use an existing cluster of this name.
    create: bool = False
    # Kubernetes version of a created cluster (ignored for an existing one).
    version: str = "1.32"
    # VPC of a created cluster.
    vpc_id: str | None = None
    # Subnets of the workers (and of a created cluster). Empty: the existing cluster's subnets.
    subnet_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Taint:
    key: str
    value: str
    effect: str

    def kubelet_form(self) -> str:
        """``key=value:Effect`` as kubelet's --register-with-taints wants it."""
        return f"{self.key}={self.value}:{self.effect}" if self.value else f"{self.key}:{self.effect}"


@dataclass(frozen=True)
class WorkersConfig:
    instance_type: str = "m5.large"
    desired_capacity: int = 2
    min_size: int = 2
    max_size: int = 4
    # Root volume size in GiB (gp3, encrypted).
    root_volume_size: int = 20
    key_name: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: tuple[Taint, ...] = ()
    # Attach AmazonSSMManagedInstanceCore to the worker role (Session Manager access).
    ssm_core: bool = False
    # "AL2023" (nodeadm) or "AL2" (bootstrap.sh); must match the AMI in activeAmi.
    ami_family: str = "AL2023"


@dataclass(frozen=True)
class LoadBalancersConfig:
    target_group_arns: tuple[str, ...] = ()
    classic_elb_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExampleWorkloadConfig:
    """A small workload (Deployment, NodePort Service, PDB) that makes a cutover observable behind the LBs."""

    enabled: bool = False
    replicas: int = 3
    # The target groups must forward to this port on the instances.
    node_port: int = 30080
    image: str = "public.ecr.aws/nginx/nginx:1.27"


@dataclass(frozen=True)
class StackConfig:
    active_ami: str
    cluster: ClusterConfig
    workers: WorkersConfig = field(default_factory=WorkersConfig)
    load_balancers: LoadBalancersConfig = field(default_factory=LoadBalancersConfig)
    rollout: RolloutSettings = field(default_factory=RolloutSettings)
    # None: the program picks the color from live state (see colors.py).
    active_color: str | None = None
    example_workload: ExampleWorkloadConfig = field(default_factory=ExampleWorkloadConfig)


# --- the schema: config key -> (python field, kind) -------------------------------------------

TOP_LEVEL_KEYS = ("activeAmi", "activeColor", "cluster", "workers", "loadBalancers", "rollout", "exampleWorkload")
CLUSTER_KEYS = ("name", "create", "version", "vpcId", "subnetIds")
WORKERS_KEYS = (
    "instanceType",
    "desiredCapacity",
    "minSize",
    "maxSize",
    "rootVolumeSize",
    "keyName",
    "labels",
    "taints",
    "ssmCore",
    "amiFamily",
)
LOAD_BALANCER_KEYS = ("targetGroupArns", "classicElbNames")
EXAMPLE_WORKLOAD_KEYS = ("enabled", "replicas", "nodePort", "image")
# The Kubernetes NodePort range.
NODE_PORT_RANGE = (30000, 32767)
# rollout config key -> (RolloutSettings field, kind); kinds: "seconds" (> 0), "seconds0" (>= 0), "count", or choices.
ROLLOUT_KEYS: dict[str, tuple[str, Any]] = {
    "nodeReadyTimeoutSeconds": ("node_ready_timeout_s", "seconds"),
    "loadBalancerHealthyTimeoutSeconds": ("lb_healthy_timeout_s", "seconds"),
    "evictionTimeoutSeconds": ("eviction_timeout_s", "seconds"),
    "nodeDrainTimeoutSeconds": ("node_drain_timeout_s", "seconds"),
    "workloadHealthyTimeoutSeconds": ("workload_healthy_timeout_s", "seconds"),
    "maxParallelNodes": ("max_parallel_nodes", "count"),
    "canaryPauseSeconds": ("canary_pause_s", "seconds0"),
    "emptyDir": ("empty_dir", ("evict", "block")),
    "unmanagedPods": ("unmanaged_pods", ("block", "evict")),
    "onPdbTimeout": ("on_pdb_timeout", ("stop", "force")),
    "pollIntervalSeconds": ("poll_interval_s", "seconds"),
}


# --- small validators; each raises ConfigError naming the key -----------------------------------


def _show(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def _reject_unknown(key: str, value: Mapping[str, Any], known: Sequence[str]) -> None:
    for name in value:
        if name not in known:
            close = difflib.get_close_matches(str(name), known, n=1)
            hint = f'did you mean "{close[0]}"? ' if close else ""
            where = f"{key}.{name}" if key else str(name)
            raise ConfigError(f"{where}: unknown key; {hint}known keys: {', '.join(known)}")


def _mapping(key: str, value: Any) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{key}: {_show(value)} is not an object (a YAML mapping of keys to values)")
    return value


def _string(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{key}: {_show(value)} is not a non-empty string")
    return value


def _bool(key: str, value: Any) -> bool:
    # Pulumi config set without --path stores strings; accept the two spellings it produces.
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise ConfigError(f"{key}: {_show(value)} is not a boolean (true or false)")


def _int(key: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key}: {_show(value)} is not a whole number")
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" and at most {maximum}" if maximum is not None else ""
        raise ConfigError(f"{key}: {value} is out of range (at least {minimum}{upper})")
    return value


def _seconds(key: str, value: Any, allow_zero: bool) -> float:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{key}: {_show(value)} is not a number of seconds")
    if value < 0 or (value == 0 and not allow_zero):
        allowed = "zero or more" if allow_zero else "a positive number of"
        raise ConfigError(f"{key}: {value} is not allowed ({allowed} seconds)")
    return float(value)


def _choice(key: str, value: Any, choices: Sequence[str]) -> str:
    if value not in choices:
        raise ConfigError(f"{key}: {_show(value)} is not allowed (one of {', '.join(choices)})")
    return value


def _pattern(key: str, value: Any, pattern: re.Pattern[str], rule: str) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise ConfigError(f"{key}: {_show(value)} is not {rule}")
    return value


def _string_list(key: str, value: Any, pattern: re.Pattern[str], rule: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ConfigError(f"{key}: {_show(value)} is not a list")
    items = tuple(_pattern(f"{key}[{i}]", item, pattern, rule) for i, item in enumerate(value))
    for i, item in enumerate(items):
        if item in items[:i]:
            raise ConfigError(f"{key}[{i}]: {_show(item)} is listed twice; list each once")
    return items


# --- sections ----------------------------------------------------------------------------------


def parse_ami(key: str, value: Any) -> str:
    """An AMI id or ConfigError (shared by activeAmi and anything else that names an AMI)."""
    if value is None:
        raise ConfigError(f"{key}: missing; set it with `pulumi config set {key} ami-...` ({AMI_RULE})")
    return _pattern(key, value, AMI_RE, f"an AMI id ({AMI_RULE})")


def _parse_cluster(raw: Any) -> ClusterConfig:
    value = _mapping("cluster", raw)
    _reject_unknown("cluster", value, CLUSTER_KEYS)
    if "name" not in value:
        raise ConfigError(
            "cluster.name: missing; set the EKS cluster name (`pulumi config set --path cluster.name prod`)"
        )
    name = _pattern("cluster.name", value["name"], CLUSTER_NAME_RE, "an EKS cluster name (letters, digits, - and _)")
    create = _bool("cluster.create", value.get("create", False))
    raw_version = value.get("version", "1.32")
    if isinstance(raw_version, float):
        # YAML reads 1.30 as the number 1.3; only a quoted string keeps the version intact.
        raise ConfigError(f'cluster.version: {raw_version} is a number; quote it as a string, e.g. "1.32"')
    version = _pattern("cluster.version", raw_version, K8S_VERSION_RE, "a Kubernetes version like 1.32")
    vpc_id = value.get("vpcId")
    if vpc_id is not None:
        vpc_id = _pattern("cluster.vpcId", vpc_id, VPC_RE, "a VPC id (vpc- followed by 8 or 17 hex digits)")
    subnet_ids = _string_list(
        "cluster.subnetIds", value.get("subnetIds"), SUBNET_RE, "a subnet id (subnet- followed by 8 or 17 hex digits)"
    )
    if create:
        if vpc_id is None:
            raise ConfigError("cluster.vpcId: missing; a created cluster (cluster.create: true) needs its VPC id")
        if len(subnet_ids) < 2:
            raise ConfigError(
                f"cluster.subnetIds: {list(subnet_ids)} has fewer than 2 subnets; "
                "EKS needs subnets in at least two availability zones"
            )
    return ClusterConfig(name=name, create=create, version=version, vpc_id=vpc_id, subnet_ids=subnet_ids)


def _parse_taint(key: str, raw: Any) -> Taint:
    if isinstance(raw, str):
        match = re.fullmatch(r"([^=:]+)(?:=([^:]*))?:([A-Za-z]+)", raw)
        if not match:
            raise ConfigError(f"{key}: {_show(raw)} is not a taint (key=value:Effect or key:Effect)")
        tkey, tvalue, effect = match.group(1), match.group(2) or "", match.group(3)
    else:
        mapping = _mapping(key, raw)
        _reject_unknown(key, mapping, ("key", "value", "effect"))
        tkey = _string(f"{key}.key", mapping.get("key"))
        tvalue = str(mapping.get("value", ""))
        effect = mapping.get("effect")
    _pattern(f"{key}.key", tkey, LABEL_KEY_RE, "a Kubernetes label-style key")
    _pattern(f"{key}.value", tvalue, LABEL_VALUE_RE, "a Kubernetes label-style value")
    _choice(f"{key}.effect", effect, TAINT_EFFECTS)
    return Taint(key=tkey, value=tvalue, effect=effect)


def _parse_workers(raw: Any) -> WorkersConfig:
    value = _mapping("workers", raw)
    _reject_unknown("workers", value, WORKERS_KEYS)
    defaults = WorkersConfig()
    instance_type = _pattern(
        "workers.instanceType",
        value.get("instanceType", defaults.instance_type),
        INSTANCE_TYPE_RE,
        "an EC2 instance type like m5.large",
    )
    desired = _int(
        "workers.desiredCapacity", value.get("desiredCapacity", defaults.desired_capacity), 1, MAX_GROUP_SIZE
    )
    # Unset bounds follow the desired capacity, so `desiredCapacity: 5` alone is a valid group.
    min_size = _int("workers.minSize", value.get("minSize", min(defaults.min_size, desired)), 0, MAX_GROUP_SIZE)
    max_size = _int("workers.maxSize", value.get("maxSize", max(defaults.max_size, desired)), 1, MAX_GROUP_SIZE)
    if not min_size <= desired <= max_size:
        raise ConfigError(
            f"workers: minSize {min_size} <= desiredCapacity {desired} <= maxSize {max_size} does not hold; "
            "adjust them so that min <= desired <= max"
        )
    root = _int("workers.rootVolumeSize", value.get("rootVolumeSize", defaults.root_volume_size), 8, 16384)
    key_name = value.get("keyName")
    if key_name is not None:
        key_name = _string("workers.keyName", key_name)
    labels_raw = _mapping("workers.labels", value.get("labels"))
    labels: dict[str, str] = {}
    for lkey, lvalue in labels_raw.items():
        _pattern(f"workers.labels.{lkey}", lkey, LABEL_KEY_RE, "a Kubernetes label key")
        if lkey == COLOR_LABEL:
            raise ConfigError(f"workers.labels.{lkey}: reserved; the program sets {COLOR_LABEL} to each group's color")
        labels[lkey] = _pattern(
            f"workers.labels.{lkey}", str(lvalue), LABEL_VALUE_RE, "a Kubernetes label value (up to 63 characters)"
        )
    taints_raw = value.get("taints") or []
    if isinstance(taints_raw, str) or not isinstance(taints_raw, Sequence):
        raise ConfigError(f"workers.taints: {_show(taints_raw)} is not a list of taints (key=value:Effect)")
    taints = tuple(_parse_taint(f"workers.taints[{i}]", t) for i, t in enumerate(taints_raw))
    return WorkersConfig(
        instance_type=instance_type,
        desired_capacity=desired,
        min_size=min_size,
        max_size=max_size,
        root_volume_size=root,
        key_name=key_name,
        labels=labels,
        taints=taints,
        ssm_core=_bool("workers.ssmCore", value.get("ssmCore", False)),
        ami_family=_choice("workers.amiFamily", value.get("amiFamily", defaults.ami_family), AMI_FAMILIES),
    )


def _parse_load_balancers(raw: Any) -> LoadBalancersConfig:
    value = _mapping("loadBalancers", raw)
    _reject_unknown("loadBalancers", value, LOAD_BALANCER_KEYS)
    return LoadBalancersConfig(
        target_group_arns=_string_list(
            "loadBalancers.targetGroupArns",
            value.get("targetGroupArns"),
            TARGET_GROUP_ARN_RE,
            "a target group ARN (arn:aws:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<16 hex>)",
        ),
        classic_elb_names=_string_list(
            "loadBalancers.classicElbNames",
            value.get("classicElbNames"),
            ELB_NAME_RE,
            "a classic ELB name (1-32 letters, digits and inner hyphens)",
        ),
    )


def _parse_rollout(raw: Any) -> RolloutSettings:
    value = _mapping("rollout", raw)
    _reject_unknown("rollout", value, tuple(ROLLOUT_KEYS))
    overrides: dict[str, object] = {}
    for key, item in value.items():
        attr, kind = ROLLOUT_KEYS[key]
        where = f"rollout.{key}"
        if kind == "seconds":
            overrides[attr] = _seconds(where, item, allow_zero=False)
        elif kind == "seconds0":
            overrides[attr] = _seconds(where, item, allow_zero=True)
        elif kind == "count":
            overrides[attr] = _int(where, item, 1, MAX_GROUP_SIZE)
        else:
            overrides[attr] = _choice(where, item, kind)
    return RolloutSettings().with_overrides(**overrides)


def _parse_example_workload(raw: Any) -> ExampleWorkloadConfig:
    value = _mapping("exampleWorkload", raw)
    _reject_unknown("exampleWorkload", value, EXAMPLE_WORKLOAD_KEYS)
    defaults = ExampleWorkloadConfig()
    return ExampleWorkloadConfig(
        enabled=_bool("exampleWorkload.enabled", value.get("enabled", defaults.enabled)),
        replicas=_int("exampleWorkload.replicas", value.get("replicas", defaults.replicas), 1, 100),
        node_port=_int("exampleWorkload.nodePort", value.get("nodePort", defaults.node_port), *NODE_PORT_RANGE),
        image=_string("exampleWorkload.image", value.get("image", defaults.image)),
    )


def parse_config(raw: Mapping[str, Any]) -> StackConfig:
    """Validate the stack's raw config values (keys without the namespace) into a StackConfig.

    Raises ConfigError at the first bad value, naming the key, the value and what is allowed.
    """
    _reject_unknown("", raw, TOP_LEVEL_KEYS)
    active_ami = parse_ami("activeAmi", raw.get("activeAmi"))
    # Pulumi.yaml declares activeColor with default "" (a declared key needs a default): "" means unset.
    active_color = raw.get("activeColor") or None
    if active_color is not None:
        active_color = _choice("activeColor", active_color, COLORS)
    return StackConfig(
        active_ami=active_ami,
        active_color=active_color,
        cluster=_parse_cluster(raw.get("cluster")),
        workers=_parse_workers(raw.get("workers")),
        load_balancers=_parse_load_balancers(raw.get("loadBalancers")),
        rollout=_parse_rollout(raw.get("rollout")),
        example_workload=_parse_example_workload(raw.get("exampleWorkload")),
    )
