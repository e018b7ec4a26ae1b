"""The rehearsal: a whole cutover in the sandbox, through the same engine calls a `pulumi up` makes.

Sandbox.start -> the program step (the new color's launch template on the new AMI, its group at full size)
-> readiness gate -> load-balancer gate -> preflight -> drain -> the old group scaled to zero -> a report whose
figures come from what the sandbox observed. A scenario's ``crash`` fault kills the first attempt at its point
(as a killed `pulumi up` would die); the whole cutover then runs again from scratch.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from typing import TextIO

from bluegreen.engine import api
from bluegreen.engine.clock import Clock
from bluegreen.engine.errors import CutoverError
from bluegreen.engine.groups import describe_group, launch_template_ami
from bluegreen.engine.naming import group_name, launch_template_name
from bluegreen.engine.progress import (
    CollectingReporter,
    Event,
    FanOutReporter,
    GatePassed,
    GroupScaled,
    NodeDrained,
    NodesCordoned,
    Note,
    NullReporter,
    PodEvicted,
    PrintReporter,
    Reporter,
)
from bluegreen.engine.settings import RolloutSettings

CRASH_POINTS = ("after_scale_up", "after_gates", "after_cordon", "mid_node", "after_first_node")


class SimulatedCrash(BaseException):
    """The first attempt dies here, as a killed `pulumi up` would: no cleanup, no error handling.

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
            self.lost.extend(self.sandbox.lose_nodes(fault.color, fault.count))


class PointChecks:
    """Explicit crash points (after_scale_up) go to every injector, node losses before the crash."""

    def __init__(self, *injectors) -> None:
        self.injectors = injectors

    def check(self, point: str) -> None:
        for injector in self.injectors:
            injector.check(point)


class CrashInjector:
    """A reporter that raises SimulatedCrash at the first event matching the crash point."""

    def __init__(self, point: str | None) -> None:
        if point is not None and point not in CRASH_POINTS:
            raise ValueError(f"unknown crash point {point!r}; expected one of {', '.join(CRASH_POINTS)}")
        self.point = point
        self.fired = False

    def matches(self, event: Event) -> bool:
        return point_reached(self.point, event)

    def check(self, point: str) -> None:
        """Explicit crash points the rehearsal passes itself (after_scale_up)."""
        if not self.fired and self.point == point:
            self.fired = True
            raise SimulatedCrash(point)

    def emit(self, event: Event) -> None:
        if not self.fired and self.point is not None and self.matches(event):
            self.fired = True
            raise SimulatedCrash(self.point)


@dataclass(frozen=True)
class Attempt:
    number: int
    result: str  # "ok" | "failed" | "crashed"
    error: str | None
    nodes_drained: tuple[str, ...]
    pods_evicted: int
    seconds: float

    def to_dict(self) -> dict:
        return {"attempt": self.number, "result": self.result, "error": self.error,
                "nodes_drained": list(self.nodes_drained), "pods_evicted": self.pods_evicted,
                "seconds": round(self.seconds, 1)}


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

    @property
    def ok(self) -> bool:
        return self.result == "ok"

    def to_dict(self) -> dict:
        return {
            "scenario": self.scenario, "result": self.result, "error": self.error,
            "duration_s": round(self.duration_s, 1), "wall_s": round(self.wall_s, 2),
            "nodes_drained": self.nodes_drained, "pods_evicted": self.pods_evicted,
            "pod_moves_per_evicted_pod": self.pod_moves_per_evicted_pod,
            "lowest_availability": self.lowest_availability, "budget_violations": self.budget_violations,
            "pods_lost": self.pods_lost, "daemonset_pods_ended": self.daemonset_pods_ended,
            "api_requests": self.api_requests,
            "old_color_capacity": self.old_color_capacity, "new_color_capacity": self.new_color_capacity,
            "attempts": len(self.attempts), "attempt_details": [a.to_dict() for a in self.attempts],
            "crash_at": self.crash_at,
        }


