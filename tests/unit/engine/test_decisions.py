"""Pure engine decisions, over plain data."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlparse

import boto3
import pytest

from bluegreen.engine.budgets import Budget, allowed_when_all_healthy, budget_from_json, never_allows
from bluegreen.engine.drain import may_evict_implicitly, next_batch, workload_gap
from bluegreen.engine.groups import Instance
from bluegreen.engine.kube import pdb_name
from bluegreen.engine.load_balancers import LoadBalancerSpec, TargetHealth, attachment_gaps, health_gaps
from bluegreen.engine.nodes import node_from_json
from bluegreen.engine.pods import classify, pod_from_json
from bluegreen.engine.quantities import bytes_of, millicores
from bluegreen.engine.readiness import judge_readiness
from bluegreen.engine.retries import backoff_delay, is_retryable
from bluegreen.engine.selectors import matches
from bluegreen.engine.settings import RolloutSettings
from bluegreen.engine.tokens import mint_token
from bluegreen.engine.workloads import WorkloadRef, WorkloadStatus, implicit_allowance, workload_of


def node_json(name, instance, *, ready=True, reason="KubeletReady", taints=(), created="2026-01-01T00:00:00Z",
              color="green", unschedulable=False, annotations=None):
    return {
        "metadata": {"name": name, "labels": {"bluegreen.io/color": color}, "creationTimestamp": created,
                     "annotations": annotations or {}},
        "spec": {"providerID": f"aws:///eu-west-1a/{instance}", "taints": [{"key": t} for t in taints],
                 "unschedulable": unschedulable},
        "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False", "reason": reason}],
                   "allocatable": {"cpu": "2", "memory": "4Gi", "pods": "20"}},
    }


def pod_json(name, *, node="n1", owner=("ReplicaSet", "web-abc"), ready=True, phase="Running", labels=None,
             cpu="100m", memory="64Mi", empty_dir=False, terminating=False, mirror=False, ns="default"):
    meta = {"name": name, "namespace": ns, "uid": f"uid-{name}", "labels": labels or {"app": "web"}}
    if owner:
        meta["ownerReferences"] = [{"kind": owner[0], "name": owner[1], "controller": True}]
    if terminating:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    if mirror:
        meta["annotations"] = {"kubernetes.io/config.mirror": "x"}
    return {
        "metadata": meta,
        "spec": {"nodeName": node, "containers": [{"resources": {"requests": {"cpu": cpu, "memory": memory}}}],
                 "volumes": [{"name": "scratch", "emptyDir": {}}] if empty_dir else []},
        "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def test_quantities():
    assert millicores("250m") == 250 and millicores("2") == 2000 and millicores("1.5") == 1500
    assert bytes_of("128Mi") == 128 * 2**20 and bytes_of("1G") == 10**9 and bytes_of(None) == 0


def test_label_selectors():
    labels = {"app": "web", "tier": "front"}
    assert matches({"matchLabels": {"app": "web"}}, labels)
    assert not matches({"matchLabels": {"app": "db"}}, labels)
    assert matches({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["front", "x"]}]}, labels)
    assert not matches({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["front"]}]}, labels)
    assert not matches({"matchExpressions": [{"key": "zone", "operator": "Exists"}]}, labels)
    assert matches({}, labels)


def test_pod_filters_give_reasons():
    settings = RolloutSettings()
    verdict = lambda **kw: classify(pod_from_json(pod_json("p", **kw)), settings)  # noqa: E731
    assert verdict().action == "evict"
    assert verdict(owner=("DaemonSet", "ds")).action == "stay"
    assert verdict(mirror=True).action == "stay"
    assert verdict(phase="Succeeded").action == "stay"
    bare = verdict(owner=None)
    assert bare.action == "block" and "default/p has no controller" in bare.reason
    assert classify(pod_from_json(pod_json("p", owner=None)), settings.with_overrides(unmanaged_pods="evict")).warning
    assert verdict(empty_dir=True).action == "evict"
    blocked = classify(pod_from_json(pod_json("p", empty_dir=True)), settings.with_overrides(empty_dir="block"))
    assert blocked.action == "block" and "emptyDir" in blocked.reason


def test_workload_resolution_through_replicaset():
    pod = pod_from_json(pod_json("web-abc-1"))
    owners = {("default", "web-abc"): ("Deployment", "web")}
    assert workload_of(pod, owners) == WorkloadRef("Deployment", "default", "web")
    assert workload_of(pod, {}) == WorkloadRef("ReplicaSet", "default", "web-abc")
    assert workload_of(pod_from_json(pod_json("lonely", owner=None)), {}).kind == "Pod"


def test_budget_arithmetic_and_blockers():
    b = lambda **kw: Budget("default", "pdb", {}, **kw)  # noqa: E731
    assert allowed_when_all_healthy(b(min_available=2), 3) == 1
    assert allowed_when_all_healthy(b(min_available="50%"), 3) == 1  # ceil(1.5) = 2 healthy needed
    assert allowed_when_all_healthy(b(max_unavailable="25%"), 3) == 1  # rounded up
    assert never_allows(b(max_unavailable=0), 3) and "maxUnavailable 0" in never_allows(b(max_unavailable=0), 3)
    assert never_allows(b(min_available="100%"), 2)
    assert never_allows(b(min_available=3), 3)
    assert never_allows(b(min_available=1), 2) is None
    parsed = budget_from_json({"metadata": {"name": "x", "namespace": "ns"}, "spec": {"minAvailable": 1},
                               "status": {"disruptionsAllowed": 1}})
    assert parsed.key == "ns/x" and parsed.min_available == 1 and parsed.disruptions_allowed == 1


def test_readiness_names_every_gap():
    instances = [
        Instance("i-1", "InService", "Healthy", "eu-west-1a", "ami-new"),
        Instance("i-2", "InService", "Healthy", "eu-west-1a", "ami-old"),
        Instance("i-3", "Pending", "Healthy", "eu-west-1a", "ami-new"),
        Instance("i-4", "InService", "Healthy", "eu-west-1a", "ami-new"),
        Instance("i-5", "Terminating", "Healthy", "eu-west-1a", "ami-new"),
        Instance("i-6", "InService", "Unhealthy", "eu-west-1a", "ami-new"),
    ]
    nodes = [node_from_json(node_json("n1", "i-1")), node_from_json(node_json("n2", "i-2")),
             node_from_json(node_json("n4", "i-4", ready=False, reason="KubeletNotReady",
                                      taints=["node.kubernetes.io/not-ready"]))]
    verdict = judge_readiness(instances, nodes, [], expected_ami="ami-new", desired=6)
    assert verdict.ready == (("i-1", "n1"),)
    text = "\n".join(verdict.gaps)
    assert "i-2: runs ami-old, expected ami-new" in text
    assert "i-3: not InService (Pending); not joined" in text
    assert "i-4: node n4 NotReady (KubeletNotReady); node n4 tainted node.kubernetes.io/not-ready" in text
    assert "i-6: marked Unhealthy by its Auto Scaling group; not joined" in text
    assert "1 of 6 instance(s) not launched yet" in text
    assert "i-5" not in text
    ok = judge_readiness(instances[:1], nodes[:1], [], expected_ami="ami-new", desired=1)
    assert ok.passed


def test_readiness_waits_for_daemonset_pods():
    inst = [Instance("i-1", "InService", "Healthy", "a", "ami-new")]
    nodes = [node_from_json(node_json("n1", "i-1"))]
    ds = pod_from_json(pod_json("agent-x", node="n1", owner=("DaemonSet", "agent"), ready=False))
    verdict = judge_readiness(inst, nodes, [ds], expected_ami="ami-new", desired=1)
    assert not verdict.passed and "DaemonSet pod(s) not Ready: default/agent-x" in verdict.gaps[0]


def test_load_balancer_gaps():
    arn = "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/web/abc"
    want = LoadBalancerSpec((arn,), ("classic",))
    assert attachment_gaps("g", LoadBalancerSpec(), want) == [
        "group g not attached to target group web", "group g not attached to classic ELB classic"]
    health = [TargetHealth(arn, "i-1", "healthy"), TargetHealth("classic", "i-1", "InService"),
              TargetHealth(arn, "i-2", "initial", "Elb.RegistrationInProgress")]
    gaps = health_gaps(["i-1", "i-2"], want, health)
    assert gaps == ["instance i-2: initial (Elb.RegistrationInProgress) in target group web",
                    "instance i-2: not registered in classic ELB classic"]


def test_implicit_budget_and_workload_gate():
    assert may_evict_implicitly(in_flight=0, desired=2, ready=2, allowance=1)
    assert not may_evict_implicitly(in_flight=1, desired=2, ready=2, allowance=1)
    assert not may_evict_implicitly(in_flight=0, desired=2, ready=1, allowance=1)
    assert may_evict_implicitly(in_flight=1, desired=4, ready=3, allowance=2)
    ref = WorkloadRef("Deployment", "default", "web")
    status = WorkloadStatus(ref, desired=3, ready=3, available=3, updated=3, generation_observed=True)
    assert workload_gap(status, 3) is None
    assert workload_gap(status, 2) == "2/3 pods Ready"
    lagging = WorkloadStatus(ref, desired=3, ready=3, available=2, updated=3, generation_observed=True)
    assert workload_gap(lagging, 3) == "2/3 available, 3/3 updated"
    assert implicit_allowance(status) == 1
    assert implicit_allowance(WorkloadStatus(ref, 8, 8, 8, 8, True, max_unavailable="25%")) == 2


def test_next_batch_oldest_first():
    nodes = [node_from_json(node_json(n, i, created=c)) for n, i, c in
             [("b", "i-2", "2026-01-02T00:00:00Z"), ("a", "i-1", "2026-01-03T00:00:00Z"),
              ("c", "i-3", "2026-01-01T00:00:00Z")]]
    assert [n.name for n in next_batch(nodes, set(), 1)] == ["c"]
    assert [n.name for n in next_batch(nodes, {"c"}, 2)] == ["b", "a"]
    assert next_batch(nodes, {"a", "b", "c"}, 1) == []


def test_retry_policy():
    assert all(is_retryable(s) for s in (0, 429, 500, 503)) and not is_retryable(404) and not is_retryable(422)
    delays = [backoff_delay(a) for a in range(1, 10)]
    assert all(0 < d <= 2.0 for d in delays) and delays[-1] >= 1.0


def test_pdb_name_from_cause():
    assert pdb_name("The disruption budget web-pdb needs 2 healthy pods and has 2 currently") == "web-pdb"
    assert pdb_name(None) is None


def test_token_is_a_presigned_get_caller_identity_bound_to_the_cluster():
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name="eu-west-1")
    token = mint_token(session, "prod", "eu-west-1")
    assert token.startswith("k8s-aws-v1.") and "=" not in token
    payload = token[len("k8s-aws-v1."):]
    url = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    parsed = urlparse(url)
    query = parse_qs(parsed.query)
    assert parsed.netloc == "sts.eu-west-1.amazonaws.com"
    assert query["Action"] == ["GetCallerIdentity"] and query["X-Amz-Expires"] == ["60"]
    assert "x-k8s-aws-id" in query["X-Amz-SignedHeaders"][0].split(";")
    assert query["X-Amz-Credential"][0].startswith("testing/")


@pytest.mark.parametrize("status,expected", [(429, True), (404, False)])
def test_retryable_statuses(status, expected):
    assert is_retryable(status) is expected


def test_an_unready_pod_costs_no_availability_under_the_implicit_budget():
    # every replica down, one in flight: a Ready pod must wait, an unready one goes at once
    assert not may_evict_implicitly(in_flight=1, desired=2, ready=0, allowance=1)
    assert may_evict_implicitly(in_flight=1, desired=2, ready=0, allowance=1, pod_ready=False)
