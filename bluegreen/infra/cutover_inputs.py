"""What a cutover step is asked to do, as the plain property bag Pulumi stores, and when it must run again.

The three cutover steps (NodesReady, LoadBalancersHealthy, Drain) share one set of
inputs: "the cluster should be serving from ``new_color`` on ``new_ami`` with
``desired`` nodes behind these load balancers; ``old_color`` is (or is not)
still serving". Everything is a plain value known at preview time, so
``pulumi preview`` can say what a step will do and an unchanged config diffs
to nothing.

Connection details (``aws_endpoint_url``, ``kubeconfig_path``, ``kube_context``)
are inputs too, but they say *how* to reach the cluster, not *what* to do, so they
never make a step run again. They hold endpoints and paths only, never
credentials, tokens or kubeconfig contents: the EKS token is minted at run time.

Pulumi hands numbers back as floats and lists as lists; ``CutoverInputs.from_props``
turns them back into the typed values the engine wants.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from bluegreen.engine.naming import COLORS, DEFAULT_POOL, group_name, other_color
from bluegreen.engine.settings import RolloutSettings

Step = Literal["nodes-ready", "load-balancers-healthy", "drain"]
STEPS: tuple[Step, ...] = ("nodes-ready", "load-balancers-healthy", "drain")

# The value the Pulumi engine uses for a property not known until apply time (pulumi.runtime.rpc.UNKNOWN).
# Repeated here so this module stays free of pulumi imports; a test pins it to the SDK's value.
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

# Properties that decide whether a step must run again, per step (what the step checks or acts on).
# Rollout settings are deliberately absent: they say how patiently to work, not what to do, so raising
# a timeout never re-runs a finished cutover (a failed step re-runs anyway: it was never committed).
# So is the node count: a serving group keeps its live desired count (cluster-autoscaler moves it), and a
# count change is not a cutover; while a cutover is under way every step runs anyway (old_color_serving).
# ``pool`` is written only for pools other than the default one, so the default pool's recorded properties
# are what they were before pools existed (absent on both sides compares equal).
_IDENTITY: dict[Step, tuple[str, ...]] = {
    "nodes-ready": ("cluster_name", "pool", "region", "new_color", "new_ami"),
    "load-balancers-healthy": (
        "cluster_name",
        "pool",
        "region",
        "new_color",
        "new_ami",
        "target_group_arns",
        "classic_elb_names",
    ),
    "drain": ("cluster_name", "pool", "region", "new_color", "new_ami", "old_color"),
}

# How to reach the cluster; recorded, never a reason to run again.
ROUTE_KEYS = ("aws_endpoint_url", "kubeconfig_path", "kube_context")


class StepInputError(ValueError):
    """A cutover step's property bag is malformed; the message names the property and what is allowed."""