def program_step(conn, cluster_name: str, color: str, ami: str, nodes: int) -> None:
    """What `pulumi up` does to the new color before the cutover steps: a launch template version on the new AMI
    as the default, and the group at full size on it. Idempotent: a re-run finds the AMI already set."""
    template = launch_template_name(cluster_name, color)
    if launch_template_ami(conn.ec2, template) != ami:
        created = conn.ec2.create_launch_template_version(
            LaunchTemplateName=template, SourceVersion="$Default", LaunchTemplateData={"ImageId": ami}
        )
        version = created["LaunchTemplateVersion"]["VersionNumber"]
        conn.ec2.modify_launch_template(LaunchTemplateName=template, DefaultVersion=str(version))
    group = describe_group(conn.autoscaling, conn.ec2, group_name(cluster_name, color), with_amis=False)
    conn.autoscaling.update_auto_scaling_group(
        AutoScalingGroupName=group.name,
        LaunchTemplate={"LaunchTemplateName": template, "Version": "$Default"},
        MinSize=nodes, DesiredCapacity=nodes, MaxSize=max(nodes, group.max_size),
    )


def capacity(conn, cluster_name: str, color: str) -> dict:
    group = describe_group(conn.autoscaling, conn.ec2, group_name(cluster_name, color), with_amis=False)
    nodes = conn.kube.nodes_of_color(color)
    return {
        "group": group.name, "desired": group.desired, "min": group.min_size, "max": group.max_size,
        "instances_in_service": sum(1 for i in group.instances if i.lifecycle_state == "InService"),
        "nodes": len(nodes),
    }


def wait_group_empty(conn, name: str, clock: Clock, timeout_s: float, poll_s: float) -> None:
    start = clock.now()
    while clock.now() - start < timeout_s:
        if not describe_group(conn.autoscaling, conn.ec2, name, with_amis=False).instances:
            return
        clock.sleep(poll_s)


def cutover(sandbox, settings: RolloutSettings, reporter: Reporter, crash: CrashInjector | PointChecks
            ) -> api.DrainReport:
    """One attempt, from scratch, as one `pulumi up` run would do it."""
    scenario = sandbox.scenario
    target = api.ClusterTarget(sandbox.cluster_name, sandbox.region, sandbox.aws_endpoint, sandbox.kubeconfig_path)
    from bluegreen.engine.connection import local_session

    conn = api.connect(target, session=local_session(sandbox.region))
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
        from bluegreen.engine.errors import PreflightBlocked

        raise PreflightBlocked(list(plan.blockers))
    report = api.drain(conn, old, new, settings, reporter, clock)
    api.scale_group(conn, old.group_name, desired=0, min_size=0)
    reporter.emit(GroupScaled(old.group_name, 0))
    wait_group_empty(conn, old.group_name, clock, timeout_s=max(60.0, 10 * settings.poll_interval_s),
                     poll_s=settings.poll_interval_s)
    return report


