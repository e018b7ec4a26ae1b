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
from dataclasses import dataclass, field, replace
from typing import Any

from bluegreen.engine.naming import COLOR_LABEL, COLORS, DEFAULT_POOL, POOL_LABEL, launch_template_name
from bluegreen.engine.settings import ROLLOUT_CONFIG_KEYS, RolloutSettings
from bluegreen.infra.node_restriction import label_refusal, taint_refusal

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
SECURITY_GROUP_RE = re.compile(r"^sg-([0-9a-f]{8}|[0-9a-f]{17})$")
# A pool name is a DNS label (RFC 1123): it goes into group names and the pool node label's value.
POOL_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
# A CloudWatch alarm name (PutMetricAlarm AlarmName: 1 to 255 characters), printable; a health command: not blank.
ALARM_NAME = re.compile(r"^[^\x00-\x1f\x7f]{1,255}$")
ALARM_NAME_RULE = "a CloudWatch alarm name (1 to 255 printable characters)"
COMMAND = re.compile(r"\s*\S")
COMMAND_RULE = "a non-empty shell command (run with /bin/sh -c)"
NOTIFY_URL = re.compile(r"^https?://[^\s/]+\S*$")
NOTIFY_URL_RULE = "an http:// or https:// URL"
# Kubernetes label key: optional DNS-subdomain prefix, then a name of up to 63 characters.
_LABEL_NAME = r"[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?"
LABEL_KEY_RE = re.compile(rf"^([a-z0-9]([a-z0-9.-]{{0,251}}[a-z0-9])?/)?{_LABEL_NAME}$")
LABEL_VALUE_RE = re.compile(rf"^({_LABEL_NAME})?$")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
AMI_FAMILIES = ("AL2023", "AL2")
# Kept below the ASG's own limit so both colors' capacities stay readable in previews.
MAX_GROUP_SIZE = 1000
# A mixed instances policy takes at most 40 launch template overrides (instance types).
MAX_INSTANCE_TYPES = 40
# A network interface takes at most 16 security groups; the cluster security group is one of them.
MAX_EXTRA_SECURITY_GROUPS = 15
# EC2 launch template names are at most 128 characters (the groups' names, 255, are never the tighter one).
MAX_LAUNCH_TEMPLATE_NAME = 128
# The Spot allocation strategies EC2 Auto Scaling accepts (InstancesDistribution.SpotAllocationStrategy).
SPOT_ALLOCATION_STRATEGIES = (
    "price-capacity-optimized",
    "capacity-optimized",
    "capacity-optimized-prioritized",
    "lowest-price",
)

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
class SpotConfig:
    """The Spot part of a group's mixed instances policy (EC2 Auto Scaling InstancesDistribution)."""

    # On-Demand instances the group always keeps first.
    on_demand_base_capacity: int = 0
    # Share of On-Demand instances above the base, 0..100 (0: everything above the base is Spot).
    on_demand_percentage_above_base_capacity: int = 0
    allocation_strategy: str = "price-capacity-optimized"


@dataclass(frozen=True)
class WorkersConfig:
    instance_type: str = "m5.large"
    # Several instance types (a mixed instances policy over the launch template); empty: instance_type alone.
    instance_types: tuple[str, ...] = ()
    # Spot capacity (a mixed instances policy); None: On-Demand only.
    spot: SpotConfig | None = None
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
    # Security groups added to the cluster security group on every node (e.g. so load balancers reach node ports).
    security_group_ids: tuple[str, ...] = ()

    @property
    def mixed_instances(self) -> bool:
        """The group launches through a mixed instances policy (several types, or Spot)."""
        return bool(self.instance_types) or self.spot is not None

    @property
    def instance_type_choices(self) -> tuple[str, ...]:
        """Every instance type the group may launch."""
        return self.instance_types or (self.instance_type,)


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
class PoolConfig:
    """One blue/green pair of worker groups: the default pool (``workers``) or one of ``pools``."""

    name: str
    workers: WorkersConfig
    load_balancers: LoadBalancersConfig
    active_ami: str
    # None: the program picks this pool's color from live state.
    active_color: str | None = None
    # The key active_ami comes from, for messages: the stack's activeAmi, or the pool's own.
    active_ami_key: str = "activeAmi"

    @property
    def is_default(self) -> bool:
        return self.name == DEFAULT_POOL

    def key(self, name: str) -> str:
        """The config key of one of this pool's settings, as the operator writes it (for messages)."""
        if self.is_default:
            return name if name in ("activeAmi", "activeColor") else f"{DEFAULT_POOL}.{name}"
        return f"pools.{self.name}.{name}"


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
    # The pools after the default one, in the order listed (the order they cut over in).
    pools: tuple[PoolConfig, ...] = ()
    # rollout.poolsInParallel: every pool cuts over at once instead of one after another.
    pools_in_parallel: bool = False

    @property
    def default_pool(self) -> PoolConfig:
        """The pool configured by ``workers`` (and the stack's activeAmi, activeColor and loadBalancers)."""
        return PoolConfig(DEFAULT_POOL, self.workers, self.load_balancers, self.active_ami, self.active_color)

    def all_pools(self) -> tuple[PoolConfig, ...]:
        """Every pool in cutover order: the default pool first, then ``pools`` as listed."""
        return (self.default_pool, *self.pools)