@dataclass(frozen=True)
class CutoverInputs:
    """Inputs of each cutover step (one value object shared by the three)."""

    cluster_name: str
    region: str
    # The color that serves after this cutover, its AMI, and the node count its group is declared with.
    new_color: str
    new_ami: str
    desired: int
    # The other color has capacity right now (ColorPlan.drain_idle), so it must be drained before it
    # scales to zero. False on a first deploy and in steady state.
    old_color_serving: bool
    target_group_arns: tuple[str, ...] = ()
    classic_elb_names: tuple[str, ...] = ()
    settings: RolloutSettings = field(default_factory=RolloutSettings)
    # Test-only route to the sandbox (moto server endpoint) and an explicit kubeconfig (sandbox, operators
    # without EKS API access through IAM). Production leaves all three None: AWS from the ambient
    # credentials, the cluster from DescribeCluster plus a token minted at run time.
    aws_endpoint_url: str | None = None
    kubeconfig_path: str | None = None
    kube_context: str | None = None
    # The worker pool whose groups and nodes the step works on (its nodes carry its pool label).
    pool: str = DEFAULT_POOL

    def __post_init__(self) -> None:
        if self.new_color not in COLORS:
            raise StepInputError(f"new_color: {self.new_color!r} is not a color (one of {', '.join(COLORS)})")
        if not self.cluster_name:
            raise StepInputError("cluster_name: empty; the step needs the EKS cluster name")
        if not self.region:
            raise StepInputError("region: empty; set aws:region on the stack (`pulumi config set aws:region ...`)")
        if not self.new_ami.startswith("ami-"):
            raise StepInputError(f"new_ami: {self.new_ami!r} is not an AMI id")
        if self.desired < 1:
            raise StepInputError(f"desired: {self.desired} is not allowed (the new color needs at least 1 node)")
        if not self.pool:
            raise StepInputError("pool: empty; the step needs the worker pool's name")

    @property
    def old_color(self) -> str:
        return other_color(self.new_color)

    @property
    def new_group(self) -> str:
        return group_name(self.cluster_name, self.new_color, self.pool)

    @property
    def old_group(self) -> str:
        return group_name(self.cluster_name, self.old_color, self.pool)

    def to_props(self) -> dict[str, Any]:
        """The property bag of a step resource: plain JSON-like values only.

        ``old_color``, ``new_group`` and ``old_group`` are derived, written for people reading the
        preview and the state; ``from_props`` ignores them.
        """
        pool = {} if self.pool == DEFAULT_POOL else {"pool": self.pool}
        return {
            "cluster_name": self.cluster_name,
            **pool,
            "region": self.region,
            "new_color": self.new_color,
            "new_ami": self.new_ami,
            "new_group": self.new_group,
            "desired": self.desired,
            "old_color": self.old_color,
            "old_group": self.old_group,
            "old_color_serving": self.old_color_serving,
            "target_group_arns": list(self.target_group_arns),
            "classic_elb_names": list(self.classic_elb_names),
            "settings": settings_to_props(self.settings),
            "aws_endpoint_url": self.aws_endpoint_url,
            "kubeconfig_path": self.kubeconfig_path,
            "kube_context": self.kube_context,
        }

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> CutoverInputs:
        """Rebuild from a property bag (as Pulumi hands it back: numbers may be floats)."""
        try:
            return cls(
                cluster_name=_text(props, "cluster_name"),
                region=_text(props, "region"),
                new_color=_text(props, "new_color"),
                new_ami=_text(props, "new_ami"),
                desired=_whole(props, "desired"),
                old_color_serving=_flag(props, "old_color_serving"),
                target_group_arns=_texts(props, "target_group_arns"),
                classic_elb_names=_texts(props, "classic_elb_names"),
                settings=settings_from_props(props.get("settings") or {}),
                aws_endpoint_url=_optional_text(props, "aws_endpoint_url"),
                kubeconfig_path=_optional_text(props, "kubeconfig_path"),
                kube_context=_optional_text(props, "kube_context"),
                pool=_optional_text(props, "pool") or DEFAULT_POOL,
            )
        except StepInputError:
            raise
        except ValueError as err:  # other_color/group_name or RolloutSettings rejecting a value
            raise StepInputError(str(err)) from None


@dataclass(frozen=True)
class RunDecision:
    """Whether a step must run, and why (the reasons read well in a preview's detailed diff)."""

    run: bool
    changed: tuple[str, ...]
    reason: str


def decide_run(step: Step, olds: Mapping[str, Any], news: Mapping[str, Any]) -> RunDecision:
    """Must ``step`` run again, given the properties it last recorded (``olds``) and the new inputs?

    It must when anything it checks or acts on changed (see ``_IDENTITY``), when a value is not known
    yet, and, for every step, whenever the old color is serving: a cutover is then under way and the
    old group is about to scale to zero, which must never happen without the gates and the drain of
    *this* run, even if an earlier run recorded identical inputs (going back to the old AMI after an
    interrupted cutover is exactly that case). Once the old color has scaled to zero,
    ``old_color_serving`` turning false is no reason to run.
    """
    if step not in _IDENTITY:
        raise StepInputError(f"step: {step!r} is not a cutover step (one of {', '.join(STEPS)})")
    unknown = tuple(k for k, v in news.items() if _is_unknown(v))
    if unknown:  # cannot know; say it will run rather than promise a no-op
        return RunDecision(True, unknown, "some inputs are not known until apply")
    changed = tuple(k for k in _IDENTITY[step] if _normal(olds.get(k)) != _normal(news.get(k)))
    if changed:
        return RunDecision(True, changed, "changed: " + ", ".join(changed))
    if bool(news.get("old_color_serving")):
        old = news.get("old_color", "the old color")
        return RunDecision(True, ("old_color_serving",), f"{old} is serving: a cutover is under way")
    return RunDecision(False, (), "nothing to do: same cutover, old color not serving")


