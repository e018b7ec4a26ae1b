"""The rehearsal: an operator's sequence of `pulumi up` runs in the sandbox, through the engine calls the program makes.

Sandbox.start, then each run in order, whatever the previous one's outcome (a scenario's ``runs:``; without it
one cutover to ``ami.to``, run again once after a ``crash`` fault). A run does what `pulumi up` does after
``pulumi config set activeAmi AMI``: pick the color from live state (the color already on that AMI, else the idle
one), put that color's launch template on the AMI and its group at full size, wait for the readiness and
load-balancer gates, drain the other color when it serves, and scale it to zero only when the drain succeeded.
A run with a crash point dies there, as a killed `pulumi up` would. After the last run the sandbox settles
(bounded) and the report states the final truth measured from the cluster (``bluegreen.sandbox.outcome``).

Exit codes of ``rehearse``: 0 the last run ok and nothing unsafe; 1 the cutover stopped; 2 bad input; 3 a budget
violated, a pod lost or pods forced.
"""

from __future__ import annotations

import json
import math
import sys
import threading
import time
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import TextIO

from bluegreen.engine import api
from bluegreen.engine.clock import Clock
from bluegreen.engine.errors import CutoverError, GroupNotFound, PreflightBlocked, RolledBack
from bluegreen.engine.groups import describe_group, launch_template_ami
from bluegreen.engine.naming import COLORS, DEFAULT_POOL, group_name, launch_template_name, other_color
from bluegreen.engine.progress import (
    CollectingReporter,
    DrainVerified,
    Event,
    FanOutReporter,
    GatePassed,
    GroupScaled,
    NodeDrained,
    NodesCordoned,
    Note,
    NullReporter,
    PodEvicted,
    PodForced,
    PrintReporter,
    Reporter,
)
from bluegreen.engine.settings import RolloutSettings
from bluegreen.engine.surge import SurgeMoved

CRASH_POINTS = ("after_scale_up", "after_gates", "after_cordon", "mid_node", "after_first_node")
#: After the last run the sandbox settles at most this long (simulated seconds) before the final state is read:
#: pods already started may become Ready.
SETTLE_LIMIT_S = 600.0
#: The settle also ends once nothing changed for this long (and longer than a node takes to join) with no pod
#: starting or terminating: a pod Pending for good stays Pending.
SETTLE_QUIET_S = 60.0


class RunResult(StrEnum):
    OK = "ok"  # the run finished: the other color drained (or nothing to drain) and scaled to zero
    FORCED = "forced"  # finished, but pods were deleted past their budget (rollout.onPdbTimeout: force)
    FAILED = "failed"  # the engine stopped with a named error (a clean stop)
    CRASHED = "crashed"  # killed at a crash point
    ROLLED_BACK = "rolled_back"  # a health signal failed; the workloads went back onto the old color (not completed)


class ExitCode(IntEnum):
    OK = 0
    STOPPED = 1
    BAD_INPUT = 2
    UNSAFE = 3  # a budget violated, a pod lost or pods forced


def exit_code(result: str, *, budget_violations: list, pods_lost: list, pods_forced: list) -> ExitCode:
    """Unsafe outcomes win over a stop: an operator must hear about a lost pod even when the run also stopped."""
    if budget_violations or pods_lost or pods_forced or result == RunResult.FORCED:
        return ExitCode.UNSAFE
    return ExitCode.OK if result == RunResult.OK else ExitCode.STOPPED


class SimulatedCrash(BaseException):
    """A run dies here, as a killed `pulumi up` would: no cleanup, no error handling.

    A BaseException so that the engine's ``except Exception`` clean-up paths do not run, like a real kill."""

    def __init__(self, point: str) -> None:
        self.point = point
        super().__init__(f"simulated crash at {point}")


def point_reached(point: str | None, event: Event) -> bool:
    """Whether ``event`` is the one that marks the crash point (after_scale_up is checked explicitly)."""
    return (
        (point == "after_gates" and isinstance(event, GatePassed) and event.gate == "load-balancers")
        or (point == "after_cordon" and isinstance(event, NodesCordoned))
        or (point == "mid_node" and isinstance(event, PodEvicted))
        or (point == "after_first_node" and isinstance(event, NodeDrained))
    )


class NodeLossInjector:
    """A reporter that fires each ``node_lost`` fault whose ``at`` is a crash point, once, when the cutover
    reaches it (the sandbox itself fires the faults timed in simulated seconds)."""

    def __init__(self, sandbox, faults: list) -> None:
        self.sandbox = sandbox
        self.pending = [f for f in faults if isinstance(f.at, str)]
        self.lost: list[str] = []  # nodes whose kubelet this injector stopped

    def check(self, point: str) -> None:
        self._fire(lambda at: at == point)

    def emit(self, event: Event) -> None:
        self._fire(lambda at: point_reached(at, event))

    def _fire(self, reached) -> None:
        for fault in [f for f in self.pending if reached(f.at)]:
            self.pending.remove(fault)
            if getattr(fault, "kind", "") == "rollout":
                self.sandbox.roll_out(fault.workload)  # a rollout fault at a crash point: same injector
            else:
                self.lost.extend(self.sandbox.lose_nodes(fault.color, fault.count))