def rehearse(scenario, *, speed: float | None = None, reporter: Reporter | None = None,
             settings: RolloutSettings | None = None) -> RehearsalReport:
    """Run the scenario's cutover (twice when it has a crash point) and report what the sandbox observed."""
    from bluegreen.sandbox.world import Sandbox

    reporter = reporter or NullReporter()
    settings = settings or scenario.rollout_settings()
    crash = CrashInjector(scenario.crash_at)
    from bluegreen.sandbox.scenario import NodeLost
    attempts: list[Attempt] = []
    wall = time.monotonic()
    sandbox = Sandbox.start(scenario, speed=speed)
    losses = NodeLossInjector(sandbox, scenario.faults_of(NodeLost))  # once: a loss happens in one attempt only
    if isinstance(reporter, PrintReporter):
        reporter.use_clock(sandbox.clock)
    try:
        start = sandbox.clock.now()
        result, error = "failed", None
        number = 0
        while True:
            number += 1
            collect = CollectingReporter()
            began = sandbox.clock.now()
            fan = FanOutReporter(collect, reporter, losses, crash)
            try:
                report = cutover(sandbox, settings, fan, PointChecks(losses, crash))
                drained = report.nodes_drained
                attempts.append(Attempt(number, "ok", None, drained, len(report.pods_evicted),
                                        sandbox.clock.now() - began))
                result, error = "ok", None
                break
            except SimulatedCrash as exc:
                drained = tuple(e.node for e in collect.of(NodeDrained))
                attempts.append(Attempt(number, "crashed", str(exc), drained, len(collect.of(PodEvicted)),
                                        sandbox.clock.now() - began))
                reporter.emit(Note(f"attempt {number} crashed at {exc.point}; running the cutover again"))
                continue
            except CutoverError as exc:
                drained = tuple(e.node for e in collect.of(NodeDrained))
                attempts.append(Attempt(number, "failed", str(exc), drained, len(collect.of(PodEvicted)),
                                        sandbox.clock.now() - began))
                result, error = "failed", str(exc)
                break
        duration = sandbox.clock.now() - start
        conn = api.connect(
            api.ClusterTarget(sandbox.cluster_name, sandbox.region, sandbox.aws_endpoint, sandbox.kubeconfig_path),
            session=_session(sandbox.region),
        )
        old_capacity = capacity(conn, sandbox.cluster_name, sandbox.old_color)
        new_capacity = capacity(conn, sandbox.cluster_name, sandbox.new_color)
        measured = sandbox.measurements()
    finally:
        sandbox.stop()
    nodes = sorted({n for a in attempts for n in a.nodes_drained})
    return RehearsalReport(
        scenario=scenario.name, result=result, error=error, duration_s=duration, wall_s=time.monotonic() - wall,
        nodes_drained=len(nodes), pods_evicted=int(measured.get("pods_evicted", 0)),
        pod_moves_per_evicted_pod=measured.get("pod_moves_per_evicted_pod"),
        lowest_availability=measured.get("lowest_availability", {}),
        budget_violations=list(measured.get("budget_violations", [])), pods_lost=list(measured.get("pods_lost", [])),
        daemonset_pods_ended=list(measured.get("daemonset_pods_ended", [])),
        api_requests=dict(measured.get("api_requests", {})), old_color_capacity=old_capacity,
        new_color_capacity=new_capacity, attempts=tuple(attempts), crash_at=scenario.crash_at, measurements=measured,
    )


def _session(region: str):
    from bluegreen.engine.connection import local_session

    return local_session(region)


def run_rehearsal(source: str | None, *, as_json: bool, speed: float | None = None, out: TextIO | None = None) -> int:
    """The `rehearse` command: progress lines (or one JSON object); exit 1 when the cutover failed."""
    from bluegreen.sandbox.scenario import load_scenario

    out = out or sys.stdout
    scenario = load_scenario(source)
    reporter: Reporter = NullReporter() if as_json else PrintReporter(out)
    if not as_json:
        out.write(f"rehearsing scenario {scenario.name}: {scenario.nodes_per_color} node(s) per color, "
                  f"{scenario.ami.from_} -> {scenario.ami.to}\n")
    report = rehearse(scenario, speed=speed, reporter=reporter)
    if as_json:
        out.write(json.dumps(report.to_dict(), indent=2, default=str) + "\n")
    else:
        data = report.to_dict()
        out.write(
            f"result: {report.result} in {data['duration_s']}s simulated ({data['wall_s']}s real), "
            f"{report.attempts and len(report.attempts)} attempt(s); nodes drained {report.nodes_drained}, "
            f"pods evicted {report.pods_evicted}, moves per evicted pod {report.pod_moves_per_evicted_pod}, "
            f"budget violations {len(report.budget_violations)}, pods lost {len(report.pods_lost)}, "
            f"API requests {report.api_requests}\n"
        )
        if report.error:
            out.write(f"error: {report.error}\n")
    return 0 if report.ok else 1
