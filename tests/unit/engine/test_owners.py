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
    workload_status_from_json,
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


def test_no_ready_pod_is_evicted_while_its_deployment_rolls_out_a_new_template():
    ref = WorkloadRef("Deployment", "default", "web")
    spec = {"metadata": {"generation": 3}, "spec": {"replicas": 4},
            "status": {"observedGeneration": 3, "readyReplicas": 4, "availableReplicas": 4, "updatedReplicas": 4}}
    settled = workload_status_from_json(ref, spec)
    assert not settled.rolling
    assert may_evict_implicitly(in_flight=0, desired=4, ready=4, allowance=1, controller_rolling=settled.rolling)
    # the controller has a new template: it takes old pods down itself, from a status that lags
    rolling = workload_status_from_json(ref, {**spec, "status": {**spec["status"], "updatedReplicas": 1}})
    unobserved = workload_status_from_json(ref, {**spec, "metadata": {"generation": 4}})
    assert rolling.rolling and unobserved.rolling
    assert not may_evict_implicitly(in_flight=0, desired=4, ready=4, allowance=1, controller_rolling=True)
    # an unready pod still goes at once: it costs no availability
    assert may_evict_implicitly(in_flight=0, desired=4, ready=3, allowance=1, pod_ready=False,
                                controller_rolling=True)
    # a StatefulSet's updatedReplicas is not a rollout signal here (OnDelete keeps it below replicas for good)
    sts = workload_status_from_json(WorkloadRef("StatefulSet", "default", "db"),
                                    {**spec, "status": {**spec["status"], "updatedReplicas": 1}})
    assert not sts.rolling
