"""Scenario files: what a rehearsal runs on (nodes, load balancers, workloads, timing, faults).

A scenario is YAML with the field names of issue 3 (schema and examples in
docs/sandbox.md). ``load_scenario`` validates every field and fails with one
ScenarioError naming the file, the field path, the value and what is allowed.
The builtin scenarios live next to this module in ``scenarios/<name>.yaml``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, get_args

import yaml

from bluegreen.engine.naming import COLOR_LABEL, DEFAULT_POOL, POOL_LABEL
from bluegreen.engine.settings import ROLLOUT_CONFIG_KEYS, RolloutSettings
from bluegreen.sandbox.kube.store import ClusterTiming

BUILTIN_DIR = Path(__file__).with_name("scenarios")
DEFAULT_SCENARIO = "small"
#: Simulated seconds per real second when a scenario does not say.
DEFAULT_SPEED = 20.0
#: How often the engine's waits look again in the sandbox (simulated seconds), unless overridden.
SANDBOX_POLL_INTERVAL_S = 1.0

Placement = Literal["packed", "spread"]
WorkloadKind = Literal["Deployment", "StatefulSet", "DaemonSet", "Pod", "Job", "PodSet"]
CrashPoint = Literal["after_scale_up", "after_gates", "after_cordon", "mid_node", "after_first_node"]
FaultColor = Literal["new", "old"]
#: Which of the scenario's two AMIs a run sets as ``activeAmi``.
RunTarget = Literal["to", "from"]

#: A scenario's ``rollout:`` block takes exactly the keys of the stack's ``eks-bluegreen:rollout`` config (so a
#: stack's block can be pasted in): the engine's one table (settings.ROLLOUT_CONFIG_KEYS), which the stack reads too.
ROLLOUT_KEYS = ROLLOUT_CONFIG_KEYS
#: The rollout key of the program itself (not an engine setting): pools cut over at once instead of in turn.
POOLS_IN_PARALLEL_KEY = "poolsInParallel"
#: The upper bound of maxParallelNodes (the stack's limit on a group's size).
MAX_PARALLEL_NODES = 1000

# Tolerations as kube-apiserver validates them (pkg/apis/core/validation/validation.go, ValidateTolerations).
TOLERATION_KEYS = ("key", "operator", "value", "effect", "tolerationSeconds")
TOLERATION_OPERATORS = ("Exists", "Equal")
TOLERATION_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")

_AMI = re.compile(r"^ami-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_QUANTITY = re.compile(r"^(?:\d+(?:\.\d+)?|\.\d+)(?:m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_PERCENT = re.compile(r"^(?:100|[1-9]?\d)%$")
# Annotation keys as kube-apiserver validates them (apimachinery validation.IsQualifiedName): an optional DNS
# subdomain prefix and "/", then a name of at most 63 characters.
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
#: The sandbox's own annotations (readiness delay, run time, faults) live under this prefix; a scenario sets them
#: through its own fields.
SANDBOX_ANNOTATION_PREFIX = "sandbox.bluegreen.io/"


class ScenarioError(ValueError):
    """A scenario that cannot be loaded; the message names the file, the field, the value and what is allowed."""

    def __init__(self, source: str, path: str, problem: str):
        self.source = source
        self.path = path
        self.problem = problem
        where = f"{source}: {path}" if path else source
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class NodeShape:
    """What one worker node offers the scheduler."""

    cpu: str  # Kubernetes quantity, e.g. "4" or "3920m"
    memory: str  # e.g. "16Gi"
    pods: int
    instance_type: str = "m5.xlarge"
    labels: dict[str, str] = field(default_factory=dict)  # kubelet --node-labels, beside the sandbox's own
    taints: tuple[dict[str, str], ...] = ()  # kubelet --register-with-taints: {key, value, effect}
    zones: tuple[str, ...] = ()  # Availability Zone letters of the group's subnets ("a", "b"); empty: all


@dataclass(frozen=True)
class AmiPair:
    """The AMI the cluster serves on now (``from``) and the one the cutover moves it to (``to``)."""

    from_: str
    to: str


@dataclass(frozen=True)
class LoadBalancers:
    """How many target groups and classic ELBs both colors are attached to, and how fast targets pass checks."""

    target_groups: int = 1
    classic_elbs: int = 0
    healthy_after_seconds: float = 10.0


@dataclass(frozen=True)
class Budget:
    """A PodDisruptionBudget: exactly one of min_available / max_unavailable (an int or "N%")."""

    min_available: int | str | None = None
    max_unavailable: int | str | None = None

    def as_spec(self) -> dict[str, int | str]:
        """The PDB spec fields, in Kubernetes spelling."""
        if self.min_available is not None:
            return {"minAvailable": self.min_available}
        return {"maxUnavailable": self.max_unavailable}  # type: ignore[dict-item]


@dataclass(frozen=True)
class Workload:
    kind: WorkloadKind
    name: str
    namespace: str = "default"
    replicas: int = 1  # ignored for DaemonSet (one pod per node) and Pod (one pod)
    cpu: str = "100m"
    memory: str = "128Mi"
    ready_seconds: float = 5.0
    grace_seconds: float = 5.0
    pdb: Budget | None = None
    empty_dir: bool = False
    tolerations: tuple[dict[str, Any], ...] = ()
    node_selector: dict[str, str] = field(default_factory=dict)
    affinity: dict[str, Any] | None = None  # a pod spec's affinity: nodeAffinity.requiredDuring... only
    zonal_volume: bool = False  # StatefulSet: each pod's volume is bound to the zone it first ran in
    completions: int = 1  # Job: pods that must succeed, one after another
    run_seconds: float = 60.0  # Job: how long each pod runs once Ready, then succeeds
    # Pod-template annotations (e.g. karpenter.sh/do-not-disrupt: "true"), copied onto every pod of the workload.
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Pool:
    """One blue/green pair of worker groups: the default pool (``workers``: the scenario's own ``nodes_per_color``,
    ``node`` and ``ami``) or one of ``pools``. Its groups are ``<cluster>-<pool>-<color>``; the nodes of a pool
    other than the default one carry the pool label (naming.POOL_LABEL)."""

    name: str
    nodes_per_color: int
    node: NodeShape
    ami: AmiPair
    load_balancers: bool = True  # attached to the scenario's target groups and classic ELBs

    @property
    def is_default(self) -> bool:
        return self.name == DEFAULT_POOL


@dataclass(frozen=True)
class NodeNeverReady:
    """The first ``count`` instances of the color join as nodes that stay NotReady."""

    count: int
    color: FaultColor = "new"
    kind: Literal["node_never_ready"] = "node_never_ready"


@dataclass(frozen=True)
class TargetUnhealthy:
    """The first ``count`` instances of the color never pass load-balancer health checks."""

    count: int
    color: FaultColor = "new"
    kind: Literal["target_unhealthy"] = "target_unhealthy"


@dataclass(frozen=True)
class ApiErrors:
    """The fake Kubernetes API answers a fraction ``rate`` of requests with ``status`` once the sandbox is up."""

    rate: float
    status: int = 500
    seed: int = 0
    kind: Literal["api_errors"] = "api_errors"


@dataclass(frozen=True)
class NodeLost:
    """The kubelets of ``count`` nodes of the color stop reporting at ``at``: a crash point name (when the
    cutover reaches it) or a simulated second after the sandbox started. The node lifecycle controller then
    marks them Unknown after its grace period and the taint-eviction controller deletes their pods."""

    at: CrashPoint | float
    count: int = 1
    color: FaultColor = "old"
    kind: Literal["node_lost"] = "node_lost"


@dataclass(frozen=True)
class Rollout:
    """The workload's pod template changes at ``at`` (a crash point or a simulated second after the sandbox
    started), as ``kubectl rollout restart`` changes it: its controller rolls every pod over."""

    workload: str  # "namespace/name" of a Deployment or StatefulSet
    at: CrashPoint | float
    kind: Literal["rollout"] = "rollout"


@dataclass(frozen=True)
class StuckTerminating:
    """The first ``count`` pods of the workload carry a finalizer nobody removes: once deleted they stay
    Terminating for good (a stuck operator or volume detach)."""

    workload: str  # "name" or "namespace/name"
    count: int = 1
    kind: Literal["stuck_terminating"] = "stuck_terminating"


@dataclass(frozen=True)
class NeverReadyAfterMove:
    """Pods of the workload started on the new AMI's nodes never become Ready ("the new AMI breaks one app")."""

    workload: str
    kind: Literal["never_ready_after_move"] = "never_ready_after_move"


