"""Plain-data tests of the rollout arithmetic (rollout.py) and the taint-eviction decision (nodelifecycle.py)."""

from __future__ import annotations

from bluegreen.sandbox.kube.nodelifecycle import eviction_delay, node_taints, unknown_conditions
from bluegreen.sandbox.kube.rollout import (
    ReplicaSetCount,
    new_replicaset_replicas,
    old_replicasets_after_scale_down,
    resolve_fenceposts,
)

UNREACHABLE = {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}


def test_fenceposts_round_surge_up_and_unavailable_down():
    assert resolve_fenceposts("25%", "25%", 6) == (2, 1)
    assert resolve_fenceposts(None, None, 10) == (3, 2)
    assert resolve_fenceposts(0, 0, 4) == (0, 1)  # both zero: one may be unavailable
    assert resolve_fenceposts(1, 9, 3) == (1, 3)  # never more unavailable than replicas


def test_the_new_set_grows_up_to_max_surge():
    old = ReplicaSetCount("old", 6, 6)
    assert new_replicaset_replicas(6, 2, ReplicaSetCount("new", 0, 0), [old]) == 2
    assert new_replicaset_replicas(6, 2, ReplicaSetCount("new", 2, 0), [old, ReplicaSetCount("new", 2, 0)]) == 2
    assert new_replicaset_replicas(6, 2, ReplicaSetCount("new", 2, 2), [ReplicaSetCount("old", 4, 4),
                                                                       ReplicaSetCount("new", 2, 2)]) == 4


def test_old_sets_shrink_only_while_enough_pods_stay_available():
    new = ReplicaSetCount("new", 2, 0)
    # 8 pods, 6 available, minAvailable 5, the new set's 2 are not available yet: one old pod may go.
    assert old_replicasets_after_scale_down(6, 1, new, [ReplicaSetCount("old", 6, 6)]) == {"old": 5}
    # Unhealthy old replicas go first, without touching availability.
    assert old_replicasets_after_scale_down(6, 1, ReplicaSetCount("new", 2, 2),
                                            [ReplicaSetCount("old", 6, 4)]) == {"old": 3}
    # Nothing left to scale down.
    assert old_replicasets_after_scale_down(6, 1, ReplicaSetCount("new", 6, 6), [ReplicaSetCount("old", 0, 0)]) == {}


def test_eviction_delay_is_the_smallest_matching_toleration():
    five = {"key": UNREACHABLE["key"], "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5}
    forever = {"operator": "Exists"}
    assert eviction_delay([five], [UNREACHABLE]) == 5.0
    assert eviction_delay([forever], [UNREACHABLE]) is None
    assert eviction_delay([five, forever], [UNREACHABLE]) == 5.0
    assert eviction_delay([], [UNREACHABLE]) == 0.0
    assert eviction_delay([], [{"key": "x", "effect": "NoSchedule"}]) is None


def test_node_taints_follow_the_ready_condition_and_keep_time_added():
    node = {"spec": {"unschedulable": True, "taints": [{"key": "dedicated", "effect": "NoSchedule"}]}}
    first = node_taints(node, "Unknown", "2026-01-01T00:00:00Z")
    assert first == [{"key": "dedicated", "effect": "NoSchedule"},
                     {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"},
                     {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"},
                     {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute",
                      "timeAdded": "2026-01-01T00:00:00Z"}]
    assert node_taints({"spec": {**node["spec"], "taints": first}}, "Unknown", "later") == first
    assert node_taints({"spec": {"taints": first}}, "True", "later") == [{"key": "dedicated", "effect": "NoSchedule"}]
    conditions = unknown_conditions([{"type": "Ready", "status": "True", "lastHeartbeatTime": "h"}], "t")
    assert conditions == [{"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown",
                           "message": "Kubelet stopped posting node status.", "lastHeartbeatTime": "h",
                           "lastTransitionTime": "t"}]