class AlarmInjector:
    """A reporter that fires each ``alarm`` fault whose ``at`` is a crash point or ``after_drain`` (the drain
    verified: the bake starts), once, when the cutover reaches it (the sandbox fires the timed ones itself)."""

    def __init__(self, sandbox, faults: list) -> None:
        self.sandbox = sandbox
        self.pending = [f for f in faults if isinstance(f.at, str)]

    def check(self, point: str) -> None:
        self._fire(lambda at: at == point)

    def emit(self, event: Event) -> None:
        self._fire(lambda at: point_reached(at, event) or (at == "after_drain" and isinstance(event, DrainVerified)))

    def _fire(self, reached) -> None:
        for fault in [f for f in self.pending if reached(f.at)]:
            self.pending.remove(fault)
            self.sandbox.fire_alarm(fault.name)


class CrashInjector:
    """A reporter that raises SimulatedCrash at the first event matching the crash point."""

    def __init__(self, point: str | None, *, before: tuple = ()) -> None:
        if point is not None and point not in CRASH_POINTS:
            raise ValueError(f"unknown crash point {point!r}; expected one of {', '.join(CRASH_POINTS)}")
        self.point = point
        self.fired = False
        # Injectors told of explicit points before this one may crash (node losses happen before the crash).
        self.before = before
        # Set while pools cut over in threads: once fired, every later event raises too (the whole process is dead).
        self.kills_every_thread = False

    def matches(self, event: Event) -> bool:
        return point_reached(self.point, event)

    def check(self, point: str) -> None:
        """Explicit crash points the rehearsal passes itself (after_scale_up)."""
        for injector in self.before:
            injector.check(point)
        if not self.fired and self.point == point:
            self.fired = True
            raise SimulatedCrash(point)

    def emit(self, event: Event) -> None:
        if self.fired and self.kills_every_thread:
            # Already dead: a pool's steps still running in another thread (poolsInParallel) die at their next event.
            raise SimulatedCrash(str(self.point))
        if not self.fired and self.point is not None and self.matches(event):
            self.fired = True
            raise SimulatedCrash(self.point)


# -- color selection (what the program decides from live state; the sandbox cannot import the infra layer) --------


@dataclass(frozen=True)
class ColorState:
    """One color's group as `pulumi up` finds it."""

    color: str
    serving: bool  # the group exists with a desired capacity above zero
    ami: str | None  # its launch template's AMI


@dataclass(frozen=True)
class ColorChoice:
    target: str  # the color that serves ``ami`` after the run
    other: str
    drain_other: bool  # the other color serves: drain it, then scale it to zero
    reason: str


class ColorChoiceRefused(CutoverError):
    """Live state from which no color can safely serve the requested AMI (the program refuses the same way)."""


def choose_colors(states: dict[str, ColorState], ami: str) -> ColorChoice:
    """The program's color selection without a pinned color: one color serving on ``ami`` keeps serving; one on
    another AMI hands over to the other color; both serving (an interrupted cutover): the one already on ``ami``
    (resume, or go back). Nothing serving: blue."""
    serving = [c for c in COLORS if states[c].serving]
    if not serving:
        target, reason = COLORS[0], f"nothing serving; {COLORS[0]} by default"
    elif len(serving) == 1:
        (color,) = serving
        if states[color].ami == ami:
            target, reason = color, f"{color} serving on {ami}"
        else:
            target = other_color(color)
            reason = f"{color} serving on {states[color].ami}; {ami} goes to {target}"
    else:
        on_ami = [c for c in serving if states[c].ami == ami]
        if len(on_ami) != 1:
            amis = ", ".join(f"{c} on {states[c].ami}" for c in serving)
            raise ColorChoiceRefused(
                f"activeAmi {ami}: both colors serve ({amis}), so which one to keep is "
                + ("ambiguous; pin activeColor" if on_ami else "unknown; set activeAmi to one of those AMIs first")
            )
        target = on_ami[0]
        reason = f"both colors serving (interrupted cutover); {target} already runs {ami}"
    other = other_color(target)
    return ColorChoice(target, other, states[other].serving, reason)


# -- one run --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """One run of the sequence, as the report lists it."""

    number: int
    result: RunResult
    error: str | None
    nodes_drained: tuple[str, ...]
    pods_evicted: int
    seconds: float
    to: str = "to"  # which of the scenario's AMIs the run set as activeAmi: "to" or "from"
    color: str | None = None  # the color the run chose to serve
    crash: str | None = None
    pods_forced: tuple[str, ...] = ()
    pool_colors: tuple[tuple[str, str], ...] = ()  # (pool, color it chose), in the order the pools were reached
    pool_drained: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (pool, nodes its drain finished) per pool drained
    # Each pod deleted past its budget: pod, node, pdb (from the engine's PodForced events).
    forced: tuple[dict, ...] = ()
    pods_moved_by_surge: int = 0  # old pods the engine moved by surge (its SurgeMoved events)

    def to_dict(self) -> dict:
        return {"run": self.number, "attempt": self.number, "to": self.to, "color": self.color, "crash": self.crash,
                "pools": dict(self.pool_colors),
                "pool_nodes_drained": {pool: list(nodes) for pool, nodes in self.pool_drained},
                "result": str(self.result), "error": self.error, "nodes_drained": list(self.nodes_drained),
                "pods_evicted": self.pods_evicted, "pods_forced": list(self.pods_forced),
                "pods_moved_by_surge": self.pods_moved_by_surge,
                "forced": [dict(f) for f in self.forced], "seconds": round(self.seconds, 1)}