@dataclass(frozen=True)
class UnreadyBeforeMove:
    """Pods of the workload on the old AMI's nodes never become Ready (they are unready when the drain starts);
    on the new AMI they start normally."""

    workload: str
    kind: Literal["unready_before_move"] = "unready_before_move"


@dataclass(frozen=True)
class Crash:
    """The cutover process dies at ``at`` (the rehearsal driver kills its first attempt there)."""

    at: CrashPoint
    kind: Literal["crash"] = "crash"


#: When an ``alarm`` fault fires, besides the crash points: the end of the drain, the start of the bake.
AfterDrain = Literal["after_drain"]


@dataclass(frozen=True)
class AlarmFires:
    """The CloudWatch alarm ``name`` (one of ``rollout.alarms``) goes into state ALARM at ``at``: a crash point,
    ``after_drain`` (the drain verified, the bake starting) or a simulated second after the sandbox started
    (``0``: already firing before the cutover)."""

    name: str
    at: CrashPoint | AfterDrain | float
    kind: Literal["alarm"] = "alarm"


Fault = (NodeNeverReady | TargetUnhealthy | ApiErrors | NodeLost | Crash | StuckTerminating | NeverReadyAfterMove
         | UnreadyBeforeMove | Rollout | AlarmFires)


@dataclass(frozen=True)
class Run:
    """One `pulumi up` of an operator's sequence: ``activeAmi`` set to ``ami.to`` or ``ami.from``, optionally killed
    at a crash point."""

    to: RunTarget
    crash: CrashPoint | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    nodes_per_color: int
    node: NodeShape
    join_seconds: float
    ami: AmiPair
    load_balancers: LoadBalancers
    workloads: tuple[Workload, ...]
    placement: Placement = "spread"
    faults: tuple[Fault, ...] = ()
    # RolloutSettings overrides by field name, parsed from the stack-style ``rollout:`` keys (ROLLOUT_KEYS).
    rollout: dict[str, Any] = field(default_factory=dict)
    timing: ClusterTiming = field(default_factory=ClusterTiming)
    speed: float = DEFAULT_SPEED
    description: str = ""
    source: str = ""  # where it was loaded from (a path or "builtin:<name>")
    new_node: NodeShape | None = None  # the new color's nodes, when they differ from ``node``

    # The operator's sequence of `pulumi up`s; empty: one cutover to ami.to (run again once after a crash fault).
    runs: tuple[Run, ...] = ()
    # Pools after the default one, in the order listed (the order they cut over in).
    pools: tuple[Pool, ...] = ()
    # rollout.poolsInParallel: every pool's new color scales up at once instead of one pool after another.
    pools_in_parallel: bool = False

    @property
    def new_node_shape(self) -> NodeShape:
        """What a node of the new color offers: ``new_node`` (its fields over ``node``'s), else ``node``."""
        return self.new_node or self.node

    @property
    def default_pool(self) -> Pool:
        return Pool(DEFAULT_POOL, self.nodes_per_color, self.node, self.ami)

    def all_pools(self) -> tuple[Pool, ...]:
        """Every pool in cutover order: the default pool first, then ``pools`` as listed."""
        return (self.default_pool, *self.pools)

    def rollout_settings(self, base: RolloutSettings | None = None) -> RolloutSettings:
        """``base`` (default RolloutSettings()) with this scenario's overrides; polling is sandbox-fast
        (SANDBOX_POLL_INTERVAL_S) unless the scenario sets ``poll_interval_s`` itself."""
        settings = base or RolloutSettings()
        overrides = dict(self.rollout)
        overrides.setdefault("poll_interval_s", min(settings.poll_interval_s, SANDBOX_POLL_INTERVAL_S))
        return settings.with_overrides(**overrides)

    @property
    def crash_at(self) -> str | None:
        """The crash fault's point, if the scenario has one."""
        return next((f.at for f in self.faults if isinstance(f, Crash)), None)

    def faults_of(self, kind: type) -> list[Any]:
        return [f for f in self.faults if isinstance(f, kind)]

    def planned_runs(self) -> tuple[Run, ...]:
        """The runs to play: ``runs`` when given; else one cutover to ami.to, and after a crash fault the
        killed run followed by a re-run (the behaviour before ``runs:`` existed)."""
        if self.runs:
            return self.runs
        if self.crash_at is not None:
            return (Run("to", self.crash_at), Run("to"))  # type: ignore[arg-type]
        return (Run("to"),)