# --- the schema: config key -> (python field, kind) -------------------------------------------

TOP_LEVEL_KEYS = (
    "activeAmi",
    "activeColor",
    "cluster",
    "workers",
    "pools",
    "loadBalancers",
    "rollout",
    "exampleWorkload",
)
CLUSTER_KEYS = ("name", "create", "version", "vpcId", "subnetIds")
WORKERS_KEYS = (
    "instanceType",
    "instanceTypes",
    "spot",
    "desiredCapacity",
    "minSize",
    "maxSize",
    "rootVolumeSize",
    "keyName",
    "labels",
    "taints",
    "ssmCore",
    "amiFamily",
    "securityGroupIds",
)
# A pool takes the workers' settings (each defaulting to the workers' value) except ssmCore (the worker role is
# shared), plus its own load balancers, AMI and pinned color.
POOL_KEYS = tuple(k for k in WORKERS_KEYS if k != "ssmCore") + ("loadBalancers", "activeAmi", "activeColor")
SPOT_KEYS = ("onDemandBaseCapacity", "onDemandPercentageAboveBaseCapacity", "allocationStrategy")
LOAD_BALANCER_KEYS = ("targetGroupArns", "classicElbNames")
EXAMPLE_WORKLOAD_KEYS = ("enabled", "replicas", "nodePort", "image")
# The Kubernetes NodePort range.
NODE_PORT_RANGE = (30000, 32767)
# rollout config key -> (RolloutSettings field, kind): the engine's one table, which a scenario's rollout: reads too.
ROLLOUT_KEYS = ROLLOUT_CONFIG_KEYS
# rollout keys of the program itself (not engine settings).
POOLS_IN_PARALLEL_KEY = "poolsInParallel"


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


def _parse_labels(key: str, raw: Any) -> dict[str, str]:
    labels: dict[str, str] = {}
    for lkey, lvalue in _mapping(key, raw).items():
        where = f"{key}.{lkey}"
        _pattern(where, lkey, LABEL_KEY_RE, "a Kubernetes label key")
        if lkey in (COLOR_LABEL, POOL_LABEL):
            raise ConfigError(f"{where}: reserved; the program sets {lkey} on every node of each group")
        refusal = label_refusal(lkey)
        if refusal:
            raise ConfigError(f"{where}: not allowed: {refusal}")
        labels[lkey] = _pattern(where, str(lvalue), LABEL_VALUE_RE, "a Kubernetes label value (up to 63 characters)")
    return labels


def _parse_taints(key: str, raw: Any) -> tuple[Taint, ...]:
    taints_raw = raw or []
    if isinstance(taints_raw, str) or not isinstance(taints_raw, Sequence):
        raise ConfigError(f"{key}: {_show(taints_raw)} is not a list of taints (key=value:Effect)")
    taints = tuple(_parse_taint(f"{key}[{i}]", t) for i, t in enumerate(taints_raw))
    for i, taint in enumerate(taints):
        refusal = taint_refusal(taint.key)
        if refusal:
            raise ConfigError(f"{key}[{i}].key: {_show(taint.key)} is not allowed: {refusal}")
    return taints


def _parse_spot(key: str, raw: Any) -> SpotConfig | None:
    if raw is False or raw == "false":
        return None  # a pool turning off the Spot capacity it would inherit from workers
    value = _mapping(key, raw)
    _reject_unknown(key, value, SPOT_KEYS)
    defaults = SpotConfig()
    return SpotConfig(
        on_demand_base_capacity=_int(
            f"{key}.onDemandBaseCapacity",
            value.get("onDemandBaseCapacity", defaults.on_demand_base_capacity),
            0,
            MAX_GROUP_SIZE,
        ),
        on_demand_percentage_above_base_capacity=_int(
            f"{key}.onDemandPercentageAboveBaseCapacity",
            value.get("onDemandPercentageAboveBaseCapacity", defaults.on_demand_percentage_above_base_capacity),
            0,
            100,
        ),
        allocation_strategy=_choice(
            f"{key}.allocationStrategy",
            value.get("allocationStrategy", defaults.allocation_strategy),
            SPOT_ALLOCATION_STRATEGIES,
        ),
    )