def program_step(conn, cluster_name: str, color: str, ami: str, nodes: int, pool: str = DEFAULT_POOL) -> None:
    """What `pulumi up` does to the target color of ``pool`` before the cutover steps: a launch template version on
    the AMI as the default, and the group at full size on it. Idempotent: a re-run finds the AMI already set."""
    template = launch_template_name(cluster_name, color, pool)
    if launch_template_ami(conn.ec2, template) != ami:
        created = conn.ec2.create_launch_template_version(
            LaunchTemplateName=template, SourceVersion="$Default", LaunchTemplateData={"ImageId": ami}
        )
        version = created["LaunchTemplateVersion"]["VersionNumber"]
        conn.ec2.modify_launch_template(LaunchTemplateName=template, DefaultVersion=str(version))
    group = describe_group(conn.autoscaling, conn.ec2, group_name(cluster_name, color, pool), with_amis=False)
    conn.autoscaling.update_auto_scaling_group(
        AutoScalingGroupName=group.name,
        LaunchTemplate={"LaunchTemplateName": template, "Version": "$Default"},
        MinSize=nodes, DesiredCapacity=nodes, MaxSize=max(nodes, group.max_size),
    )


def capacity(conn, cluster_name: str, color: str, pool: str = DEFAULT_POOL, node_pool: str | None = None) -> dict:
    """One group's capacity and its nodes (of ``node_pool``; None: any pool, as in a scenario without pools)."""
    group = describe_group(conn.autoscaling, conn.ec2, group_name(cluster_name, color, pool), with_amis=False)
    nodes = conn.kube.nodes_of_color(color, node_pool)
    return {
        "group": group.name, "desired": group.desired, "min": group.min_size, "max": group.max_size,
        "instances_in_service": sum(1 for i in group.instances if i.lifecycle_state == "InService"),
        "nodes": len(nodes),
    }


def _capacity_or_error(sandbox, color: str) -> dict:
    """The color's group and node counts through the APIs (an API-error fault may refuse them: then say so)."""
    try:
        # The default pool's group; with pools, only its own nodes (those without a pool label).
        return capacity(_connect(sandbox), sandbox.cluster_name, color,
                        node_pool=DEFAULT_POOL if sandbox.scenario.pools else None)
    except Exception as exc:  # noqa: BLE001 - the report is printed even when this read fails
        return {"error": f"{type(exc).__name__}: {' '.join(str(exc).split())}"}


def wait_group_empty(conn, name: str, color: str, clock: Clock, timeout_s: float, poll_s: float,
                     pool: str | None = None) -> None:
    """Until the scaled-in group has no instance left and their nodes (of ``pool``) have left the cluster
    (bounded)."""
    start = clock.now()
    while clock.now() - start < timeout_s:
        if not describe_group(conn.autoscaling, conn.ec2, name, with_amis=False).instances \
                and not conn.kube.nodes_of_color(color, pool):
            return
        clock.sleep(poll_s)


def park(conn, group: api.GroupSpec, settings: RolloutSettings, reporter: Reporter, clock: Clock) -> None:
    """The drained color's group scaled to zero (kept, with its launch template, for a fast way back), and waited
    for until its instances and nodes are gone."""
    api.scale_group(conn, group.group_name, desired=0, min_size=0)
    reporter.emit(GroupScaled(group.group_name, 0))
    wait_group_empty(conn, group.group_name, group.color, clock, timeout_s=max(60.0, 10 * settings.poll_interval_s),
                     poll_s=settings.poll_interval_s, pool=group.pool)


def _connect(sandbox) -> api.Connection:
    from bluegreen.engine.connection import local_session

    target = api.ClusterTarget(sandbox.cluster_name, sandbox.region, sandbox.aws_endpoint, sandbox.kubeconfig_path)
    return api.connect(target, session=local_session(sandbox.region))


def live_colors(conn, cluster_name: str, pool: str = DEFAULT_POOL) -> dict[str, ColorState]:
    """Both groups of ``pool`` as the program's data sources read them: desired capacity and launch-template AMI
    (serving means a desired capacity above zero, whatever the nodes hold, as in the program's color selection)."""
    found: dict[str, ColorState] = {}
    for color in COLORS:
        try:
            group = describe_group(conn.autoscaling, conn.ec2, group_name(cluster_name, color, pool),
                                   with_amis=False)
        except GroupNotFound:
            found[color] = ColorState(color, False, None)
            continue
        ami = launch_template_ami(conn.ec2, group.launch_template, group.launch_template_version) \
            if group.launch_template else None
        found[color] = ColorState(color, group.desired > 0, ami)
    return found