def has_unknowns(props: Mapping[str, Any]) -> bool:
    """True when some property is not known until apply (preview of a value computed from another resource)."""
    return any(_is_unknown(v) for v in props.values())


def settings_to_props(settings: RolloutSettings) -> dict[str, Any]:
    return asdict(settings)


def settings_from_props(raw: Mapping[str, Any]) -> RolloutSettings:
    """RolloutSettings from its property bag; whole-number fields come back from Pulumi as floats."""
    if not isinstance(raw, Mapping):
        raise StepInputError(f"settings: {raw!r} is not an object of rollout settings")
    defaults = RolloutSettings()
    typed: dict[str, object] = {}
    for f in fields(defaults):
        if f.name not in raw or raw[f.name] is None:
            continue
        value, default = raw[f.name], getattr(defaults, f.name)
        if isinstance(default, tuple):
            if isinstance(value, str) or not isinstance(value, list | tuple):
                raise StepInputError(f"settings.{f.name}: {value!r} is not a list")
            typed[f.name] = tuple(str(v) for v in value)
        elif isinstance(default, bool):
            typed[f.name] = bool(value)
        elif isinstance(default, int):
            if float(value) != int(value):
                raise StepInputError(f"settings.{f.name}: {value!r} is not a whole number")
            typed[f.name] = int(value)
        elif isinstance(default, float):
            typed[f.name] = float(value)
        else:
            typed[f.name] = str(value)
    unknown = sorted(set(raw) - {f.name for f in fields(defaults)})
    if unknown:
        raise StepInputError(f"settings: unknown rollout setting(s) {', '.join(unknown)}")
    return defaults.with_overrides(**typed)


# --- small readers; each raises StepInputError naming the property ----------------------------


def _text(props: Mapping[str, Any], key: str) -> str:
    value = props.get(key)
    if not isinstance(value, str) or not value:
        raise StepInputError(f"{key}: {value!r} is not a non-empty string")
    return value


def _optional_text(props: Mapping[str, Any], key: str) -> str | None:
    value = props.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise StepInputError(f"{key}: {value!r} is not a string")
    return value


def _whole(props: Mapping[str, Any], key: str) -> int:
    value = props.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or float(value) != int(value):
        raise StepInputError(f"{key}: {value!r} is not a whole number")
    return int(value)


def _flag(props: Mapping[str, Any], key: str) -> bool:
    value = props.get(key, False)
    if not isinstance(value, bool):
        raise StepInputError(f"{key}: {value!r} is not true or false")
    return value


def _texts(props: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = props.get(key) or []
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise StepInputError(f"{key}: {value!r} is not a list of strings")
    for item in value:
        if not isinstance(item, str) or not item:
            raise StepInputError(f"{key}: {item!r} is not a non-empty string")
    return tuple(value)


def _is_unknown(value: Any) -> bool:
    if isinstance(value, str):
        return value == UNKNOWN
    if isinstance(value, Mapping):
        return any(_is_unknown(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_is_unknown(v) for v in value)
    return False


def _normal(value: Any) -> Any:
    """Compare lists and tuples alike, and 5 and 5.0 alike (Pulumi returns numbers as floats)."""
    if isinstance(value, list | tuple):
        return tuple(_normal(v) for v in value)
    if isinstance(value, Mapping):
        return tuple(sorted((k, _normal(v)) for k, v in value.items()))
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
