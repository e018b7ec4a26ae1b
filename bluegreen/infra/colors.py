"""Color selection: which color serves after this `pulumi up`, as a pure function over live state.

The rules are the UX contract of docs/design.md:

- nothing serving: ``activeColor`` if pinned, else blue;
- one color serving on ``activeAmi``: keep it (an unchanged config changes nothing);
- one color serving on another AMI: cut over to the other color;
- both serving (an interrupted cutover): the one already on ``activeAmi`` (resume or go back);
- a pinned ``activeColor`` is obeyed, but pinning the serving color while changing its AMI is
  refused, since that would put new instances in a group whose old ones are never drained.
"""

from __future__ import annotations

from dataclasses import dataclass

from bluegreen.engine.naming import COLORS, other_color

DEFAULT_COLOR = COLORS[0]


class ColorSelectionError(ValueError):
    """The config asks for something the live state cannot safely become; the message says what to change."""


@dataclass(frozen=True)
class GroupState:
    """What exists of one color's worker group, as read from AWS."""

    # The Auto Scaling group exists.
    exists: bool = False
    desired_capacity: int = 0
    # Image of the group's launch template; None when unknown (no template found).
    ami: str | None = None
    # cluster-autoscaler discovery tags present: the last `pulumi up` declared this color active.
    declared_active: bool = False

    @property
    def serving(self) -> bool:
        return self.exists and self.desired_capacity > 0


@dataclass(frozen=True)
class LiveState:
    """Both colors' groups, as found. ``LiveState()`` is an empty account (first deploy)."""

    blue: GroupState = GroupState()
    green: GroupState = GroupState()

    def group(self, color: str) -> GroupState:
        if color not in COLORS:
            raise ValueError(f"unknown color {color!r}; expected one of {', '.join(COLORS)}")
        return self.blue if color == "blue" else self.green

    def serving_colors(self) -> tuple[str, ...]:
        return tuple(c for c in COLORS if self.group(c).serving)


@dataclass(frozen=True)
class ColorPlan:
    """The decision: which color serves on which AMI, and what happens to the other one."""

    active: str
    idle: str
    active_ami: str
    # The idle color's launch template keeps this image (its old nodes may still be running on it).
    idle_ami: str
    # The idle color has serving nodes that must be drained before it scales to zero.
    drain_idle: bool
    # Human-readable summary for `pulumi preview` outputs.
    reason: str
    # The active color's live desired capacity when it already serves (cluster-autoscaler may have
    # moved it); None when the active color starts from nothing.
    active_live_desired: int | None = None

    @property
    def cutover(self) -> bool:
        return self.drain_idle


@dataclass(frozen=True)
class PlanKeys:
    """The config keys a pool's color selection answers to (in messages): the stack's own, or a pool's."""

    ami: str = "activeAmi"
    color: str = "activeColor"

    def set_command(self, key: str, value: str) -> str:
        path = " --path" if "." in key else ""
        return f"pulumi config set{path} {key} {value}"

    def rm_command(self, key: str) -> str:
        path = " --path" if "." in key else ""
        return f"pulumi config rm{path} {key}"


def _pick(live: LiveState, active_ami: str, pinned: str | None, keys: PlanKeys) -> tuple[str, str]:
    serving = live.serving_colors()
    if pinned is not None:
        group = live.group(pinned)
        if group.serving and group.ami is not None and group.ami != active_ami:
            raise ColorSelectionError(
                f"{keys.color}: {pinned} is pinned and serving on {group.ami}, but {keys.ami} is {active_ami}: "
                f"changing the AMI of the serving color would replace its nodes without a drain. "
                f"Unset {keys.color} (`{keys.rm_command(keys.color)}`) to cut over to {other_color(pinned)}, "
                f"or pin {other_color(pinned)}"
            )
        if not serving:
            return pinned, f"{pinned} pinned by {keys.color}; nothing serving yet"
        if group.serving:
            return pinned, f"{pinned} pinned by {keys.color} and already serving on {active_ami}"
        return pinned, f"{pinned} pinned by {keys.color}; cutting over from {serving[0]}"
    if not serving:
        return DEFAULT_COLOR, f"nothing serving yet; {DEFAULT_COLOR} by default"
    if len(serving) == 1:
        (color,) = serving
        group = live.group(color)
        if group.ami == active_ami:
            return color, f"{color} serving on {active_ami}; nothing to do"
        target = other_color(color)
        return target, f"{color} serving on {group.ami}; {keys.ami} {active_ami} goes to {target}"
    on_ami = [c for c in serving if live.group(c).ami == active_ami]
    if len(on_ami) == 1:
        (color,) = on_ami
        return color, f"both colors serving (interrupted cutover); {color} already runs {active_ami}"
    if len(on_ami) == 2:
        # Same image on both (a pinned flip interrupted, then unpinned): the last declared active wins.
        declared = [c for c in serving if live.group(c).declared_active]
        if len(declared) == 1:
            (color,) = declared
            return color, f"both colors serving on {active_ami}; {color} was last declared active"
        raise ColorSelectionError(
            f"{keys.color}: unset, and both blue and green are serving on {active_ami}, so which one to keep "
            f"is ambiguous; pin it with `{keys.set_command(keys.color, '<blue|green>')}`"
        )
    amis = ", ".join(f"{c} on {live.group(c).ami}" for c in serving)
    raise ColorSelectionError(
        f"{keys.ami}: {active_ami} runs on neither serving color ({amis}); an interrupted cutover must finish or "
        f"roll back first: set {keys.ami} to one of those AMIs and run `pulumi up`, then change it again"
    )


def select_colors(
    live: LiveState, active_ami: str, pinned: str | None = None, keys: PlanKeys = PlanKeys()
) -> ColorPlan:
    """Decide the active color for ``active_ami`` given ``live`` state and an optional pinned color.

    ``keys``: the config keys messages name (a pool's ``pools.<name>.activeAmi``/``activeColor``).
    Raises ColorSelectionError when the request cannot be met safely.
    """
    if pinned is not None and pinned not in COLORS:
        raise ColorSelectionError(f"{keys.color}: {pinned!r} is not allowed (one of {', '.join(COLORS)})")
    active, reason = _pick(live, active_ami, pinned, keys)
    idle = other_color(active)
    idle_group = live.group(idle)
    # A group never deployed gets activeAmi: it is empty anyway, and the template must name some image.
    idle_ami = idle_group.ami if idle_group.exists and idle_group.ami else active_ami
    drain = idle_group.serving
    if drain:
        reason += f"; {idle} will be drained and scaled to 0"
    active_group = live.group(active)
    return ColorPlan(
        active=active,
        idle=idle,
        active_ami=active_ami,
        idle_ami=idle_ami,
        drain_idle=drain,
        reason=reason,
        active_live_desired=active_group.desired_capacity if active_group.serving else None,
    )