@dataclass(frozen=True)
class PoolStep:
    """One pool's part of a run: the color it serves ``ami`` on, and the specs the engine calls take."""

    pool: str
    choice: ColorChoice
    target: api.GroupSpec
    other: api.GroupSpec


def pool_steps(conn, sandbox, to: str, reporter: Reporter, chosen: list[tuple[str, str]]) -> list[PoolStep]:
    """Each pool's color choice from live state, in cutover order. A scenario without pools keeps the one pair
    (GroupSpec.pool None: the nodes of any pool label, as before pools existed)."""
    pools = sandbox.scenario.all_pools()
    steps = []
    for pool in pools:
        ami = pool.ami.to if to == "to" else pool.ami.from_
        choice = choose_colors(live_colors(conn, sandbox.cluster_name, pool.name), ami)
        chosen.append((pool.name, choice.target))
        label = "" if len(pools) == 1 else f"pool {pool.name}: "
        reporter.emit(Note(f"{label}activeAmi {ami}: {choice.reason}"))
        node_pool = pool.name if len(pools) > 1 else None
        target = api.GroupSpec(sandbox.cluster_name, choice.target, ami, pool.nodes_per_color, pool=node_pool)
        # The other group's image and size are not inputs of the drain (it finds the old nodes by color label).
        other = api.GroupSpec(sandbox.cluster_name, choice.other, "", 0, pool=node_pool)
        steps.append(PoolStep(pool.name, choice, target, other))
    return steps


def scale_up(conn, step: PoolStep, reporter: Reporter, crash: CrashInjector) -> None:
    """The program's part for one pool: the target color's launch template on the AMI, its group at full size."""
    program_step(conn, step.target.cluster_name, step.target.color, step.target.ami, step.target.desired, step.pool)
    reporter.emit(GroupScaled(step.target.group_name, step.target.desired))
    crash.check("after_scale_up")


def cut_over(conn, step: PoolStep, settings: RolloutSettings, reporter: Reporter,
             clock: Clock) -> api.DrainReport | None:
    """One pool's cutover steps after its scale-up: both gates, the drain of the other color when it serves, and
    that color's scale-down only when the drain succeeded."""
    target, other = step.target, step.other
    api.wait_nodes_ready(conn, target, settings, reporter, clock)
    api.wait_load_balancers_healthy(conn, target, settings, reporter, clock, like_group=other.group_name)
    if not step.choice.drain_other:
        reporter.emit(Note(f"nothing to drain: {other.group_name} has no capacity"))
        return None
    report = api.drain(conn, other, target, settings, reporter, clock)
    # Reached only when the drain reported success (the engine verifies it): now the other color may go.
    park(conn, other, settings, reporter, clock)
    return report


def cutover(sandbox, settings: RolloutSettings, reporter: Reporter, crash: CrashInjector) -> api.DrainReport:
    """One cutover from the sandbox's old color to its new one with the colors known (the benchmark's run, which
    gets only the sandbox's endpoints): the program step, both gates, preflight, drain, the old group scaled to 0.
    Raises the engine's CutoverError, or SimulatedCrash at the crash point."""
    scenario = sandbox.scenario
    conn = _connect(sandbox)
    clock = sandbox.clock
    old = api.GroupSpec(sandbox.cluster_name, sandbox.old_color, scenario.ami.from_, scenario.nodes_per_color)
    new = api.GroupSpec(sandbox.cluster_name, sandbox.new_color, scenario.ami.to, scenario.nodes_per_color)
    program_step(conn, sandbox.cluster_name, new.color, new.ami, new.desired)
    reporter.emit(GroupScaled(new.group_name, new.desired))
    crash.check("after_scale_up")
    api.wait_nodes_ready(conn, new, settings, reporter, clock)
    api.wait_load_balancers_healthy(conn, new, settings, reporter, clock, like_group=old.group_name)
    plan = api.preflight(conn, old, new, settings)
    if plan.blockers:
        raise PreflightBlocked(list(plan.blockers))
    report = api.drain(conn, old, new, settings, reporter, clock)
    park(conn, old, settings, reporter, clock)
    return report


