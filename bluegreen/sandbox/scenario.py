"""Scenario files: what a rehearsal runs on (nodes, load balancers, workloads, timing, faults).

A scenario is YAML with the field names of issue 3 (schema and examples in
docs/sandbox.md). ``load_scenario`` validates every field and fails with one
ScenarioError naming the file, the field path, the value and what is allowed.
The builtin scenarios live next to this module in ``scenarios/<name>.yaml``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, get_args

import yaml

from bluegreen.engine.settings import RolloutSettings
from bluegreen.sandbox.kube.store import ClusterTiming

BUILTIN_DIR = Path(__file__).with_name("scenarios")
DEFAULT_SCENARIO = "small"
#: Simulated seconds per real second when a scenario does not say.
DEFAULT_SPEED = 20.0
#: How often the engine's waits look again in the sandbox (simulated seconds), unless overridden.
SANDBOX_POLL_INTERVAL_S = 1.0

Placement = Literal["packed", "spread"]
WorkloadKind = Literal["Deployment", "StatefulSet", "DaemonSet", "Pod"]
CrashPoint = Literal["after_scale_up", "after_gates", "after_cordon", "mid_node", "after_first_node"]
FaultColor = Literal["new", "old"]

_AMI = re.compile(r"^ami-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_QUANTITY = re.compile(r"^(?:\d+(?:\.\d+)?|\.\d+)(?:m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_PERCENT = re.compile(r"^(?:100|[1-9]?\d)%$")


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
class Crash:
    """The cutover process dies at ``at`` (the rehearsal driver kills its first attempt there)."""

    at: CrashPoint
    kind: Literal["crash"] = "crash"


Fault = NodeNeverReady | TargetUnhealthy | ApiErrors | NodeLost | Crash


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
    rollout: dict[str, Any] = field(default_factory=dict)
    timing: ClusterTiming = field(default_factory=ClusterTiming)
    speed: float = DEFAULT_SPEED
    description: str = ""
    source: str = ""  # where it was loaded from (a path or "builtin:<name>")

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


# --------------------------------------------------------------------------------------------------------------------
# Loading


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
    elif path.is_file():
        label = str(path)
    else:
        raise ScenarioError(
            str(source),
            "",
            f"no such scenario file, and not a builtin scenario; builtin: {', '.join(builtin_scenarios())}",
        )
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ScenarioError(label, "", f"is not valid YAML: {error}") from None
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
    "join_seconds",
    "ami",
    "load_balancers",
    "placement",
    "workloads",
    "faults",
    "rollout",
    "timing",
)
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
)
_FAULT_KEYS: dict[str, tuple[str, ...]] = {
    "node_never_ready": ("kind", "count", "color"),
    "target_unhealthy": ("kind", "count", "color"),
    "api_errors": ("kind", "rate", "status", "seed"),
    "node_lost": ("kind", "count", "color", "at"),
    "crash": ("kind", "at"),
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
        return Scenario(
            name=name,
            description=description,
            nodes_per_color=nodes_per_color,
            node=self.node(self.get(data, "node", "")),
            join_seconds=self.number(self.get(data, "join_seconds", "", 30.0), "join_seconds"),
            ami=self.ami(self.get(data, "ami", "")),
            load_balancers=self.load_balancers(self.get(data, "load_balancers", "", {})),
            workloads=workloads,
            placement=self.choice(self.get(data, "placement", "", "spread"), "placement", get_args(Placement)),
            faults=faults,
            rollout=self.rollout(self.get(data, "rollout", "", {})),
            timing=self.timing(self.get(data, "timing", "", {})),
            speed=self.number(self.get(data, "speed", "", DEFAULT_SPEED), "speed", 0.0, exclusive=True),
            source=self.source,
        )

    def node(self, value: Any) -> NodeShape:
        data = self.mapping(value, "node", ("cpu", "memory", "pods", "instance_type"))
        instance_type = self.get(data, "instance_type", "node", "m5.xlarge")
        if not isinstance(instance_type, str) or not re.match(r"^[a-z0-9-]+\.[a-z0-9]+$", instance_type):
            raise self.fail("node.instance_type", f"{instance_type!r} is not an EC2 instance type (e.g. m5.xlarge)")
        return NodeShape(
            cpu=self.quantity(self.get(data, "cpu", "node"), "node.cpu", "'4' or '3920m'"),
            memory=self.quantity(self.get(data, "memory", "node"), "node.memory", "'16Gi'"),
            pods=self.integer(self.get(data, "pods", "node"), "node.pods", 1, 1000),
            instance_type=instance_type,
        )

    def ami(self, value: Any) -> AmiPair:
        data = self.mapping(value, "ami", ("from", "to"))
        pair = []
        for key in ("from", "to"):
            ami = self.get(data, key, "ami")
            if not isinstance(ami, str) or not _AMI.match(ami):
                raise self.fail(f"ami.{key}", f"{ami!r} is not an AMI id (ami- followed by 8 or 17 hex digits)")
            pair.append(ami)
        if pair[0] == pair[1]:
            raise self.fail("ami.to", f"{pair[1]!r} is the same as ami.from; a cutover needs a different AMI")
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
        if "replicas" in data and kind in ("DaemonSet", "Pod"):
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
        tolerations = self.get(data, "tolerations", path, [])
        if not isinstance(tolerations, list) or not all(isinstance(t, dict) for t in tolerations):
            raise self.fail(f"{path}.tolerations", f"{tolerations!r} is not a list of Kubernetes tolerations")
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
            tolerations=tuple(dict(t) for t in tolerations),
        )

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
            else:
                fault = Crash(self.choice(self.get(data, "at", path), f"{path}.at", get_args(CrashPoint)))
            result.append(fault)
        crashes = [i for i, f in enumerate(result) if isinstance(f, Crash)]
        if len(crashes) > 1:
            raise self.fail(f"faults[{crashes[1]}]", "a scenario can crash only once; keep one crash fault")
        return tuple(result)

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
        known = {f.name: f for f in fields(RolloutSettings)}
        data = self.mapping(value, "rollout", tuple(known))
        defaults = RolloutSettings()
        result: dict[str, Any] = {}
        for key, raw in data.items():
            path = f"rollout.{key}"
            default = getattr(defaults, key)
            choices = _literal_choices(known[key].type)
            if choices:
                result[key] = self.choice(raw, path, choices)
            elif isinstance(default, int) and not isinstance(default, bool) and not isinstance(default, float):
                result[key] = self.integer(raw, path, 1)
            else:
                result[key] = self.number(raw, path)
        return result


def _literal_choices(annotation: Any) -> tuple[str, ...]:
    """The allowed values of a RolloutSettings field typed with one of its Literal aliases."""
    import bluegreen.engine.settings as settings_module

    if isinstance(annotation, str):
        annotation = getattr(settings_module, annotation, None)
    args = get_args(annotation)
    return tuple(a for a in args if isinstance(a, str))


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