def _parse_instance_types(key: str, value: Mapping[str, Any], base: WorkersConfig) -> tuple[str, tuple[str, ...]]:
    """(instance_type, instance_types): a section sets one of the two keys, or inherits both from ``base``."""
    if "instanceType" in value and "instanceTypes" in value:
        raise ConfigError(
            f"{key}: instanceType and instanceTypes are both set; keep instanceTypes (a list) for several types "
            "or instanceType for one"
        )
    rule = "an EC2 instance type like m5.large"
    if "instanceTypes" in value:
        types = _string_list(f"{key}.instanceTypes", value["instanceTypes"], INSTANCE_TYPE_RE, rule)
        if not 1 <= len(types) <= MAX_INSTANCE_TYPES:
            raise ConfigError(
                f"{key}.instanceTypes: {len(types)} instance types listed; list 1 to {MAX_INSTANCE_TYPES} "
                "(or set instanceType for one)"
            )
        return types[0], types
    if "instanceType" in value:
        return _pattern(f"{key}.instanceType", value["instanceType"], INSTANCE_TYPE_RE, rule), ()
    return base.instance_type, base.instance_types


def _parse_node_settings(key: str, value: Mapping[str, Any], base: WorkersConfig) -> WorkersConfig:
    """The settings ``workers`` and each pool share; every key unset here takes ``base``'s value."""
    instance_type, instance_types = _parse_instance_types(key, value, base)
    desired = _int(f"{key}.desiredCapacity", value.get("desiredCapacity", base.desired_capacity), 1, MAX_GROUP_SIZE)
    # Unset bounds follow the desired capacity, so `desiredCapacity: 5` alone is a valid group.
    min_size = _int(f"{key}.minSize", value.get("minSize", min(base.min_size, desired)), 0, MAX_GROUP_SIZE)
    max_size = _int(f"{key}.maxSize", value.get("maxSize", max(base.max_size, desired)), 1, MAX_GROUP_SIZE)
    if not min_size <= desired <= max_size:
        raise ConfigError(
            f"{key}: minSize {min_size} <= desiredCapacity {desired} <= maxSize {max_size} does not hold; "
            "adjust them so that min <= desired <= max"
        )
    root = _int(f"{key}.rootVolumeSize", value.get("rootVolumeSize", base.root_volume_size), 8, 16384)
    key_name = value.get("keyName", base.key_name)
    if key_name is not None:
        key_name = _string(f"{key}.keyName", key_name)
    security_groups = base.security_group_ids
    if "securityGroupIds" in value:
        security_groups = _string_list(
            f"{key}.securityGroupIds",
            value["securityGroupIds"],
            SECURITY_GROUP_RE,
            "a security group id (sg- followed by 8 or 17 hex digits)",
        )
        if len(security_groups) > MAX_EXTRA_SECURITY_GROUPS:
            raise ConfigError(
                f"{key}.securityGroupIds: {len(security_groups)} security groups; a node's network interface takes "
                f"at most {MAX_EXTRA_SECURITY_GROUPS} next to the cluster security group (5 in all by default quota)"
            )
    return WorkersConfig(
        instance_type=instance_type,
        instance_types=instance_types,
        spot=_parse_spot(f"{key}.spot", value["spot"]) if "spot" in value else base.spot,
        desired_capacity=desired,
        min_size=min_size,
        max_size=max_size,
        root_volume_size=root,
        key_name=key_name,
        labels=_parse_labels(f"{key}.labels", value["labels"]) if "labels" in value else base.labels,
        taints=_parse_taints(f"{key}.taints", value["taints"]) if "taints" in value else base.taints,
        ssm_core=base.ssm_core,
        ami_family=_choice(f"{key}.amiFamily", value.get("amiFamily", base.ami_family), AMI_FAMILIES),
        security_group_ids=security_groups,
    )


def _parse_workers(raw: Any) -> WorkersConfig:
    value = _mapping("workers", raw)
    _reject_unknown("workers", value, WORKERS_KEYS)
    settings = _parse_node_settings("workers", value, WorkersConfig())
    return replace(settings, ssm_core=_bool("workers.ssmCore", value.get("ssmCore", False)))


def _parse_load_balancers(raw: Any, key: str = "loadBalancers") -> LoadBalancersConfig:
    value = _mapping(key, raw)
    _reject_unknown(key, value, LOAD_BALANCER_KEYS)
    return LoadBalancersConfig(
        target_group_arns=_string_list(
            f"{key}.targetGroupArns",
            value.get("targetGroupArns"),
            TARGET_GROUP_ARN_RE,
            "a target group ARN (arn:aws:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<16 hex>)",
        ),
        classic_elb_names=_string_list(
            f"{key}.classicElbNames",
            value.get("classicElbNames"),
            ELB_NAME_RE,
            "a classic ELB name (1-32 letters, digits and inner hyphens)",
        ),
    )


