"""Pure decisions of surge moves (rollout.singleReplica) and opt-outs (rollout.doNotDisrupt)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bluegreen.engine.budgets import budget_from_json
from bluegreen.engine.nodes import node_from_json
from bluegreen.engine.opt_outs import DO_NOT_DISRUPT, SAFE_TO_EVICT, opt_out, still_held
from bluegreen.engine.pods import classify, pod_from_json
from bluegreen.engine.preflight import plan_drain
from bluegreen.engine.settings import ROLLOUT_CONFIG_KEYS, RolloutSettings
from bluegreen.engine.surge import (
    RESTARTED_AT,
    RestartShape,
    SingleReplicaAction,
    at_risk,
    budget_floor,
    decide,
    drain_groups,
    fenceposts,
    find_single_replicas,
    restart_patch,
    restart_shape,
    restart_stamp,
    rollout_status,
    surge_past_budget,
)
from bluegreen.engine.view import ClusterView
from bluegreen.engine.workloads import WorkloadRef, WorkloadStatus, workload_of
from tests.unit.engine.test_decisions import node_json, pod_json

SOLO = WorkloadRef("Deployment", "default", "solo")


def deployment(replicas=1, *, strategy=None, paused=False, generation=2, observed=2, updated=1, total=1,
               available=1, reason="NewReplicaSetAvailable") -> dict:
    spec: dict = {"replicas": replicas, "strategy": strategy or {"type": "RollingUpdate"}}
    if paused:
        spec["paused"] = True
    return {"metadata": {"name": "solo", "namespace": "default", "generation": generation}, "spec": spec,
            "status": {"observedGeneration": observed, "updatedReplicas": updated, "replicas": total,
                       "availableReplicas": available,
                       "conditions": [{"type": "Progressing", "status": "True", "reason": reason}]}}


# -- fenceposts and what a restart does --------------------------------------------------------------------------


@pytest.mark.parametrize(("surge", "unavailable", "desired", "expected"), [
    (None, None, 1, (1, 0)),  # defaults 25%/25%: surge rounds up, unavailable down
    (None, None, 4, (1, 1)),
    (0, 0, 3, (0, 1)),  # both zero: unavailable one
    ("0%", None, 1, (0, 1)),
    (2, "50%", 2, (2, 1)),
    (1, 5, 2, (1, 2)),  # MaxUnavailable never exceeds the replicas
])
def test_fenceposts_follow_resolve_fenceposts(surge, unavailable, desired, expected):
    assert fenceposts(surge, unavailable, desired) == expected


def test_a_default_single_replica_deployment_can_surge_keeping_one_ready():
    shape = restart_shape("Deployment", deployment(), 1)
    assert shape.can_surge and shape.keeps_ready == 1


@pytest.mark.parametrize(("kind", "obj", "words"), [
    ("Deployment", deployment(strategy={"type": "Recreate"}), "Recreate"),
    ("Deployment", deployment(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0}}), "maxSurge is 0"),
    ("Deployment", deployment(paused=True), "paused"),
    ("Deployment", deployment(2, strategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "100%"}}),
     "maxUnavailable 100%"),
    ("Deployment", None, "not found"),
    ("StatefulSet", {"spec": {"replicas": 1}}, "StatefulSet"),
    ("Pod", None, "bare pod"),
    ("PodSet", None, "PodSet"),
])
def test_what_cannot_surge_says_why(kind, obj, words):
    shape = restart_shape(kind, obj, int(((obj or {}).get("spec") or {}).get("replicas", 1)))
    assert not shape.can_surge and words in (shape.why_not or "")


# -- who is at risk of zero Ready pods ----------------------------------------------------------------------------


def test_budget_floor_from_pdbs_else_the_implicit_budget():
    min1 = budget_from_json({"metadata": {"name": "p"}, "spec": {"minAvailable": 1}})
    max1 = budget_from_json({"metadata": {"name": "q"}, "spec": {"maxUnavailable": 1}})
    assert budget_floor(1, [min1], None) == 1
    assert budget_floor(1, [max1], None) == 0
    assert budget_floor(2, [min1, max1], None) == 1  # the strictest
    assert budget_floor(1, [], None) == 0  # implicit: one at a time
    assert budget_floor(3, [], None) == 2
    status = WorkloadStatus(SOLO, 2, 2, 2, 2, True, max_unavailable="100%")
    assert budget_floor(2, [], status) == 0


def test_at_risk_only_when_every_ready_pod_goes_together_and_no_budget_keeps_one():
    assert at_risk(ready=1, ready_on_one_batch=1, floor=0)
    assert not at_risk(ready=1, ready_on_one_batch=1, floor=1)  # a PDB keeps it (and blocks it)
    assert not at_risk(ready=2, ready_on_one_batch=1, floor=0)  # one Ready elsewhere keeps it serving
    assert not at_risk(ready=0, ready_on_one_batch=0, floor=0)  # nothing Ready: nothing to lose


def test_decide_follows_the_policy_and_falls_back_to_evict_when_surge_cannot_help():
    can = RestartShape(1)
    cannot = RestartShape(0, "a StatefulSet replaces a pod only after the old one is gone: it cannot surge")
    assert decide(SOLO, ("default/solo-1",), 1, can, "surge").action is SingleReplicaAction.SURGE
    fallback = decide(SOLO, ("default/solo-1",), 1, cannot, "surge")
    assert fallback.action is SingleReplicaAction.EVICT and "cannot surge" in (fallback.warning() or "")
    assert decide(SOLO, ("default/solo-1",), 1, can, "evict").action is SingleReplicaAction.EVICT
    blocked = decide(SOLO, ("default/solo-1",), 1, can, "block")
    assert blocked.action is SingleReplicaAction.BLOCK
    assert "Deployment default/solo" in blocked.blocker() and "rollout.singleReplica" in blocked.blocker()


def test_drain_groups_are_the_drain_order_in_batches():
    nodes = [node_from_json(node_json(f"n{i}", f"i-{i}", created=f"2026-01-0{i}T00:00:00Z")) for i in (3, 1, 2)]
    assert drain_groups(nodes, 1) == [frozenset({"n1"}), frozenset({"n2"}), frozenset({"n3"})]
    assert drain_groups(nodes, 2) == [frozenset({"n1", "n2"}), frozenset({"n3"})]
    # paced: the canary alone, then every other old node at once (maxParallelNodes does not apply)
    assert drain_groups(nodes, 1, "paced") == [frozenset({"n1"}), frozenset({"n2", "n3"})]
    assert drain_groups(nodes[:1], 1, "paced") == [frozenset({"n3"})]  # one node: the canary only


class FakeKube:
    """GETs of controller objects only: what find_single_replicas reads beyond the pods it is given."""

    def __init__(self, objects: dict[tuple[str, str], dict]):
        self.objects = objects
        self.gets: list[str] = []

    def get_namespaced(self, group, resource, namespace, name):
        self.gets.append(f"{resource}/{name}")
        return self.objects.get((resource, name))


def _find(pods: list[dict], objects: dict, settings: RolloutSettings, *, budgets=(), groups=1):
    old = [node_from_json(node_json(f"n{i}", f"i-{i}", color="blue", created=f"2026-01-0{i}T00:00:00Z"))
           for i in (1, 2)]
    parsed = [pod_from_json(p) for p in pods]
    owners = {("default", "solo-abc"): ("Deployment", "solo"), ("default", "web-abc"): ("Deployment", "web")}

    def of(pod):
        return workload_of(pod, owners)

    kube = FakeKube(objects)
    found = find_single_replicas(kube, old, [p for p in parsed if p.node in ("n1", "n2")],
                                 lambda ref: [p for p in parsed if of(p) == ref], of, list(budgets),
                                 settings.with_overrides(max_parallel_nodes=groups))
    return found, kube


def test_a_single_replica_deployment_is_found_and_moves_by_surge():
    pods = [pod_json("solo-1", node="n1", owner=("ReplicaSet", "solo-abc"), labels={"app": "solo"}),
            pod_json("web-1", node="n1", owner=("ReplicaSet", "web-abc")),
            pod_json("web-2", node="n2", owner=("ReplicaSet", "web-abc"))]
    web = deployment(2)
    found, kube = _find(pods, {("deployments", "solo"): deployment(), ("deployments", "web"): web},
                        RolloutSettings())
    assert [(str(s.workload), s.action, s.keeps_ready) for s in found] == [
        ("Deployment default/solo", SingleReplicaAction.SURGE, 1)]
    assert kube.gets == ["deployments/solo"]  # web's Ready pods are on two nodes: not even read


def test_two_replicas_packed_with_a_loose_own_budget_are_at_risk_but_spread_ones_are_not():
    loose = deployment(2, strategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 2, "maxSurge": 1}})
    packed = [pod_json(f"web-{i}", node="n1", owner=("ReplicaSet", "web-abc")) for i in (1, 2)]
    found, _ = _find(packed, {("deployments", "web"): loose}, RolloutSettings())
    # the implicit budget takes its own maxUnavailable (2): eviction could take both; a restart could too
    assert [(s.action, s.why_not is not None) for s in found] == [(SingleReplicaAction.EVICT, True)]
    spread = [pod_json("web-1", node="n1", owner=("ReplicaSet", "web-abc")),
              pod_json("web-2", node="n2", owner=("ReplicaSet", "web-abc"))]
    assert _find(spread, {("deployments", "web"): loose}, RolloutSettings())[0] == []
    # drained together (maxParallelNodes 2), two nodes are one group again
    assert len(_find(spread, {("deployments", "web"): loose}, RolloutSettings(), groups=2)[0]) == 1


def test_a_pdb_that_never_allows_an_eviction_is_moved_past_by_surge_keeping_its_floor():
    pdb = budget_from_json({"metadata": {"name": "solo", "namespace": "default"},
                            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "solo"}}}})
    pods = [pod_json("solo-1", node="n1", owner=("ReplicaSet", "solo-abc"), labels={"app": "solo"})]
    opted_in = RolloutSettings(budget_allows_none="surge")
    found, _ = _find(pods, {("deployments", "solo"): deployment()}, opted_in, budgets=[pdb])
    assert [(s.action, s.keeps_ready, s.held_by) for s in found] == [(SingleReplicaAction.SURGE, 1, "default/solo")]
    assert "PodDisruptionBudget default/solo allows it no eviction" in found[0].describe()
    # by default (block) the budget is honoured as a preflight blocker (not found here), whatever singleReplica says
    for policy in ("surge", "evict", "block"):
        assert _find(pods, {("deployments", "solo"): deployment()}, RolloutSettings(single_replica=policy),
                     budgets=[pdb])[0] == []
    # a restart that would stop the old pod first (maxSurge 0) would break the budget's floor: not offered
    no_surge = deployment(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}})
    assert _find(pods, {("deployments", "solo"): no_surge}, opted_in, budgets=[pdb])[0] == []
    # a PDB that allows one eviction keeps nothing from the drain: not at risk, not held
    loose = budget_from_json({"metadata": {"name": "solo", "namespace": "default"},
                              "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "solo"}}}})
    two = [pod_json(f"solo-{i}", node=f"n{i}", owner=("ReplicaSet", "solo-abc"), labels={"app": "solo"})
           for i in (1, 2)]
    assert _find(two, {("deployments", "solo"): deployment(2)}, RolloutSettings(), budgets=[loose])[0] == []


def test_the_plan_drops_a_never_allowing_budget_whose_pods_move_by_surge():
    old = node_from_json(node_json("n1", "i-1", color="blue"))
    new = node_from_json(node_json("g1", "i-9", color="green"))
    solo = pod_from_json(pod_json("solo-1", node="n1", owner=("ReplicaSet", "solo-abc"), labels={"app": "solo"}))
    pdb = budget_from_json({"metadata": {"name": "solo", "namespace": "default"},
                            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "solo"}}}})
    view = ClusterView((old,), (new,), (solo,), (pdb,), {("default", "solo-abc"): ("Deployment", "solo")})
    blocked = plan_drain(view, RolloutSettings(), new_desired=1)
    assert not blocked.ok and "allows no disruption" in blocked.blockers[0]
    past = surge_past_budget(SOLO, ("default/solo-1",), 1, 1, RestartShape(1), "surge", "default/solo")
    report = plan_drain(view, RolloutSettings(), new_desired=1, singles=[past])
    assert report.ok and report.surge == ("Deployment default/solo",), report.blockers


def test_an_unready_pod_costs_nothing():
    unready = [pod_json("solo-1", node="n1", owner=("ReplicaSet", "solo-abc"), ready=False)]
    assert _find(unready, {("deployments", "solo"): deployment()}, RolloutSettings())[0] == []


def test_statefulset_and_bare_pod_cannot_surge_and_block_names_them():
    pods = [pod_json("db-0", node="n1", owner=("StatefulSet", "db")),
            pod_json("lone", node="n2", owner=None)]
    objects = {("statefulsets", "db"): {"spec": {"replicas": 1}, "status": {"readyReplicas": 1}}}
    evict_all = RolloutSettings(unmanaged_pods="evict")
    found, _ = _find(pods, objects, evict_all)
    assert {str(s.workload): s.action for s in found} == {
        "StatefulSet default/db": SingleReplicaAction.EVICT, "Pod default/lone": SingleReplicaAction.EVICT}
    blocked, _ = _find(pods, objects, evict_all.with_overrides(single_replica="block"))
    assert all(s.action is SingleReplicaAction.BLOCK for s in blocked) and len(blocked) == 2


def test_the_plan_lists_surge_moves_and_block_is_a_preflight_blocker():
    old = node_from_json(node_json("n1", "i-1", color="blue"))
    new = node_from_json(node_json("g1", "i-9", color="green"))
    solo = pod_from_json(pod_json("solo-1", node="n1", owner=("ReplicaSet", "solo-abc")))
    view = ClusterView((old,), (new,), (solo,), (), {("default", "solo-abc"): ("Deployment", "solo")})
    surge = decide(SOLO, ("default/solo-1",), 1, RestartShape(1), "surge")
    report = plan_drain(view, RolloutSettings(), new_desired=1, singles=[surge])
    assert report.ok and report.surge == ("Deployment default/solo",)
    assert "moves by surge" in report.moves[0].budget and report.to_dict()["surge"] == ["Deployment default/solo"]
    blocked = plan_drain(view, RolloutSettings(), new_desired=1,
                         singles=[decide(SOLO, ("default/solo-1",), 1, RestartShape(1), "block")])
    assert not blocked.ok and "Deployment default/solo" in blocked.blockers[0]


# -- the rollout itself -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("obj", "done", "words"), [
    (deployment(generation=3, observed=2), False, "spec update to be observed"),
    (deployment(updated=0, total=1, available=1), False, "0 out of 1 new replicas"),
    (deployment(updated=1, total=2, available=1), False, "1 old replicas are pending termination"),
    (deployment(updated=1, total=1, available=0), False, "0 of 1 updated replicas are available"),
    (deployment(reason="ProgressDeadlineExceeded"), False, "exceeded its progress deadline"),
    (deployment(), True, "successfully rolled out"),
])
def test_rollout_status_judges_as_kubectl_rollout_status(obj, done, words):
    complete, detail = rollout_status(obj)
    assert complete is done and words in detail


def test_restart_stamp_is_rfc3339_and_always_changes_the_template():
    now = datetime(2026, 12, 1, 13, 0, 5, 123456, tzinfo=UTC)
    assert restart_stamp(now, None) == "2026-12-01T13:00:05Z"
    assert restart_stamp(now, "2026-12-01T13:00:05Z") == "2026-12-01T13:00:06Z"
    assert restart_stamp(now, "2026-12-01T14:00:05+01:00") == "2026-12-01T13:00:06Z"
    assert restart_stamp(now, "not a time") == "2026-12-01T13:00:05Z"
    assert restart_patch("x") == {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: "x"}}}}}


# -- opt-outs -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("annotations", "expected"), [
    ({DO_NOT_DISRUPT: "true"}, f'{DO_NOT_DISRUPT}="true"'),
    ({DO_NOT_DISRUPT: "True"}, None),  # an exact match, as Karpenter compares it
    ({SAFE_TO_EVICT: "false"}, f'{SAFE_TO_EVICT}="false"'),
    ({SAFE_TO_EVICT: "true"}, None),
    ({}, None),
    (None, None),
])
def test_opt_out_annotations_match_exactly(annotations, expected):
    assert opt_out(annotations) == expected


def _opted(name="batch-1", **kwargs) -> dict:
    obj = pod_json(name, **kwargs)
    obj["metadata"].setdefault("annotations", {})[DO_NOT_DISRUPT] = "true"
    return obj


def test_opted_out_pods_block_by_default_and_wait_or_ignore_warn():
    pod = pod_from_json(_opted())
    verdict = classify(pod, RolloutSettings())
    assert verdict.action == "block" and "default/batch-1" in verdict.reason and DO_NOT_DISRUPT in verdict.reason
    waits = classify(pod, RolloutSettings(do_not_disrupt="wait", do_not_disrupt_timeout_s=120))
    assert waits.action == "evict" and "120s" in (waits.warning or "")
    ignored = classify(pod, RolloutSettings(do_not_disrupt="ignore"))
    assert ignored.action == "evict" and "ignore" in (ignored.warning or "")


def test_only_pods_the_drain_would_move_hold_their_node():
    held = still_held([pod_from_json(_opted("a")), pod_from_json(_opted("b", phase="Succeeded")),
                       pod_from_json(_opted("c", terminating=True)),
                       pod_from_json(_opted("d", owner=("DaemonSet", "agent"))),
                       pod_from_json(pod_json("e"))])
    assert [p.name for p in held] == ["a"]


def test_the_new_settings_have_stack_keys():
    assert ROLLOUT_CONFIG_KEYS["singleReplica"] == ("single_replica", ("surge", "evict", "block"))
    assert ROLLOUT_CONFIG_KEYS["doNotDisrupt"] == ("do_not_disrupt", ("block", "wait", "ignore"))
    assert ROLLOUT_CONFIG_KEYS["doNotDisruptTimeoutSeconds"] == ("do_not_disrupt_timeout_s", "seconds")
    defaults = RolloutSettings()
    assert (defaults.single_replica, defaults.do_not_disrupt) == ("surge", "block")
