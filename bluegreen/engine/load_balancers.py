"""Load-balancer gate: the new group serves behind every load balancer the workers serve, and is healthy there."""

from __future__ import annotations

from dataclasses import dataclass

from bluegreen.engine.clock import Clock
from bluegreen.engine.errors import GroupNotFound, LoadBalancerTimeout
from bluegreen.engine.groups import describe_group
from bluegreen.engine.progress import GatePassed, GateWaiting, Reporter
from bluegreen.engine.readiness import LEAVING
from bluegreen.engine.settings import RolloutSettings
from bluegreen.engine.stop import release_stuck

GATE = "load-balancers"


@dataclass(frozen=True)
class LoadBalancerSpec:
    target_group_arns: tuple[str, ...] = ()
    classic_elb_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class TargetHealth:
    load_balancer: str  # target group ARN or classic ELB name
    instance_id: str
    state: str  # healthy/initial/unhealthy/unused/draining (TG) or InService/OutOfService/Unknown (ELB)
    reason: str = ""


def short_lb(name: str) -> str:
    """A target group ARN's readable part (targetgroup/NAME/ID -> NAME); ELB names unchanged."""
    if ":targetgroup/" in name:
        return name.split(":targetgroup/", 1)[1].split("/", 1)[0]
    return name


def attachment_gaps(group_name: str, attached: LoadBalancerSpec, expected: LoadBalancerSpec) -> list[str]:
    """Load balancers the group should be attached to but is not."""
    gaps = [f"group {group_name} not attached to target group {short_lb(arn)}"
            for arn in expected.target_group_arns if arn not in attached.target_group_arns]
    gaps += [f"group {group_name} not attached to classic ELB {name}"
             for name in expected.classic_elb_names if name not in attached.classic_elb_names]
    return gaps


def health_gaps(instance_ids: list[str], lbs: LoadBalancerSpec, health: list[TargetHealth]) -> list[str]:
    """Pure decision: what keeps each instance from being healthy in each load balancer."""
    seen = {(h.load_balancer, h.instance_id): h for h in health}
    gaps: list[str] = []
    for instance in sorted(instance_ids):
        for lb, good, kind in [(a, "healthy", "target group") for a in lbs.target_group_arns] + [
            (n, "InService", "classic ELB") for n in lbs.classic_elb_names
        ]:
            h = seen.get((lb, instance))
            if h is None:
                gaps.append(f"instance {instance}: not registered in {kind} {short_lb(lb)}")
            elif h.state != good:
                reason = f" ({h.reason})" if h.reason else ""
                gaps.append(f"instance {instance}: {h.state}{reason} in {kind} {short_lb(lb)}")
    return gaps


@dataclass(frozen=True)
class LoadBalancerReport:
    group_name: str
    target_group_arns: tuple[str, ...]
    classic_elb_names: tuple[str, ...]
    instances: tuple[str, ...]
    waited_s: float

    def to_dict(self) -> dict:
        return {"group_name": self.group_name, "target_group_arns": list(self.target_group_arns),
                "classic_elb_names": list(self.classic_elb_names), "instances": list(self.instances),
                "waited_s": round(self.waited_s, 3)}


def observe_health(conn, instance_ids: list[str], lbs: LoadBalancerSpec) -> list[TargetHealth]:
    found: list[TargetHealth] = []
    if not instance_ids:
        return found
    for arn in lbs.target_group_arns:
        answer = conn.elbv2.describe_target_health(TargetGroupArn=arn)
        for d in answer.get("TargetHealthDescriptions") or []:
            th = d.get("TargetHealth") or {}
            found.append(TargetHealth(arn, d["Target"]["Id"], th.get("State", ""), th.get("Reason") or ""))
    for name in lbs.classic_elb_names:
        answer = conn.elb.describe_instance_health(LoadBalancerName=name)
        for s in answer.get("InstanceStates") or []:
            found.append(TargetHealth(name, s["InstanceId"], s.get("State", ""), s.get("ReasonCode") or ""))
    return found


def expected_load_balancers(conn, *, expected: LoadBalancerSpec | None, like_group: str | None) -> LoadBalancerSpec:
    if expected is not None:
        return expected
    if like_group is not None:
        try:
            other = describe_group(conn.autoscaling, conn.ec2, like_group, with_amis=False)
        except GroupNotFound:  # first deploy: there is no other color to be like
            return LoadBalancerSpec()
        return LoadBalancerSpec(other.target_group_arns, other.classic_elb_names)
    return LoadBalancerSpec()


def wait_load_balancers_healthy(conn, group, settings: RolloutSettings, reporter: Reporter, clock: Clock, *,
                                expected: LoadBalancerSpec | None = None,
                                like_group: str | None = None) -> LoadBalancerReport:
    """Wait until every live instance of ``group`` is healthy in every target group and classic ELB it is attached
    to, and it is attached to everything ``expected`` (or ``like_group``, the old color) is attached to."""
    want = expected_load_balancers(conn, expected=expected, like_group=like_group)
    start = clock.now()
    while True:
        observed = describe_group(conn.autoscaling, conn.ec2, group.group_name, with_amis=False)
        attached = LoadBalancerSpec(observed.target_group_arns, observed.classic_elb_names)
        lbs = LoadBalancerSpec(
            tuple(dict.fromkeys(attached.target_group_arns + want.target_group_arns)),
            tuple(dict.fromkeys(attached.classic_elb_names + want.classic_elb_names)),
        )
        ids = [i.id for i in observed.instances if i.lifecycle_state not in LEAVING]
        gaps = attachment_gaps(group.group_name, attached, want)
        gaps += health_gaps(ids, lbs, observe_health(conn, ids, lbs))
        waited = clock.now() - start
        if not gaps:
            reporter.emit(GatePassed(GATE, group.group_name, len(ids), waited))
            return LoadBalancerReport(group.group_name, lbs.target_group_arns, lbs.classic_elb_names, tuple(ids),
                                      waited)
        if waited >= settings.lb_healthy_timeout_s:
            error = LoadBalancerTimeout(group.group_name, waited, gaps)
            raise error.with_state(release_stuck(conn.kube, group.color, reporter))
        healthy = len([i for i in ids if not any(g.startswith(f"instance {i}:") for g in gaps)])
        reporter.emit(GateWaiting(GATE, group.group_name, healthy, len(ids), tuple(gaps)))
        clock.sleep(settings.poll_interval_s)