def _parse_pool_name(cluster_name: str, name: Any) -> str:
    where = f"pools.{name}"
    if name == DEFAULT_POOL:
        raise ConfigError(f"{where}: reserved; the default pool is configured by eks-bluegreen:workers (keep it there)")
    if not isinstance(name, str) or not POOL_NAME_RE.match(name):
        raise ConfigError(
            f"{where}: {_show(name)} is not a pool name (a DNS label: up to 63 lowercase letters, digits and inner "
            "hyphens)"
        )
    if name.endswith(f"-{DEFAULT_POOL}"):
        # <cluster>-<x>-workers-<color> is also the default pool's group name of a cluster named <cluster>-<x>.
        raise ConfigError(
            f"{where}: a pool name may not end in -{DEFAULT_POOL} (its groups' names could be "
            "another cluster's default pool); choose another name"
        )
    longest = launch_template_name(cluster_name, "green", name)
    if len(longest) > MAX_LAUNCH_TEMPLATE_NAME:
        raise ConfigError(
            f"{where}: the launch template name {longest} has {len(longest)} characters, more than EC2's "
            f"{MAX_LAUNCH_TEMPLATE_NAME}; choose a shorter pool name"
        )
    return name


def _parse_pool(cluster_name: str, name: Any, raw: Any, default: PoolConfig) -> PoolConfig:
    pool_name = _parse_pool_name(cluster_name, name)
    key = f"pools.{pool_name}"
    value = _mapping(key, raw)
    if "ssmCore" in value:
        raise ConfigError(
            f"{key}.ssmCore: not a pool setting; every pool shares one worker role, so set workers.ssmCore"
        )
    _reject_unknown(key, value, POOL_KEYS)
    settings = _parse_node_settings(key, value, default.workers)
    load_balancers = (
        _parse_load_balancers(value["loadBalancers"], f"{key}.loadBalancers")
        if "loadBalancers" in value
        else default.load_balancers
    )
    own_ami = "activeAmi" in value
    active_ami = parse_ami(f"{key}.activeAmi", value["activeAmi"]) if own_ami else default.active_ami
    active_color = value.get("activeColor") or None
    if active_color is not None:
        active_color = _choice(f"{key}.activeColor", active_color, COLORS)
    ami_key = f"{key}.activeAmi" if own_ami else default.active_ami_key
    return PoolConfig(pool_name, settings, load_balancers, active_ami, active_color, ami_key)


def _parse_pools(raw: Any, default: PoolConfig, cluster_name: str) -> tuple[PoolConfig, ...]:
    value = _mapping("pools", raw)
    return tuple(_parse_pool(cluster_name, name, item, default) for name, item in value.items())


def _parse_rollout(raw: Any) -> tuple[RolloutSettings, bool]:
    """The engine's rollout settings, and rollout.poolsInParallel (the program's own)."""
    value = _mapping("rollout", raw)
    _reject_unknown("rollout", value, (*ROLLOUT_KEYS, POOLS_IN_PARALLEL_KEY))
    overrides: dict[str, object] = {}
    for key, item in value.items():
        if key == POOLS_IN_PARALLEL_KEY:
            continue
        attr, kind = ROLLOUT_KEYS[key]
        where = f"rollout.{key}"
        if kind == "seconds":
            overrides[attr] = _seconds(where, item, allow_zero=False)
        elif kind == "seconds0":
            overrides[attr] = _seconds(where, item, allow_zero=True)
        elif kind == "count":
            overrides[attr] = _int(where, item, 1, MAX_GROUP_SIZE)
        elif kind == "alarmNames":
            overrides[attr] = _string_list(where, item, ALARM_NAME, ALARM_NAME_RULE)
        elif kind == "command":
            overrides[attr] = _pattern(where, item, COMMAND, COMMAND_RULE)
        elif kind == "url":
            overrides[attr] = _pattern(where, item, NOTIFY_URL, NOTIFY_URL_RULE)
        else:
            overrides[attr] = _choice(where, item, kind)
    in_parallel = _bool(f"rollout.{POOLS_IN_PARALLEL_KEY}", value.get(POOLS_IN_PARALLEL_KEY, False))
    return RolloutSettings().with_overrides(**overrides), in_parallel


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
    cluster = _parse_cluster(raw.get("cluster"))
    rollout, pools_in_parallel = _parse_rollout(raw.get("rollout"))
    config = StackConfig(
        active_ami=active_ami,
        active_color=active_color,
        cluster=cluster,
        workers=_parse_workers(raw.get("workers")),
        load_balancers=_parse_load_balancers(raw.get("loadBalancers")),
        rollout=rollout,
        example_workload=_parse_example_workload(raw.get("exampleWorkload")),
        pools_in_parallel=pools_in_parallel,
    )
    return replace(config, pools=_parse_pools(raw.get("pools"), config.default_pool, cluster.name))