# --------------------------------------------------------------------------------------------------------------------
# Loading


def speed_argument(text: str) -> float:
    """A ``--speed`` flag's value: a finite number > 0 (simulated seconds per real second). Raises ValueError with
    one line naming what is allowed (argparse reports it as the flag's error)."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number; allowed: a finite number > 0") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{text!r} is not allowed; allowed: a finite number > 0")
    return value


def builtin_scenarios() -> list[str]:
    """Names of the scenarios that ship with the package."""
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml"))


def load_scenario(source: str | Path | None = None) -> Scenario:
    """A builtin scenario by name (None: "small"), or a scenario file by path."""
    if source is None:
        source = DEFAULT_SCENARIO
    path = Path(source)
    if isinstance(source, str) and source in builtin_scenarios():
        path, label = BUILTIN_DIR / f"{source}.yaml", f"builtin:{source}"
    elif path.is_dir():
        raise ScenarioError(str(source), "", "is a directory; give a scenario file (YAML) or a builtin name: "
                            f"{', '.join(builtin_scenarios())}")
    elif path.is_file():
        label = str(path)
    else:
        raise ScenarioError(
            str(source),
            "",
            f"no such scenario file, and not a builtin scenario; builtin: {', '.join(builtin_scenarios())}",
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ScenarioError(label, "", f"cannot be read ({_one_line(str(error))}); give a readable UTF-8 YAML file") \
            from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ScenarioError(label, "", f"is not valid YAML: {_one_line(str(error))}") from None
    return parse_scenario(document, source=label, default_name=path.stem)


def parse_scenario(document: Any, *, source: str = "<scenario>", default_name: str = "scenario") -> Scenario:
    """Validate a scenario already read from YAML (a mapping) and build the Scenario."""
    return _Parser(source).scenario(document, default_name)


_SCENARIO_KEYS = (
    "name",
    "description",
    "speed",
    "nodes_per_color",
    "node",
    "new_node",
    "join_seconds",
    "ami",
    "load_balancers",
    "placement",
    "workloads",
    "faults",
    "rollout",
    "timing",
    "runs",
    "pools",
)
_POOL_KEYS = ("nodes_per_color", "node", "ami", "load_balancers")
_TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
_RUN_KEYS = ("to", "crash")
_WORKLOAD_KEYS = (
    "kind",
    "name",
    "namespace",
    "replicas",
    "cpu",
    "memory",
    "ready_seconds",
    "grace_seconds",
    "pdb",
    "empty_dir",
    "tolerations",
    "nodeSelector",
    "affinity",
    "zonal_volume",
    "completions",
    "run_seconds",
    "annotations",
)
_NODE_KEYS = ("cpu", "memory", "pods", "instance_type", "labels", "taints", "zones")
_TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
_SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")
#: Availability Zone letters of the sandbox VPC's subnets.
ZONES = ("a", "b")
_FAULT_KEYS: dict[str, tuple[str, ...]] = {
    "node_never_ready": ("kind", "count", "color"),
    "target_unhealthy": ("kind", "count", "color"),
    "api_errors": ("kind", "rate", "status", "seed"),
    "node_lost": ("kind", "count", "color", "at"),
    "crash": ("kind", "at"),
    "alarm": ("kind", "name", "at"),
    "stuck_terminating": ("kind", "workload", "count"),
    "rollout": ("kind", "workload", "at"),
    "never_ready_after_move": ("kind", "workload"),
    "unready_before_move": ("kind", "workload"),
}
_REQUIRED = object()


class _Parser:
    def __init__(self, source: str):
        self.source = source

    def fail(self, path: str, problem: str) -> ScenarioError:
        return ScenarioError(self.source, path, problem)

    # -- primitives --------------------------------------------------------------------------------------------------

    def mapping(self, value: Any, path: str, allowed: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"{value!r} is not a mapping; expected keys: {', '.join(allowed)}")
        unknown = [k for k in value if k not in allowed]
        if unknown:
            at = f"{path}.{unknown[0]}" if path else str(unknown[0])
            raise self.fail(at, f"unknown field {unknown[0]!r}; allowed here: {', '.join(allowed)}")
        return value

    def get(self, data: dict[str, Any], key: str, path: str, default: Any = _REQUIRED) -> Any:
        if key not in data or data[key] is None:
            if default is _REQUIRED:
                raise self.fail(_join(path, key), "is required")
            return default
        return data[key]

    def integer(self, value: Any, path: str, minimum: int = 0, maximum: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(path, f"{value!r} is not an integer")
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
            raise self.fail(path, f"{value!r} is out of range; allowed: an integer {bound}")
        return value

    def number(self, value: Any, path: str, minimum: float = 0.0, *, exclusive: bool = False) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(path, f"{value!r} is not a number")
        if not math.isfinite(value):
            raise self.fail(path, f"{value!r} is not allowed; allowed: a finite number {'>' if exclusive else '>='} "
                            f"{minimum}")
        if value < minimum or (exclusive and value == minimum):
            bound = f"{'>' if exclusive else '>='} {minimum}"
            raise self.fail(path, f"{value!r} is out of range; allowed: a number {bound}")
        return float(value)

    def boolean(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, f"{value!r} is not a boolean; allowed: true or false")
        return value

    def choice(self, value: Any, path: str, allowed: tuple[str, ...]) -> Any:
        if value not in allowed:
            raise self.fail(path, f"{value!r} is not allowed; allowed: {', '.join(allowed)}")
        return value

    def quantity(self, value: Any, path: str, example: str) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.fail(path, f"{value!r} is not a Kubernetes quantity (e.g. {example})")
        text = str(value)
        if not _QUANTITY.match(text):
            raise self.fail(path, f"{value!r} is not a Kubernetes quantity (e.g. {example})")
        return text

    def dns_label(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or len(value) > 63 or not _DNS_LABEL.match(value):
            raise self.fail(
                path, f"{value!r} is not a valid name (lowercase letters, digits and '-', at most 63 characters)"
            )
        return value

    # -- sections ----------------------------------------------------------------------------------------------------

    def scenario(self, document: Any, default_name: str) -> Scenario:
        data = self.mapping(document, "", _SCENARIO_KEYS)
        name = self.get(data, "name", "", default_name)
        if not isinstance(name, str) or not name:
            raise self.fail("name", f"{name!r} is not a non-empty string")
        description = self.get(data, "description", "", "")
        if not isinstance(description, str):
            raise self.fail("description", f"{description!r} is not a string")
        nodes_per_color = self.integer(self.get(data, "nodes_per_color", ""), "nodes_per_color", 1, 500)
        workloads = self.workloads(self.get(data, "workloads", "", []))
        faults = self.faults(self.get(data, "faults", "", []), nodes_per_color)
        names = {f"{w.namespace}/{w.name}": w for w in workloads}
        for index, fault in enumerate(faults):
            key = getattr(fault, "workload", None)
            if key is None:
                continue
            if key not in names:
                raise self.fail(f"faults[{index}].workload", f"{key!r} is not a workload of this scenario "
                                f"({', '.join(sorted(names)) or 'none'})")
            if names[key].kind == "DaemonSet":
                raise self.fail(f"faults[{index}].workload", "a drain leaves DaemonSet pods alone; name a workload "
                                "whose pods move")
            if isinstance(fault, Rollout) and names[key].kind not in ("Deployment", "StatefulSet"):
                raise self.fail(f"faults[{index}].workload", f"a {names[key].kind} has no pod template to roll out; "
                                "name a Deployment or StatefulSet")
        node = self.node(self.get(data, "node", ""))
        new_node = None
        if data.get("new_node") is not None:
            raw = self.mapping(data["new_node"], "new_node", _NODE_KEYS)
            base = {"cpu": node.cpu, "memory": node.memory, "pods": node.pods, "instance_type": node.instance_type,
                    "labels": dict(node.labels), "taints": [dict(t) for t in node.taints], "zones": list(node.zones)}
            new_node = self.node({**base, **raw}, "new_node")
        runs = self.runs(data["runs"]) if data.get("runs") is not None else ()
        crashes = [i for i, f in enumerate(faults) if isinstance(f, Crash)]
        if runs and crashes:
            raise self.fail(f"faults[{crashes[0]}]", "a crash fault cannot be combined with runs; give the run that "
                            "dies a crash: (e.g. runs: [{to: to, crash: mid_node}, {to: to}])")
        rollout_raw = self.get(data, "rollout", "", {})
        pools_in_parallel = False
        if isinstance(rollout_raw, dict) and POOLS_IN_PARALLEL_KEY in rollout_raw:
            rollout_raw = dict(rollout_raw)
            pools_in_parallel = self.boolean(rollout_raw.pop(POOLS_IN_PARALLEL_KEY),
                                             f"rollout.{POOLS_IN_PARALLEL_KEY}")
        ami = self.ami(self.get(data, "ami", ""))
        rollout = self.rollout(rollout_raw)
        for index, fault in enumerate(faults):
            if isinstance(fault, AlarmFires) and fault.name not in rollout.get("alarms", ()):
                raise self.fail(f"faults[{index}].name", f"{fault.name!r} is not one of rollout.alarms "
                                f"({', '.join(rollout.get('alarms', ())) or 'none listed'}); the sandbox creates only "
                                "the alarms the rollout watches")
        return Scenario(
            name=name,
            description=description,
            nodes_per_color=nodes_per_color,
            node=node,
            new_node=new_node,
            join_seconds=self.number(self.get(data, "join_seconds", "", 30.0), "join_seconds"),
            ami=ami,
            pools=self.pools(self.get(data, "pools", "", {}), ami),
            pools_in_parallel=pools_in_parallel,
            load_balancers=self.load_balancers(self.get(data, "load_balancers", "", {})),
            workloads=workloads,
            placement=self.choice(self.get(data, "placement", "", "spread"), "placement", get_args(Placement)),
            faults=faults,
            rollout=rollout,
            timing=self.timing(self.get(data, "timing", "", {})),
            runs=runs,
            speed=self.number(self.get(data, "speed", "", DEFAULT_SPEED), "speed", 0.0, exclusive=True),
            source=self.source,
        )

    def node(self, value: Any, path: str = "node") -> NodeShape:
        data = self.mapping(value, path, _NODE_KEYS)
        instance_type = self.get(data, "instance_type", path, "m5.xlarge")
        if not isinstance(instance_type, str) or not re.match(r"^[a-z0-9-]+\.[a-z0-9]+$", instance_type):
            raise self.fail(f"{path}.instance_type", f"{instance_type!r} is not an EC2 instance type (e.g. m5.xlarge)")
        zones = self.get(data, "zones", path, [])
        if not isinstance(zones, list) or not all(z in ZONES for z in zones) or len(set(zones)) != len(zones):
            raise self.fail(f"{path}.zones", f"{zones!r} is not allowed; allowed: a list of distinct Availability "
                            f"Zone letters of the sandbox VPC ({', '.join(ZONES)})")
        return NodeShape(
            cpu=self.quantity(self.get(data, "cpu", path), f"{path}.cpu", "'4' or '3920m'"),
            memory=self.quantity(self.get(data, "memory", path), f"{path}.memory", "'16Gi'"),
            pods=self.integer(self.get(data, "pods", path), f"{path}.pods", 1, 1000),
            instance_type=instance_type,
            labels=self.labels(self.get(data, "labels", path, {}), f"{path}.labels", reserved=True),
            taints=self.taints(self.get(data, "taints", path, []), f"{path}.taints"),
            zones=tuple(zones),
        )

    def labels(self, value: Any, path: str, *, reserved: bool = False) -> dict[str, str]:
        """Node labels (or a nodeSelector): label keys to string values. ``reserved``: the color and pool labels
        are the sandbox's own (set on every node of each group), as the stack refuses them."""
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise self.fail(path, f"{value!r} is not a mapping of label names to string values")
        for key in value:
            if reserved and key in (COLOR_LABEL, POOL_LABEL):
                raise self.fail(f"{path}.{key}", "reserved; the sandbox sets it on every node of each group")
        return dict(value)

    def taints(self, value: Any, path: str) -> tuple[dict[str, str], ...]:
        if not isinstance(value, list):
            raise self.fail(path, f"{value!r} is not a list of taints ({{key, value, effect}})")
        result = []
        for index, item in enumerate(value):
            at = f"{path}[{index}]"
            data = self.mapping(item, at, ("key", "value", "effect"))
            key = self.get(data, "key", at)
            if not isinstance(key, str) or not key:
                raise self.fail(f"{at}.key", f"{key!r} is not a taint key")
            taint_value = self.get(data, "value", at, "")
            if not isinstance(taint_value, str):
                raise self.fail(f"{at}.value", f"{taint_value!r} is not a string")
            effect = self.choice(self.get(data, "effect", at), f"{at}.effect", _TAINT_EFFECTS)
            result.append({"key": key, **({"value": taint_value} if taint_value else {}), "effect": effect})
        return tuple(result)

    def node_affinity(self, value: Any, path: str) -> dict[str, Any]:
        """A pod spec's ``affinity`` with required node affinity only (what the sandbox's scheduler honours)."""
        data = self.mapping(value, path, ("nodeAffinity",))
        node_affinity = self.mapping(self.get(data, "nodeAffinity", path), f"{path}.nodeAffinity",
                                     ("requiredDuringSchedulingIgnoredDuringExecution",))
        where = f"{path}.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
        required = self.mapping(self.get(node_affinity, "requiredDuringSchedulingIgnoredDuringExecution",
                                         f"{path}.nodeAffinity"), where, ("nodeSelectorTerms",))
        terms = self.get(required, "nodeSelectorTerms", where)
        if not isinstance(terms, list) or not terms:
            raise self.fail(f"{where}.nodeSelectorTerms", f"{terms!r} is not a non-empty list of node selector terms")
        for index, term in enumerate(terms):
            at = f"{where}.nodeSelectorTerms[{index}]"
            term = self.mapping(term, at, ("matchExpressions", "matchFields"))
            for kind in ("matchExpressions", "matchFields"):
                items = self.get(term, kind, at, [])
                if not isinstance(items, list):
                    raise self.fail(f"{at}.{kind}", f"{items!r} is not a list of requirements")
                for number, requirement in enumerate(items):
                    req_at = f"{at}.{kind}[{number}]"
                    requirement = self.mapping(requirement, req_at, ("key", "operator", "values"))
                    key = self.get(requirement, "key", req_at)
                    if kind == "matchFields" and key != "metadata.name":
                        raise self.fail(f"{req_at}.key", f"{key!r} is not allowed; allowed: metadata.name")
                    self.choice(self.get(requirement, "operator", req_at), f"{req_at}.operator", _SELECTOR_OPERATORS)
                    values = self.get(requirement, "values", req_at, [])
                    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                        raise self.fail(f"{req_at}.values", f"{values!r} is not a list of strings")
        return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}}

    def pools(self, value: Any, ami: AmiPair) -> tuple[Pool, ...]:
        """``pools:`` maps a pool name (a DNS label, not the default pool's) to its own groups' shape, in cutover
        order."""
        if not isinstance(value, dict):
            raise self.fail("pools", f"{value!r} is not a mapping of pool names to pools ({', '.join(_POOL_KEYS)})")
        result = []
        for name, raw in value.items():
            path = f"pools.{name}"
            if name == DEFAULT_POOL:
                raise self.fail(path, f"reserved; the default pool ({DEFAULT_POOL}) is the scenario's own "
                                "nodes_per_color, node and ami")
            self.dns_label(name, path)
            if str(name).endswith(f"-{DEFAULT_POOL}"):
                raise self.fail(path, f"a pool name may not end in -{DEFAULT_POOL} (the stack refuses it too)")
            data = self.mapping(raw, path, _POOL_KEYS)
            result.append(Pool(
                name=name,
                nodes_per_color=self.integer(self.get(data, "nodes_per_color", path), f"{path}.nodes_per_color", 1,
                                             500),
                node=self.node(self.get(data, "node", path), f"{path}.node"),
                ami=self.ami(data["ami"], f"{path}.ami") if data.get("ami") is not None else ami,
                load_balancers=self.boolean(self.get(data, "load_balancers", path, True), f"{path}.load_balancers"),
            ))
        return tuple(result)

    def ami(self, value: Any, path: str = "ami") -> AmiPair:
        data = self.mapping(value, path, ("from", "to"))
        pair = []
        for key in ("from", "to"):
            ami = self.get(data, key, path)
            if not isinstance(ami, str) or not _AMI.match(ami):
                raise self.fail(f"{path}.{key}", f"{ami!r} is not an AMI id (ami- followed by 8 or 17 hex digits)")
            pair.append(ami)
        if pair[0] == pair[1]:
            raise self.fail(f"{path}.to", f"{pair[1]!r} is the same as {path}.from; a cutover needs a different AMI")
        return AmiPair(from_=pair[0], to=pair[1])

    def load_balancers(self, value: Any) -> LoadBalancers:
        data = self.mapping(value, "load_balancers", ("target_groups", "classic_elbs", "healthy_after_seconds"))
        return LoadBalancers(
            target_groups=self.integer(
                self.get(data, "target_groups", "load_balancers", 1), "load_balancers.target_groups", 0, 10
            ),
            classic_elbs=self.integer(
                self.get(data, "classic_elbs", "load_balancers", 0), "load_balancers.classic_elbs", 0, 10
            ),
            healthy_after_seconds=self.number(
                self.get(data, "healthy_after_seconds", "load_balancers", 10.0),
                "load_balancers.healthy_after_seconds",
            ),
        )

    def workloads(self, value: Any) -> tuple[Workload, ...]:
        if not isinstance(value, list):
            raise self.fail("workloads", f"{value!r} is not a list of workloads")
        result: list[Workload] = []
        seen: dict[tuple[str, str], str] = {}
        for index, item in enumerate(value):
            workload = self.workload(item, f"workloads[{index}]")
            key = (workload.namespace, workload.name)
            if key in seen:
                raise self.fail(
                    f"workloads[{index}].name",
                    f"{workload.name!r} is already used in namespace {workload.namespace!r} by {seen[key]}; "
                    "names must be unique per namespace",
                )
            seen[key] = f"workloads[{index}]"
            result.append(workload)
        return tuple(result)

    def workload(self, value: Any, path: str) -> Workload:
        data = self.mapping(value, path, _WORKLOAD_KEYS)
        kind = self.choice(self.get(data, "kind", path), f"{path}.kind", get_args(WorkloadKind))
        name = self.dns_label(self.get(data, "name", path), f"{path}.name")
        namespace = self.dns_label(self.get(data, "namespace", path, "default"), f"{path}.namespace")
        for key in ("completions", "run_seconds"):
            if key in data and kind != "Job":
                raise self.fail(f"{path}.{key}", f"only a Job has {key}; remove the field")
        if kind == "Job" and data.get("pdb") is not None:
            raise self.fail(f"{path}.pdb", "the drain waits for a Job's pods to complete instead of budgeting them; "
                            "remove the pdb")
        if "replicas" in data and kind in ("DaemonSet", "Pod", "Job"):
            raise self.fail(
                f"{path}.replicas",
                f"{kind} has no replicas (a DaemonSet runs one pod per node, a Pod is one pod); remove the field",
            )
        replicas = self.integer(self.get(data, "replicas", path, 1), f"{path}.replicas", 0, 1000)
        pdb = None
        if data.get("pdb") is not None:
            if kind == "DaemonSet":
                raise self.fail(f"{path}.pdb", "a drain leaves DaemonSet pods alone, so a pdb has no effect; remove it")
            pdb = self.budget(data["pdb"], f"{path}.pdb")
        tolerations = self.tolerations(self.get(data, "tolerations", path, []), f"{path}.tolerations")
        zonal_volume = self.boolean(self.get(data, "zonal_volume", path, False), f"{path}.zonal_volume")
        if zonal_volume and kind != "StatefulSet":
            raise self.fail(f"{path}.zonal_volume", f"a {kind} has no per-pod volume claims; zonal_volume needs kind "
                            "StatefulSet")
        affinity = self.node_affinity(data["affinity"], f"{path}.affinity") if data.get("affinity") else None
        return Workload(
            kind=kind,
            name=name,
            namespace=namespace,
            replicas=replicas,
            cpu=self.quantity(self.get(data, "cpu", path, "100m"), f"{path}.cpu", "'250m'"),
            memory=self.quantity(self.get(data, "memory", path, "128Mi"), f"{path}.memory", "'256Mi'"),
            ready_seconds=self.number(self.get(data, "ready_seconds", path, 5.0), f"{path}.ready_seconds"),
            grace_seconds=self.number(self.get(data, "grace_seconds", path, 5.0), f"{path}.grace_seconds"),
            pdb=pdb,
            empty_dir=self.boolean(self.get(data, "empty_dir", path, False), f"{path}.empty_dir"),
            tolerations=tolerations,
            node_selector=self.labels(self.get(data, "nodeSelector", path, {}), f"{path}.nodeSelector"),
            affinity=affinity,
            zonal_volume=zonal_volume,
            completions=self.integer(self.get(data, "completions", path, 1), f"{path}.completions", 1, 100),
            run_seconds=self.number(self.get(data, "run_seconds", path, 60.0), f"{path}.run_seconds", 0.0,
                                    exclusive=True),
            annotations=self.annotations(self.get(data, "annotations", path, {}), f"{path}.annotations"),
        )

    def annotations(self, value: Any, path: str) -> dict[str, str]:
        """Pod-template annotations: qualified-name keys (as the API server validates them) to string values."""
        if not isinstance(value, dict):
            raise self.fail(path, f"{value!r} is not a mapping of annotation names to string values")
        for key, item in value.items():
            at = f"{path}.{key}"
            prefix, _, name = key.rpartition("/") if isinstance(key, str) else ("", "", "")
            if (not isinstance(key, str) or len(name) > 63 or not _QUALIFIED_NAME.match(name)
                    or (prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)))):
                raise self.fail(at, f"{key!r} is not an annotation name (an optional DNS subdomain prefix and '/', "
                                "then at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter "
                                "or digit)")
            if key.startswith(SANDBOX_ANNOTATION_PREFIX):
                raise self.fail(at, f"reserved; the sandbox sets {SANDBOX_ANNOTATION_PREFIX}* annotations from the "
                                "workload's own fields (ready_seconds, run_seconds, faults)")
            if not isinstance(item, str):
                raise self.fail(at, f"{item!r} is not a string; annotation values are strings (quote \"true\")")
        return dict(value)

    def budget(self, value: Any, path: str) -> Budget:
        data = self.mapping(value, path, ("minAvailable", "maxUnavailable"))
        if len(data) != 1:
            raise self.fail(path, f"{data!r} must set exactly one of minAvailable or maxUnavailable")
        key, raw = next(iter(data.items()))
        field_path = f"{path}.{key}"
        if isinstance(raw, str):
            if not _PERCENT.match(raw):
                raise self.fail(field_path, f"{raw!r} is not allowed; allowed: an integer >= 0 or a percentage 0%-100%")
            amount: int | str = raw
        else:
            if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
                raise self.fail(field_path, f"{raw!r} is not allowed; allowed: an integer >= 0 or a percentage 0%-100%")
            amount = raw
        return Budget(min_available=amount) if key == "minAvailable" else Budget(max_unavailable=amount)

    def faults(self, value: Any, nodes_per_color: int) -> tuple[Fault, ...]:
        if not isinstance(value, list):
            raise self.fail("faults", f"{value!r} is not a list of faults")
        result: list[Fault] = []
        for index, item in enumerate(value):
            path = f"faults[{index}]"
            if not isinstance(item, dict):
                raise self.fail(path, f"{item!r} is not a mapping with a kind ({', '.join(_FAULT_KEYS)})")
            kind = self.choice(item.get("kind"), f"{path}.kind", tuple(_FAULT_KEYS))
            data = self.mapping(item, path, _FAULT_KEYS[kind])
            fault: Fault
            if kind in ("node_never_ready", "target_unhealthy"):
                count = self.integer(self.get(data, "count", path, 1), f"{path}.count", 1, nodes_per_color)
                color = self.choice(self.get(data, "color", path, "new"), f"{path}.color", get_args(FaultColor))
                fault = NodeNeverReady(count, color) if kind == "node_never_ready" else TargetUnhealthy(count, color)
            elif kind == "api_errors":
                rate = self.number(self.get(data, "rate", path), f"{path}.rate", 0.0, exclusive=True)
                if rate > 1.0:
                    raise self.fail(f"{path}.rate", f"{rate!r} is out of range; allowed: a fraction > 0 and <= 1")
                status = self.integer(self.get(data, "status", path, 500), f"{path}.status", 400, 599)
                seed = self.integer(self.get(data, "seed", path, 0), f"{path}.seed", 0)
                fault = ApiErrors(rate, status, seed)
            elif kind == "node_lost":
                count = self.integer(self.get(data, "count", path, 1), f"{path}.count", 1, nodes_per_color)
                color = self.choice(self.get(data, "color", path, "old"), f"{path}.color", get_args(FaultColor))
                fault = NodeLost(self.moment(self.get(data, "at", path), f"{path}.at"), count, color)
            elif kind == "stuck_terminating":
                workload = self.workload_key(self.get(data, "workload", path), f"{path}.workload")
                fault = StuckTerminating(workload, self.integer(self.get(data, "count", path, 1), f"{path}.count", 1))
            elif kind == "rollout":
                fault = Rollout(self.workload_key(self.get(data, "workload", path), f"{path}.workload"),
                                self.moment(self.get(data, "at", path), f"{path}.at"))
            elif kind == "never_ready_after_move":
                fault = NeverReadyAfterMove(self.workload_key(self.get(data, "workload", path), f"{path}.workload"))
            elif kind == "unready_before_move":
                fault = UnreadyBeforeMove(self.workload_key(self.get(data, "workload", path), f"{path}.workload"))
            elif kind == "alarm":
                name = self.get(data, "name", path)
                if not isinstance(name, str) or not name:
                    raise self.fail(f"{path}.name", f"{name!r} is not an alarm name (one of rollout.alarms)")
                at = self.get(data, "at", path)
                fault = AlarmFires(name, "after_drain" if at == "after_drain" else self.moment(at, f"{path}.at"))
            else:
                fault = Crash(self.choice(self.get(data, "at", path), f"{path}.at", get_args(CrashPoint)))
            result.append(fault)
        crashes = [i for i, f in enumerate(result) if isinstance(f, Crash)]
        if len(crashes) > 1:
            raise self.fail(f"faults[{crashes[1]}]", "a scenario can crash only once; keep one crash fault")
        return tuple(result)

    def workload_key(self, value: Any, path: str) -> str:
        """A workload named by a fault: "name" (namespace default) or "namespace/name", as "namespace/name"."""
        if not isinstance(value, str) or not value:
            raise self.fail(path, f"{value!r} is not a workload name (\"name\" or \"namespace/name\")")
        namespace, _, name = value.rpartition("/")
        return f"{self.dns_label(namespace or 'default', path)}/{self.dns_label(name, path)}"

    def moment(self, value: Any, path: str) -> CrashPoint | float:
        """A crash point name or a simulated second (a number >= 0)."""
        if isinstance(value, str):
            return self.choice(value, path, get_args(CrashPoint))
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(path, f"{value!r} is neither a crash point ({', '.join(get_args(CrashPoint))}) nor a "
                            "number of simulated seconds >= 0")
        return self.number(value, path)

    def timing(self, value: Any) -> ClusterTiming:
        keys = tuple(f.name for f in fields(ClusterTiming))
        data = self.mapping(value, "timing", keys)
        defaults = ClusterTiming()
        found: dict[str, Any] = {}
        for key in keys:
            raw = self.get(data, key, "timing", getattr(defaults, key))
            if key == "default_toleration_seconds":
                found[key] = self.integer(raw, f"timing.{key}")
            elif key == "node_monitor_grace_seconds":
                found[key] = self.number(raw, f"timing.{key}", 0.0, exclusive=True)
            else:
                found[key] = self.number(raw, f"timing.{key}")
        return ClusterTiming(**found)

    def rollout(self, value: Any) -> dict[str, Any]:
        """The stack's ``rollout`` keys (ROLLOUT_KEYS), validated as the stack validates them, returned as
        RolloutSettings overrides by field name."""
        # poolsInParallel was taken out before (Scenario.pools_in_parallel); it is listed as allowed all the same.
        data = self.mapping(value, "rollout", (*ROLLOUT_KEYS, POOLS_IN_PARALLEL_KEY))
        result: dict[str, Any] = {}
        for key, raw in data.items():
            path = f"rollout.{key}"
            attr, kind = ROLLOUT_KEYS[key]
            if raw is None:
                raise self.fail(path, f"is empty; remove the key or give a value ({_rollout_rule(kind)})")
            if isinstance(kind, tuple):
                result[attr] = self.choice(raw, path, kind)
            elif kind == "count":
                result[attr] = self.integer(raw, path, 1, MAX_PARALLEL_NODES)
            elif kind == "alarmNames":
                result[attr] = self.alarm_names(raw, path)
            elif kind == "command":
                if not isinstance(raw, str) or not raw.strip():
                    raise self.fail(path, f"{raw!r} is not {_rollout_rule(kind)}")
                result[attr] = raw
            elif kind == "url":
                if not isinstance(raw, str) or not re.match(r"^https?://[^\s/]+\S*$", raw):
                    raise self.fail(path, f"{raw!r} is not {_rollout_rule(kind)}")
                result[attr] = raw
            else:
                result[attr] = self.number(raw, path, 0.0, exclusive=kind == "seconds")
        return result

    def alarm_names(self, value: Any, path: str) -> tuple[str, ...]:
        """CloudWatch alarm names (1 to 255 printable characters each), each listed once."""
        if not isinstance(value, list):
            raise self.fail(path, f"{value!r} is not a list of CloudWatch alarm names")
        for index, name in enumerate(value):
            if not isinstance(name, str) or not 1 <= len(name) <= 255 or any(ord(c) < 32 or ord(c) == 127
                                                                              for c in name):
                raise self.fail(f"{path}[{index}]", f"{name!r} is not {_rollout_rule('alarmNames')}")
            if name in value[:index]:
                raise self.fail(f"{path}[{index}]", f"{name!r} is listed twice; list each once")
        return tuple(value)

    def runs(self, value: Any) -> tuple[Run, ...]:
        if not isinstance(value, list):
            raise self.fail("runs", f"{value!r} is not a list of runs (e.g. [{{to: to, crash: after_first_node}}, "
                            "{to: from}])")
        if not value:
            raise self.fail("runs", "[] is empty; give at least one run (e.g. [{to: to}]) or remove the field")
        result: list[Run] = []
        for index, item in enumerate(value):
            path = f"runs[{index}]"
            data = self.mapping(item, path, _RUN_KEYS)
            to = self.choice(self.get(data, "to", path), f"{path}.to", get_args(RunTarget))
            crash = self.get(data, "crash", path, None)
            if crash is not None:
                crash = self.choice(crash, f"{path}.crash", get_args(CrashPoint))
            result.append(Run(to, crash))
        return tuple(result)

    def tolerations(self, value: Any, path: str) -> tuple[dict[str, Any], ...]:
        """Kubernetes tolerations, checked as kube-apiserver checks them (pkg/apis/core/validation/validation.go,
        ValidateTolerations): known operator and effect, Exists without a value, an empty key only with Exists,
        tolerationSeconds only with NoExecute."""
        if not isinstance(value, list):
            raise self.fail(path, f"{value!r} is not a list of Kubernetes tolerations")
        result: list[dict[str, Any]] = []
        for index, item in enumerate(value):
            at = f"{path}[{index}]"
            data = self.mapping(item, at, TOLERATION_KEYS)
            key = data.get("key", "")
            if not isinstance(key, str):
                raise self.fail(f"{at}.key", f"{key!r} is not a string")
            value_ = data.get("value", "")
            if not isinstance(value_, str):
                raise self.fail(f"{at}.value", f"{value_!r} is not a string")
            operator = data.get("operator", "Equal")
            self.choice(operator, f"{at}.operator", TOLERATION_OPERATORS)
            effect = data.get("effect", "")
            if effect != "":
                self.choice(effect, f"{at}.effect", TOLERATION_EFFECTS)
            if operator == "Exists" and value_:
                raise self.fail(f"{at}.value", f"{value_!r} is not allowed with operator Exists; remove the value")
            if not key and operator != "Exists":
                raise self.fail(f"{at}.operator", f"{operator!r} is not allowed with an empty key; allowed: Exists")
            if "tolerationSeconds" in data:
                if effect != "NoExecute":
                    raise self.fail(f"{at}.tolerationSeconds", "is only allowed with effect NoExecute")
                self.integer(data["tolerationSeconds"], f"{at}.tolerationSeconds", -(2**63), 2**63 - 1)
            result.append(dict(data))
        return tuple(result)


def _rollout_rule(kind: Any) -> str:
    if isinstance(kind, tuple):
        return f"one of {', '.join(kind)}"
    return {"seconds": "a finite number > 0", "seconds0": "a finite number >= 0",
            "count": f"an integer between 1 and {MAX_PARALLEL_NODES}",
            "alarmNames": "a CloudWatch alarm name (1 to 255 printable characters)",
            "command": "a non-empty shell command (run with /bin/sh -c)",
            "url": "an http:// or https:// URL"}[kind]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
