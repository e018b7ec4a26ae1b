"""Every owner is protected: Job pods wait for completion, unknown controller kinds get the generic rule, and
``plan`` says which rule applies."""

from __future__ import annotations

from bluegreen.engine.eviction import JobWait, after_job_wait, may_evict_implicitly
from bluegreen.engine.pods import Pod
from bluegreen.engine.settings import RolloutSettings
from bluegreen.engine.workloads import (
    WorkloadRef,
    budget_words,
    generic_status,
    implicit_allowance,
    is_generic_owner,
)


def pod(name: str, ready: bool) -> Pod:
    return Pod("default", name, f"uid-{name}", "node-1", "Running", ready, "Rollout", "canary")


def test_a_job_pod_is_waited_for_then_the_unmanaged_pod_policy_applies():
    settings = RolloutSettings(job_completion_timeout_s=120)
    assert after_job_wait(119, settings) is JobWait.WAIT
    assert after_job_wait(120, settings) is JobWait.BLOCK
    assert after_job_wait(120, settings.with_overrides(unmanaged_pods="evict")) is JobWait.EVICT


def test_unknown_controller_kinds_get_the_generic_rule_one_ready_pod_at_a_time():
    assert is_generic_owner("Rollout") and is_generic_owner("RedisCluster")
    assert not any(is_generic_owner(k) for k in ("Deployment", "StatefulSet", "ReplicaSet", "Job", "Pod"))
    ref = WorkloadRef("Rollout", "default", "canary")
    status = generic_status(ref, 3, [pod("a", True), pod("b", True), pod("c", True)])
    assert (status.desired, status.ready) == (3, 3) and status.gap() is None
    assert implicit_allowance(status) == 1
    assert may_evict_implicitly(in_flight=0, desired=status.desired, ready=status.ready, allowance=1)
    # one pod on its way: the next waits until the replacement is Ready
    moving = generic_status(ref, 3, [pod("a", True), pod("b", True)])
    assert moving.gap() == "2/3 ready"
    assert not may_evict_implicitly(in_flight=1, desired=moving.desired, ready=moving.ready, allowance=1)


def test_plan_states_each_workloads_budget_truthfully():
    assert budget_words("Deployment", "default/web-pdb") == "PodDisruptionBudget default/web-pdb"
    assert budget_words("Job", None).startswith("waits for completion")
    assert "generic rule for Rollout" in budget_words("Rollout", None)
    assert budget_words("Deployment", None).startswith("implicit: one ready replica at a time")
