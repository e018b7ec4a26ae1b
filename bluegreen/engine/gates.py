"""Both gates of the new color at once (nodes Ready, targets healthy), for the places that check both together:
the drain's re-check before its first eviction, and the read-only plan. When both fail, both are reported.

The cutover's own gate steps stay separate and in order (readiness.py, load_balancers.py): an instance is only
worth checking behind the load balancers once it is a Ready node. Here the new group has passed them before, so
a failure of either is news and the operator needs the whole picture in one message.
"""

from __future__ import annotations

from dataclasses import dataclass

from bluegreen.engine import load_balancers, readiness
from bluegreen.engine.clock import Clock
from bluegreen.engine.cordons import reclaim_color
from bluegreen.engine.errors import CutoverError, LoadBalancerTimeout, ReadinessTimeout
from bluegreen.engine.load_balancers import LoadBalancerReport, LoadBalancerSpec, expected_load_balancers
from bluegreen.engine.progress import GatePassed, GateWaiting, Reporter
from bluegreen.engine.readiness import ReadinessReport
from bluegreen.engine.settings import RolloutSettings


class GatesTimeout(CutoverError):
    """Neither gate passed in time: the new group's nodes are not all Ready and its targets not all healthy."""

    def __init__(self, group_name: str, waited_s: float, readiness_gaps: list[str], lb_gaps: list[str]) -> None:
        self.group_name = group_name
        self.readiness_gaps = list(readiness_gaps)
        self.lb_gaps = list(lb_gaps)
        lines = "\n  ".join([f"{readiness.GATE}: {g}" for g in readiness_gaps]
                            + [f"{load_balancers.GATE}: {g}" for g in lb_gaps])
        super().__init__(
            f"both gates of {group_name} failing after {waited_s:.0f}s (nodes not ready and targets not healthy); "
            f"nothing was drained, the old color still serves:\n  {lines}\n"
            "Next: fix the instances first (kubelet logs, bootstrap user data, AMI): unhealthy targets usually "
            "follow from nodes that are not Ready; then re-run."
        )


@dataclass(frozen=True)
class GatesVerdict:
    """One look at both gates of a group."""

    readiness: readiness.ReadinessVerdict
    load_balancers: load_balancers.LoadBalancerVerdict

    @property
    def passed(self) -> bool:
        return self.readiness.passed and self.load_balancers.passed

    def failures(self) -> list[str]:
        """Every gap of every failing gate, each prefixed with its gate's name."""
        return ([f"gate {readiness.GATE}: {g}" for g in self.readiness.gaps]
                + [f"gate {load_balancers.GATE}: {g}" for g in self.load_balancers.gaps])


def observe_gates(conn, group, want: LoadBalancerSpec) -> GatesVerdict:
    """Both gates of ``group`` (a GroupSpec), read once."""
    return GatesVerdict(
        readiness.observe_readiness(conn, group.group_name, group.color, group.ami, group.desired,
                                    pool=group.pool),
        load_balancers.observe_load_balancers(conn, group.group_name, want),
    )


def plan_gates(conn, group, *, like_group: str | None) -> GatesVerdict | None:
    """The read-only plan's look at both gates of the color it would cut over to; None while that group has no
    instances yet (before scale-up there is nothing to check)."""
    if not group.desired:
        return None
    return observe_gates(conn, group, expected_load_balancers(conn, expected=None, like_group=like_group))


def wait_gates(conn, group, settings: RolloutSettings, reporter: Reporter, clock: Clock, *,
               expected: LoadBalancerSpec | None = None,
               like_group: str | None = None) -> tuple[ReadinessReport, LoadBalancerReport]:
    """Wait until both gates pass. Timeouts as for the gates one after the other: the nodes have
    node_ready_timeout_s, the targets lb_healthy_timeout_s from the moment the nodes are Ready. When the nodes
    time out while the targets fail too, GatesTimeout names both; otherwise the one failing gate's own error.
    First uncordons the group's nodes an earlier drain cordoned, as the readiness gate does."""
    # Going back: the color about to serve may carry the cordons of a drain the other way (cordons.py).
    reclaim_color(conn.kube, group.color, reporter, group.pool)
    want = expected_load_balancers(conn, expected=expected, like_group=like_group)
    start = clock.now()
    nodes_ready_at: float | None = None
    while True:
        verdict = observe_gates(conn, group, want)
        now = clock.now()
        waited = now - start
        if verdict.readiness.passed and nodes_ready_at is None:
            nodes_ready_at = now
            reporter.emit(GatePassed(readiness.GATE, group.group_name, len(verdict.readiness.ready), waited))
        if verdict.passed:
            lb_waited = now - (nodes_ready_at if nodes_ready_at is not None else now)
            reporter.emit(GatePassed(load_balancers.GATE, group.group_name, len(verdict.load_balancers.instances),
                                     lb_waited))
            ready = verdict.readiness.ready
            return (ReadinessReport(group.group_name, tuple(i for i, _ in ready), tuple(n for _, n in ready), waited),
                    verdict.load_balancers.report(group.group_name, lb_waited))
        if not verdict.readiness.passed:
            nodes_ready_at = None  # a node that is not Ready any more: the targets get their full time again
            if waited >= settings.node_ready_timeout_s:
                if verdict.load_balancers.passed:
                    raise ReadinessTimeout(group.group_name, waited, list(verdict.readiness.gaps))
                raise GatesTimeout(group.group_name, waited, list(verdict.readiness.gaps),
                                   list(verdict.load_balancers.gaps))
            reporter.emit(GateWaiting(readiness.GATE, group.group_name, len(verdict.readiness.ready), group.desired,
                                      verdict.readiness.gaps))
        if not verdict.load_balancers.passed:
            if nodes_ready_at is not None and now - nodes_ready_at >= settings.lb_healthy_timeout_s:
                raise LoadBalancerTimeout(group.group_name, now - nodes_ready_at, list(verdict.load_balancers.gaps))
            lbs = verdict.load_balancers
            reporter.emit(GateWaiting(load_balancers.GATE, group.group_name, lbs.healthy, len(lbs.instances),
                                      lbs.gaps))
        clock.sleep(settings.poll_interval_s)
