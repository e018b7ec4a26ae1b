"""How a Deployment's RollingUpdate moves replicas from old ReplicaSets to the new one, as pure functions.

Upstream: pkg/controller/deployment/rolling.go (rolloutRolling, reconcileNewReplicaSet,
reconcileOldReplicaSets, cleanupUnhealthyReplicas, scaleDownOldReplicaSetsForRollingUpdate),
pkg/controller/deployment/util/deployment_util.go (NewRSNewReplicas, ResolveFenceposts, MaxSurge,
MaxUnavailable) and recreate.go (rolloutRecreate). Counts are ReplicaSet ``spec.replicas``; availability
is ReplicaSet ``status.availableReplicas`` (Ready for at least minReadySeconds).
"""

from __future__ import annotations

from dataclasses import dataclass

from bluegreen.sandbox.kube.disruption import scaled_value


@dataclass(frozen=True)
class ReplicaSetCount:
    """One ReplicaSet of a Deployment as the rollout arithmetic sees it."""

    name: str
    replicas: int  # spec.replicas
    available: int  # status.availableReplicas


def resolve_fenceposts(max_surge: int | str | None, max_unavailable: int | str | None, desired: int) -> tuple[int, int]:
    """ResolveFenceposts: surge rounds up, unavailable rounds down; both 0 means unavailable 1."""
    surge = scaled_value(max_surge if max_surge is not None else "25%", desired, round_up=True)
    unavailable = scaled_value(max_unavailable if max_unavailable is not None else "25%", desired, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, min(unavailable, desired)  # MaxUnavailable never exceeds the replicas


def new_replicaset_replicas(desired: int, surge: int, new: ReplicaSetCount, all_sets: list[ReplicaSetCount]) -> int:
    """NewRSNewReplicas for RollingUpdate: scale the new ReplicaSet up as far as maxSurge allows."""
    current = sum(rs.replicas for rs in all_sets)
    max_total = desired + surge
    if current >= max_total:
        return new.replicas
    scale_up = min(max_total - current, max(desired - new.replicas, 0))
    return new.replicas + scale_up


def old_replicasets_after_scale_down(desired: int, unavailable: int, new: ReplicaSetCount,
                                     old: list[ReplicaSetCount]) -> dict[str, int]:
    """reconcileOldReplicaSets: the old ReplicaSets' new spec.replicas (only those that change), oldest first.

    Scale down never takes the Deployment below desired - maxUnavailable available pods, counting the new
    ReplicaSet's unavailable pods against the room; old ReplicaSets' unhealthy replicas go first."""
    if sum(rs.replicas for rs in old) == 0:
        return {}
    all_pods = sum(rs.replicas for rs in old) + new.replicas
    min_available = desired - unavailable
    new_unavailable = new.replicas - new.available
    max_scaled_down = all_pods - min_available - new_unavailable
    if max_scaled_down <= 0:
        return {}
    result: dict[str, int] = {}
    replicas = {rs.name: rs.replicas for rs in old}
    # cleanupUnhealthyReplicas: unavailable replicas of old sets can go without touching availability.
    cleaned = 0
    for rs in old:
        if cleaned >= max_scaled_down:
            break
        unhealthy = rs.replicas - rs.available
        if rs.replicas == 0 or unhealthy <= 0:
            continue
        cut = min(max_scaled_down - cleaned, unhealthy)
        replicas[rs.name] -= cut
        cleaned += cut
    # scaleDownOldReplicaSetsForRollingUpdate: then available ones, down to minAvailable.
    available = sum(rs.available for rs in old) + new.available
    if available > min_available:
        remaining = available - min_available
        for rs in old:
            if remaining <= 0:
                break
            cut = min(replicas[rs.name], remaining)
            replicas[rs.name] -= cut
            remaining -= cut
    for rs in old:
        if replicas[rs.name] != rs.replicas:
            result[rs.name] = replicas[rs.name]
    return result