def cut_over_together(sandbox, steps: list[PoolStep], settings: RolloutSettings,
                      reporter: Reporter) -> list[tuple[str, api.DrainReport]]:
    """Every pool's cutover steps at once, each pool in its own thread with its own connection (Pulumi runs
    resources that do not depend on each other concurrently). Waits for all of them, as `pulumi up` does; then a
    crash (which kills every pool's thread at its next event), else the first pool's error, is raised."""
    reports: dict[str, api.DrainReport | None] = {}
    errors: dict[str, BaseException] = {}

    def one(step: PoolStep) -> None:
        try:
            reports[step.pool] = cut_over(_connect(sandbox), step, settings, reporter, sandbox.clock)
        except BaseException as exc:  # noqa: BLE001 - handed to the run's thread below
            errors[step.pool] = exc

    threads = [threading.Thread(target=one, args=(step,), name=f"cutover-{step.pool}", daemon=True) for step in steps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    failed = [errors[s.pool] for s in steps if s.pool in errors]
    crashed = [e for e in failed if isinstance(e, SimulatedCrash)]
    if crashed or failed:
        raise (crashed or failed)[0]
    return [(s.pool, report) for s in steps if (report := reports.get(s.pool)) is not None]


def play_run(sandbox, to: str, settings: RolloutSettings, reporter: Reporter, crash: CrashInjector,
             chosen: list[tuple[str, str]]) -> list[tuple[str, api.DrainReport]]:
    """One `pulumi up` with ``activeAmi`` set to each pool's ``ami.<to>``; returns the drains' reports (none when
    nothing had to be drained). The pools cut over one after another in order, the default pool first, each
    pool's scale-up after the previous pool's drain (the program's graph); with ``poolsInParallel`` every pool
    scales up, then every pool's gates, drain and scale-down run at once (cut_over_together). Each chosen
    (pool, color) is appended to ``chosen`` as soon as it is known (a crash may follow)."""
    conn = _connect(sandbox)
    steps = pool_steps(conn, sandbox, to, reporter, chosen)
    if sandbox.scenario.pools_in_parallel and len(steps) > 1:
        for step in steps:
            scale_up(conn, step, reporter, crash)
        crash.kills_every_thread = True
        return cut_over_together(sandbox, steps, settings, reporter)
    reports = []
    for step in steps:
        scale_up(conn, step, reporter, crash)
        report = cut_over(conn, step, settings, reporter, sandbox.clock)
        if report is not None:
            reports.append((step.pool, report))
    return reports


def run_once(sandbox, number: int, run, settings: RolloutSettings, reporter: Reporter,
             losses: NodeLossInjector | None = None, alarms: AlarmInjector | None = None) -> Attempt:
    """Play one run of the sequence and record it, whatever happens (a crash, a named stop, an unexpected error).
    ``losses``: the scenario's node_lost faults at crash points, fired when the run reaches them."""
    injectors = tuple(i for i in (losses, alarms) if i is not None)
    crash = CrashInjector(run.crash, before=injectors)
    collect = CollectingReporter()
    chosen: list[tuple[str, str]] = []
    began = sandbox.clock.now()
    fan = FanOutReporter(collect, reporter, *injectors, crash)

    def record(result: RunResult, error: str | None, drained: tuple[str, ...], forced: tuple[str, ...],
               by_pool: tuple[tuple[str, tuple[str, ...]], ...] = ()) -> Attempt:
        details = tuple({"pod": e.pod, "node": e.node, "pdb": e.pdb} for e in collect.of(PodForced))
        return Attempt(number, result, error, drained, len(collect.of(PodEvicted)), sandbox.clock.now() - began,
                       to=run.to, color=chosen[0][1] if chosen else None, crash=run.crash, pods_forced=forced,
                       forced=details, pool_colors=tuple(chosen), pool_drained=by_pool,
                       pods_moved_by_surge=sum(len(e.pods) for e in collect.of(SurgeMoved)))

    try:
        reports = play_run(sandbox, run.to, settings, fan, crash, chosen)
    except SimulatedCrash as exc:
        reporter.emit(Note(f"run {number} crashed at {exc.point}"))
        return record(RunResult.CRASHED, str(exc), _drained(collect), tuple(e.pod for e in collect.of(PodForced)))
    except RolledBack as exc:
        return record(RunResult.ROLLED_BACK, str(exc), _drained(collect), tuple(e.pod for e in collect.of(PodForced)))
    except CutoverError as exc:
        return record(RunResult.FAILED, str(exc), _drained(collect), tuple(e.pod for e in collect.of(PodForced)))
    except Exception as exc:  # noqa: BLE001 - a run must end in a report, as a failed `pulumi up` ends in a message
        error = f"unexpected {type(exc).__name__}: {exc}"
        return record(RunResult.FAILED, error, _drained(collect), tuple(e.pod for e in collect.of(PodForced)))
    if not reports:
        return record(RunResult.OK, None, (), ())
    forced = tuple(p for _, r in reports for p in r.pods_forced) or tuple(e.pod for e in collect.of(PodForced))
    drained = tuple(n for _, r in reports for n in r.nodes_drained)
    by_pool = tuple((pool, tuple(r.nodes_drained)) for pool, r in reports)
    return record(RunResult.FORCED if forced else RunResult.OK, None, drained, forced, by_pool)


def _drained(collect: CollectingReporter) -> tuple[str, ...]:
    return tuple(e.node for e in collect.of(NodeDrained))


# -- settling and the final state -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settled:
    seconds: float
    how: str  # "at desired" | "quiet" | "limit"


def settle(sandbox, poll_s: float, *, limit_s: float = SETTLE_LIMIT_S) -> Settled:
    """Let the cluster run on after the last run until every workload is at desired with nothing in transit, or
    nothing changed for a quiet period with nothing starting or terminating, or ``limit_s`` passed."""
    from bluegreen.sandbox.outcome import snapshot

    clock = sandbox.clock
    quiet_s = max(SETTLE_QUIET_S, sandbox.scenario.join_seconds + 10 * poll_s)
    start = clock.now()
    last, since = None, start
    while True:
        snap = snapshot(sandbox.cluster)
        now = clock.now()
        if not snap.in_transit and not snap.final_state().below_desired:
            return Settled(now - start, "at desired")
        mark = snap.fingerprint()
        if mark != last:
            last, since = mark, now
        elif not snap.in_transit and now - since >= quiet_s:
            return Settled(now - start, "quiet")
        if now - start >= limit_s:
            return Settled(now - start, "limit")
        clock.sleep(poll_s)


@dataclass(frozen=True)
class RehearsalReport:
    scenario: str
    result: str
    error: str | None
    duration_s: float
    wall_s: float
    nodes_drained: int
    pods_evicted: int
    pod_moves_per_evicted_pod: float | None
    lowest_availability: dict
    budget_violations: list
    pods_lost: list
    api_requests: dict
    old_color_capacity: dict
    new_color_capacity: dict
    attempts: tuple[Attempt, ...]
    crash_at: str | None = None
    daemonset_pods_ended: list = field(default_factory=list)
    measurements: dict = field(default_factory=dict)
    pods_forced: list = field(default_factory=list)
    serving_color: str | None = None
    serving_detail: str = ""
    final_availability: dict = field(default_factory=dict)
    cordoned_nodes: list = field(default_factory=list)
    final_nodes: dict = field(default_factory=dict)  # color -> {nodes, schedulable, application_pods}
    node_colors: dict = field(default_factory=dict)  # node name -> color, at the end
    final_pools: dict = field(default_factory=dict)  # pool -> {serving_color, serving_detail, nodes}
    plan: dict = field(default_factory=dict)  # the pools plan (bluegreen.sandbox.pool_fit) made before the start
    settle_s: float = 0.0
    final_state_error: str | None = None
    # Old pods moved by surge as the sandbox measured it (Deployment pods their controller removed from a cordoned
    # node in a rolling update): not evictions, so not in pods_evicted nor in moves per evicted pod.
    pods_moved_by_surge: int = 0
    api_bytes: dict = field(default_factory=dict)  # response bytes per API ({"kubernetes": N})

    @property
    def ok(self) -> bool:
        return self.result == RunResult.OK

    @property
    def runs(self) -> tuple[Attempt, ...]:
        return self.attempts

    @property
    def exit_code(self) -> ExitCode:
        return exit_code(self.result, budget_violations=self.budget_violations, pods_lost=self.pods_lost,
                         pods_forced=self.pods_forced)

    def kubernetes_per_moved_pod(self) -> dict | None:
        """Kubernetes requests and kilobytes of responses per evicted pod (None when no pod was evicted)."""
        if not self.pods_evicted:
            return None
        return {"requests": round(self.api_requests.get("kubernetes", 0) / self.pods_evicted, 2),
                "kilobytes": round(self.api_bytes.get("kubernetes", 0) / 1024 / self.pods_evicted, 2)}

    def cordoned_on(self, color: str) -> list[str]:
        return [n for n in self.cordoned_nodes if self.node_colors.get(n) == color]

    def to_dict(self) -> dict:
        runs = [a.to_dict() for a in self.attempts]
        return {
            "scenario": self.scenario, "result": str(self.result), "error": self.error,
            "exit_code": int(self.exit_code),
            "duration_s": round(self.duration_s, 1), "wall_s": round(self.wall_s, 2),
            "nodes_drained": self.nodes_drained, "pods_evicted": self.pods_evicted,
            "pods_moved_by_surge": self.pods_moved_by_surge,
            "pod_moves_per_evicted_pod": self.pod_moves_per_evicted_pod,
            "lowest_availability": self.lowest_availability, "budget_violations": self.budget_violations,
            "pods_lost": self.pods_lost, "pods_forced": self.pods_forced,
            "daemonset_pods_ended": self.daemonset_pods_ended,
            "api_requests": self.api_requests, "api_bytes": self.api_bytes,
            "kubernetes_per_moved_pod": self.kubernetes_per_moved_pod(),
            "old_color_capacity": self.old_color_capacity, "new_color_capacity": self.new_color_capacity,
            "attempts": len(self.attempts), "attempt_details": runs, "runs": runs,
            "crash_at": self.crash_at,
            "serving_color": self.serving_color, "serving_detail": self.serving_detail,
            "final_availability": self.final_availability, "cordoned_nodes": self.cordoned_nodes,
            "final_nodes": self.final_nodes, "final_pools": self.final_pools, "plan": self.plan,
            "settle_s": round(self.settle_s, 1),
            "final_state_error": self.final_state_error,
        }


def plan_stop(scenario, plan, wall: float) -> RehearsalReport:
    """The report of a rehearsal that stopped at its plan: nothing was started, every blocker is named."""
    error = f"plan: {len(plan.blockers)} blocker(s): " + " | ".join(plan.blockers)
    attempt = Attempt(1, RunResult.FAILED, error, (), 0, 0.0)
    return RehearsalReport(
        scenario=scenario.name, result=RunResult.FAILED, error=error, duration_s=0.0, wall_s=time.monotonic() - wall,
        nodes_drained=0, pods_evicted=0, pod_moves_per_evicted_pod=None, lowest_availability={}, budget_violations=[],
        pods_lost=[], api_requests={}, old_color_capacity={}, new_color_capacity={}, attempts=(attempt,),
        crash_at=scenario.crash_at, plan=plan.to_dict(), final_state_error="not started: the plan has blockers",
    )


def rehearse(scenario, *, speed: float | None = None, reporter: Reporter | None = None,
             settings: RolloutSettings | None = None, stop_on_plan_blockers: bool | None = None,
             cluster_name: str | None = None) -> RehearsalReport:
    """Play the scenario's runs on one sandbox, let it settle, and report what the sandbox observed.

    First the pools plan (bluegreen.sandbox.pool_fit): with ``stop_on_plan_blockers`` (default: when the scenario
    has pools; a rehearsal of a stack always) a workload that fits no pool stops the rehearsal before anything
    starts, each blocker named (result ``failed``)."""
    from bluegreen.sandbox.outcome import node_colors, pool_serving, snapshot
    from bluegreen.sandbox.pool_fit import plan_pools
    from bluegreen.sandbox.world import Sandbox

    reporter = reporter or NullReporter()
    settings = settings or scenario.rollout_settings()
    attempts: list[Attempt] = []
    wall = time.monotonic()
    plan = plan_pools(scenario)
    if stop_on_plan_blockers is None:
        stop_on_plan_blockers = bool(scenario.pools)
    if not plan.ok and stop_on_plan_blockers:
        return plan_stop(scenario, plan, wall)
    sandbox = Sandbox.start(scenario, speed=speed, **({"cluster_name": cluster_name} if cluster_name else {}))
    from bluegreen.sandbox.scenario import AlarmFires, NodeLost, Rollout

    # each loss (and each rollout at a crash point) happens once, in the first run
    losses = NodeLossInjector(sandbox, [*scenario.faults_of(NodeLost), *scenario.faults_of(Rollout)])
    alarms = AlarmInjector(sandbox, scenario.faults_of(AlarmFires))  # each alarm fires once
    if isinstance(reporter, PrintReporter):
        reporter.use_clock(sandbox.clock)
    old_capacity: dict = {}
    new_capacity: dict = {}
    final: dict = {}
    settled = Settled(0.0, "not run")
    final_error: str | None = None
    try:
        start = sandbox.clock.now()
        runs = scenario.planned_runs()
        for number, run in enumerate(runs, start=1):
            if len(runs) > 1:
                killed = f" (killed at {run.crash})" if run.crash else ""
                reporter.emit(Note(f"run {number}/{len(runs)}: activeAmi = ami.{run.to}{killed}"))
            attempts.append(run_once(sandbox, number, run, settings, reporter, losses, alarms))
        duration = sandbox.clock.now() - start
        try:
            settled = settle(sandbox, settings.poll_interval_s)
            snap = snapshot(sandbox.cluster)
            state = snap.final_state()
            final = {
                "serving_color": state.serving_color, "serving_detail": state.serving_detail,
                "final_availability": {k: a.to_dict() for k, a in state.availability.items()},
                "cordoned_nodes": list(state.cordoned_nodes),
                "final_nodes": {c: n.to_dict() for c, n in state.colors.items()},
                "node_colors": node_colors(snap.nodes),
                "final_pools": {p.name: pool_serving(snap.nodes, snap.pods, snap.workload_of, p.name)
                                for p in scenario.all_pools()} if scenario.pools else {},
            }
        except Exception as exc:  # noqa: BLE001 - the report is printed even when the final read fails
            final_error = f"reading the final state failed: {type(exc).__name__}: {exc}"
        old_capacity = _capacity_or_error(sandbox, sandbox.old_color)
        new_capacity = _capacity_or_error(sandbox, sandbox.new_color)
        measured = sandbox.measurements()
    finally:
        sandbox.stop()
    nodes = sorted({n for a in attempts for n in a.nodes_drained})
    last = attempts[-1]
    forced = sorted({p for a in attempts for p in a.pods_forced})
    return RehearsalReport(
        scenario=scenario.name, result=last.result, error=last.error, duration_s=duration,
        wall_s=time.monotonic() - wall,
        nodes_drained=len(nodes), pods_evicted=int(measured.get("pods_evicted", 0)),
        pod_moves_per_evicted_pod=measured.get("pod_moves_per_evicted_pod"),
        lowest_availability=measured.get("lowest_availability", {}),
        budget_violations=list(measured.get("budget_violations", [])), pods_lost=list(measured.get("pods_lost", [])),
        daemonset_pods_ended=list(measured.get("daemonset_pods_ended", [])),
        api_requests=dict(measured.get("api_requests", {})), api_bytes=dict(measured.get("api_bytes", {})),
        old_color_capacity=old_capacity,
        new_color_capacity=new_capacity, attempts=tuple(attempts), crash_at=scenario.crash_at, measurements=measured,
        pods_forced=forced, settle_s=settled.seconds, final_state_error=final_error, plan=plan.to_dict(),
        pods_moved_by_surge=int(measured.get("pods_moved_by_surge", 0)), **final,
    )


# -- the command --------------------------------------------------------------------------------------------------


class BadInput(ValueError):
    """A flag or scenario the rehearsal cannot run; the message is one line naming the field and what is allowed."""


def check_speed(speed: float | None) -> float | None:
    if speed is not None and (not math.isfinite(speed) or speed <= 0):
        raise BadInput(f"--speed: {speed} is not allowed; allowed: a finite number > 0 (simulated seconds per real "
                       "second)")
    return speed


def run_rehearsal(source: str | None, *, as_json: bool, speed: float | None = None, out: TextIO | None = None,
                  err: TextIO | None = None, scenario=None, cluster_name: str | None = None) -> int:
    """The `rehearse` command: progress lines (or one JSON object) and an ExitCode. ``scenario``: one already
    built (a stack's, by the command line), instead of loading ``source``; its plan's blockers stop it."""
    from bluegreen.sandbox.pool_fit import plan_pools
    from bluegreen.sandbox.scenario import ScenarioError, load_scenario
    from bluegreen.sandbox.world import SandboxStartError

    out = out or sys.stdout
    err = err or sys.stderr
    from_stack = scenario is not None
    try:
        check_speed(speed)
        if scenario is None:
            scenario = load_scenario(source)
    except (BadInput, ScenarioError) as exc:
        err.write(f"error: {' '.join(str(exc).split())}\n")
        return ExitCode.BAD_INPUT
    reporter: Reporter = NullReporter() if as_json else PrintReporter(out)
    if not as_json:
        out.write(f"rehearsing scenario {scenario.name}: {scenario.nodes_per_color} node(s) per color, "
                  f"{scenario.ami.from_} -> {scenario.ami.to}, {len(scenario.planned_runs())} run(s)\n")
        if scenario.pools or from_stack:
            order = "all at once (poolsInParallel)" if scenario.pools_in_parallel else "one after another"
            out.write(f"plan: {len(scenario.all_pools())} pool(s), cut over {order}\n")
            out.write("\n".join(plan_pools(scenario).lines()) + "\n")
    try:
        report = rehearse(scenario, speed=speed, reporter=reporter,
                          stop_on_plan_blockers=True if from_stack else None, cluster_name=cluster_name)
    except SandboxStartError as exc:
        err.write(f"error: {' '.join(str(exc).split())}\n")
        return ExitCode.BAD_INPUT
    if as_json:
        out.write(json.dumps(report.to_dict(), indent=2, default=str) + "\n")
    else:
        out.write(summary_text(report))
    return report.exit_code


def summary_text(report: RehearsalReport) -> str:
    data = report.to_dict()
    lines = []
    if len(report.attempts) > 1:
        for a in report.attempts:
            crash = f", crash at {a.crash}" if a.crash else ""
            lines.append(f"run {a.number}: ami.{a.to} on {a.color or '?'}{crash}: {a.result} in {a.seconds:.0f}s, "
                         f"{len(a.nodes_drained)} node(s) drained, {a.pods_evicted} pod(s) evicted"
                         + (f", {len(a.pods_forced)} forced" if a.pods_forced else ""))
    lines.append(
        f"result: {report.result} in {data['duration_s']}s simulated ({data['wall_s']}s real), "
        f"{len(report.attempts)} run(s); nodes drained {report.nodes_drained}, "
        f"pods evicted {report.pods_evicted}, moves per evicted pod {report.pod_moves_per_evicted_pod}, "
        f"pods moved by surge {report.pods_moved_by_surge}, "
        f"budget violations {len(report.budget_violations)}, pods lost {len(report.pods_lost)}, "
        f"pods forced {len(report.pods_forced)}, API requests {report.api_requests}"
    )
    per_pod = report.kubernetes_per_moved_pod()
    if per_pod is not None:
        lines.append(f"kubernetes API: {report.api_requests.get('kubernetes', 0)} request(s), "
                     f"{report.api_bytes.get('kubernetes', 0) / 1024:.0f} KB of responses; per moved pod "
                     f"{per_pod['requests']:.1f} request(s), {per_pod['kilobytes']:.1f} KB")
    if report.final_state_error:
        lines.append(f"final state: unknown ({report.final_state_error})")
    else:
        below = {k: v for k, v in report.final_availability.items() if v["ready"] < v["desired"] or v["pending"]}
        lines.append(
            f"final state after {report.settle_s:.0f}s settling: serving {report.serving_color or 'no single color'} "
            f"({report.serving_detail}); "
            + ("every workload at desired" if not below else "below desired: " + ", ".join(
                f"{k} {v['ready']}/{v['desired']} ready, {v['pending']} pending" for k, v in below.items()))
            + f"; cordoned: {', '.join(report.cordoned_nodes) or 'none'}"
        )
    if report.final_pools:
        lines.append("pools: " + "; ".join(
            f"{pool} serving {state['serving_color'] or 'no single color'}"
            + ("" if state["serving_color"] else f" ({state['serving_detail']})")
            for pool, state in report.final_pools.items()))
    if report.pods_forced:
        lines.append(f"forced past their budget: {', '.join(report.pods_forced)}")
    if report.error:
        lines.append(f"error: {report.error}")
    return "\n".join(lines) + "\n"
