"""Scenario files: the builtin ones load, and every invalid field is refused with a message naming it."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from bluegreen.engine.settings import RolloutSettings
from bluegreen.sandbox.scenario import (
    ApiErrors,
    Budget,
    Crash,
    NodeNeverReady,
    Run,
    ScenarioError,
    TargetUnhealthy,
    builtin_scenarios,
    load_scenario,
    parse_scenario,
)

VALID: dict[str, Any] = {
    "name": "t",
    "nodes_per_color": 2,
    "node": {"cpu": "2", "memory": "8Gi", "pods": 30},
    "join_seconds": 10,
    "ami": {"from": "ami-0aaaaaaaaaaaaaaaa", "to": "ami-12345678"},
    "load_balancers": {"target_groups": 1, "classic_elbs": 1, "healthy_after_seconds": 5},
    "placement": "packed",
    "workloads": [
        {
            "kind": "Deployment",
            "name": "web",
            "replicas": 3,
            "cpu": "250m",
            "memory": "256Mi",
            "pdb": {"minAvailable": 2},
        },
        {"kind": "DaemonSet", "name": "agent", "namespace": "kube-system"},
        {"kind": "Pod", "name": "shell", "empty_dir": True},
    ],
    "faults": [{"kind": "node_never_ready", "count": 1}],
    "rollout": {"maxParallelNodes": 2, "emptyDir": "block"},
}

EXPECTED_BUILTINS = {
    "small",
    "pdb-heavy",
    "six-nodes",
    "node-never-ready",
    "target-unhealthy",
    "api-errors",
    "pdb-blocks",
    "bare-pod",
    "two-replicas-packed",
    "crash-after-first-node",
    "crash-after-scale-up",
    "crash-after-gates",
    "crash-after-cordon",
    "crash-mid-node",
}


def with_change(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """VALID with the field at ``path`` set to ``value`` (or removed when value is ...)."""
    document = copy.deepcopy(VALID)
    target: Any = document
    for key in path[:-1]:
        target = target[key]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return document


def test_a_valid_document_becomes_a_typed_scenario() -> None:
    scenario = parse_scenario(VALID, source="t.yaml")
    assert scenario.nodes_per_color == 2
    assert scenario.node.cpu == "2" and scenario.node.memory == "8Gi" and scenario.node.pods == 30
    assert scenario.ami.from_ == "ami-0aaaaaaaaaaaaaaaa" and scenario.ami.to == "ami-12345678"
    assert scenario.load_balancers.classic_elbs == 1
    assert scenario.placement == "packed"
    web, agent, shell = scenario.workloads
    assert web.pdb == Budget(min_available=2) and web.pdb.as_spec() == {"minAvailable": 2}
    assert agent.namespace == "kube-system" and agent.kind == "DaemonSet"
    assert shell.empty_dir is True and shell.namespace == "default"
    assert scenario.faults == (NodeNeverReady(count=1, color="new"),)
    assert scenario.crash_at is None


def test_rollout_overrides_apply_over_a_base_with_sandbox_polling() -> None:
    scenario = parse_scenario(VALID)
    settings = scenario.rollout_settings()
    assert settings.max_parallel_nodes == 2 and settings.empty_dir == "block"
    assert settings.poll_interval_s == 1.0
    base = RolloutSettings(eviction_timeout_s=42.0, poll_interval_s=0.5)
    settings = scenario.rollout_settings(base)
    assert settings.eviction_timeout_s == 42.0 and settings.poll_interval_s == 0.5
    explicit = parse_scenario(with_change(("rollout", "pollIntervalSeconds"), 3))
    assert explicit.rollout_settings().poll_interval_s == 3.0


def test_every_builtin_scenario_loads() -> None:
    assert EXPECTED_BUILTINS <= set(builtin_scenarios())
    for name in builtin_scenarios():
        scenario = load_scenario(name)
        assert scenario.name == name
        assert scenario.source == f"builtin:{name}"
        assert scenario.workloads
        scenario.rollout_settings()  # overrides are valid RolloutSettings fields


def test_builtins_carry_the_faults_their_names_promise() -> None:
    assert load_scenario().name == "small"
    assert load_scenario("node-never-ready").faults_of(NodeNeverReady)
    assert load_scenario("target-unhealthy").faults_of(TargetUnhealthy)
    assert load_scenario("api-errors").faults_of(ApiErrors)
    for point in ("after_scale_up", "after_gates", "after_cordon", "mid_node", "after_first_node"):
        assert load_scenario(f"crash-{point.replace('_', '-')}").crash_at == point
    six = load_scenario("six-nodes")
    assert six.nodes_per_color == 6
    assert sum(1 for w in six.workloads if w.pdb is not None) == 3
    assert {w.kind for w in six.workloads} >= {"DaemonSet", "Pod"}
    blocks = load_scenario("pdb-blocks")
    assert any(w.pdb == Budget(min_available=w.replicas) for w in blocks.workloads)
    packed = load_scenario("two-replicas-packed")
    assert packed.placement == "packed"
    assert [(w.replicas, w.pdb) for w in packed.workloads] == [(2, None)]


def test_a_scenario_file_by_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    document = with_change(("name",), ...)
    path.write_text(yaml.safe_dump(document))
    scenario = load_scenario(path)
    assert scenario.name == "mine" and scenario.source == str(path)


def test_unknown_scenario_names_the_builtins() -> None:
    with pytest.raises(ScenarioError, match="no-such: no such scenario file.*builtin: .*small"):
        load_scenario("no-such")


def test_invalid_yaml_is_reported_with_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("nodes_per_color: [1,\n")
    with pytest.raises(ScenarioError, match="broken.yaml: is not valid YAML"):
        load_scenario(path)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("nodes_per_color",), ..., r"nodes_per_color: is required"),
        (("nodes_per_color",), 0, r"nodes_per_color: 0 is out of range; allowed: an integer between 1 and 500"),
        (("nodes_per_color",), "3", r"nodes_per_color: '3' is not an integer"),
        (("node", "cpu"), "four", r"node.cpu: 'four' is not a Kubernetes quantity"),
        (("node", "memory"), "-1Gi", r"node.memory: '-1Gi' is not a Kubernetes quantity"),
        (("node", "pods"), 0, r"node.pods: 0 is out of range"),
        (("node", "gpus"), 1, r"node.gpus: unknown field 'gpus'; allowed here: cpu, memory, pods, instance_type"),
        (("node", "instance_type"), "big", r"node.instance_type: 'big' is not an EC2 instance type"),
        (("join_seconds",), -1, r"join_seconds: -1 is out of range; allowed: a number >= 0"),
        (("ami", "from"), "ami-12", r"ami.from: 'ami-12' is not an AMI id \(ami- followed by 8 or 17 hex digits\)"),
        (("ami", "to"), "ami-0aaaaaaaaaaaaaaaa", r"ami.to: 'ami-0aaaaaaaaaaaaaaaa' is the same as ami.from"),
        (("ami", "to"), ..., r"ami.to: is required"),
        (("load_balancers", "target_groups"), -1, r"load_balancers.target_groups: -1 is out of range"),
        (("load_balancers", "healthy_after_seconds"), "soon", r"load_balancers.healthy_after_seconds: 'soon' is not"),
        (("load_balancers", "albs"), 1, r"load_balancers.albs: unknown field"),
        (("placement",), "random", r"placement: 'random' is not allowed; allowed: packed, spread"),
        (("speed",), 0, r"speed: 0 is out of range; allowed: a number > 0"),
        (("workloads",), {"web": 1}, r"workloads: \{'web': 1\} is not a list of workloads"),
        (("workloads", 0, "kind"), "CronJob", r"workloads\[0\].kind: 'CronJob' is not allowed; allowed: Deployment, "),
        (("workloads", 0, "name"), "Web_1", r"workloads\[0\].name: 'Web_1' is not a valid name"),
        (("workloads", 1, "namespace"), "Kube", r"workloads\[1\].namespace: 'Kube' is not a valid name"),
        (("workloads", 0, "replicas"), -2, r"workloads\[0\].replicas: -2 is out of range"),
        (("workloads", 1, "replicas"), 2, r"workloads\[1\].replicas: DaemonSet has no replicas"),
        (("workloads", 2, "replicas"), 1, r"workloads\[2\].replicas: Pod has no replicas"),
        (("workloads", 0, "cpu"), "lots", r"workloads\[0\].cpu: 'lots' is not a Kubernetes quantity"),
        (("workloads", 0, "ready_seconds"), -5, r"workloads\[0\].ready_seconds: -5 is out of range"),
        (("workloads", 0, "grace_seconds"), True, r"workloads\[0\].grace_seconds: True is not a number"),
        (("workloads", 2, "empty_dir"), "yes", r"workloads\[2\].empty_dir: 'yes' is not a boolean"),
        (("workloads", 0, "pdb"), {}, r"workloads\[0\].pdb: \{\} must set exactly one of minAvailable or"),
        (
            ("workloads", 0, "pdb"),
            {"minAvailable": 1, "maxUnavailable": 1},
            r"workloads\[0\].pdb: .* must set exactly one of minAvailable or maxUnavailable",
        ),
        (
            ("workloads", 0, "pdb", "minAvailable"),
            "150%",
            r"workloads\[0\].pdb.minAvailable: '150%' is not allowed; allowed: an integer >= 0 or a percentage",
        ),
        (("workloads", 0, "pdb", "minAvailable"), -1, r"workloads\[0\].pdb.minAvailable: -1 is not allowed"),
        (("workloads", 0, "pdb"), {"minavailable": 1}, r"workloads\[0\].pdb.minavailable: unknown field"),
        (("workloads", 1, "pdb"), {"maxUnavailable": 1}, r"workloads\[1\].pdb: a drain leaves DaemonSet pods alone"),
        (("workloads", 0, "tolerations"), "all", r"workloads\[0\].tolerations: 'all' is not a list"),
        (("workloads", 0, "image"), "nginx", r"workloads\[0\].image: unknown field 'image'"),
        (("workloads", 2, "name"), "web", r"workloads\[2\].name: 'web' is already used in namespace 'default'"),
        (("faults", 0, "kind"), "meteor", r"faults\[0\].kind: 'meteor' is not allowed; allowed: node_never_ready, "),
        (("faults", 0, "count"), 3, r"faults\[0\].count: 3 is out of range; allowed: an integer between 1 and 2"),
        (("faults", 0, "color"), "blue", r"faults\[0\].color: 'blue' is not allowed; allowed: new, old"),
        (("faults", 0, "rate"), 0.5, r"faults\[0\].rate: unknown field 'rate'; allowed here: kind, count, color"),
        (("faults", 0), {"kind": "api_errors"}, r"faults\[0\].rate: is required"),
        (("faults", 0), {"kind": "api_errors", "rate": 1.5}, r"faults\[0\].rate: 1.5 is out of range"),
        (("faults", 0), {"kind": "api_errors", "rate": 0.1, "status": 200}, r"faults\[0\].status: 200 is out of"),
        (("faults", 0), {"kind": "crash", "at": "lunch"}, r"faults\[0\].at: 'lunch' is not allowed; allowed: after_"),
        (("faults", 0), "crash", r"faults\[0\]: 'crash' is not a mapping with a kind"),
        (("rollout", "max_parallel_nodes"), 2,
         r"rollout.max_parallel_nodes: unknown field .*allowed here: .*maxParallelNodes"),
        (("rollout", "maxParallelNodes"), 0, r"rollout.maxParallelNodes: 0 is out of range"),
        (("rollout", "evictionTimeoutSeconds"), "1m", r"rollout.evictionTimeoutSeconds: '1m' is not a number"),
        (("rollout", "onPdbTimeout"), "ignore", r"rollout.onPdbTimeout: 'ignore' is not allowed; allowed: stop"),
        (("rollout", "pollIntervalSeconds"), 0, r"rollout.pollIntervalSeconds: 0 is out of range; allowed: .* > 0"),
        (("rollout", "evictionTimeoutSeconds"), float("inf"),
         r"rollout.evictionTimeoutSeconds: inf is not allowed; allowed: a finite number > 0"),
        (("rollout", "canaryPauseSeconds"), float("nan"), r"rollout.canaryPauseSeconds: nan is not allowed"),
        (("rollout", "canaryPauseSeconds"), -1, r"rollout.canaryPauseSeconds: -1 is out of range"),
        (("rollout", "nodeReadyTimeoutSeconds"), None, r"rollout.nodeReadyTimeoutSeconds: is empty"),
        (("speed",), float("inf"), r"speed: inf is not allowed; allowed: a finite number > 0"),
        (("join_seconds",), float("nan"), r"join_seconds: nan is not allowed"),
        (("workloads", 0, "ready_seconds"), float("inf"), r"workloads\[0\].ready_seconds: inf is not allowed"),
        (("workloads", 0, "tolerations"), [{"operator": "Maybe"}],
         r"workloads\[0\].tolerations\[0\].operator: 'Maybe' is not allowed; allowed: Exists, Equal"),
        (("workloads", 0, "tolerations"), [{"key": "k", "effect": "NoRun"}],
         r"workloads\[0\].tolerations\[0\].effect: 'NoRun' is not allowed; allowed: NoSchedule, PreferNoSchedule"),
        (("workloads", 0, "tolerations"), [{"key": "k", "operator": "Exists", "value": "v"}],
         r"workloads\[0\].tolerations\[0\].value: 'v' is not allowed with operator Exists"),
        (("workloads", 0, "tolerations"), [{"operator": "Equal", "value": "v"}],
         r"workloads\[0\].tolerations\[0\].operator: 'Equal' is not allowed with an empty key"),
        (("workloads", 0, "tolerations"), [{"key": "k", "effect": "NoSchedule", "tolerationSeconds": 5}],
         r"workloads\[0\].tolerations\[0\].tolerationSeconds: is only allowed with effect NoExecute"),
        (("workloads", 0, "tolerations"), [{"key": "k", "colour": "x"}],
         r"workloads\[0\].tolerations\[0\].colour: unknown field"),
        (("workloads", 0, "annotations"), ["a"], r"workloads\[0\].annotations: \['a'\] is not a mapping"),
        (("workloads", 0, "annotations"), {"karpenter.sh/do-not-disrupt": True},
         r"workloads\[0\].annotations.karpenter.sh/do-not-disrupt: True is not a string; annotation values are "),
        (("workloads", 0, "annotations"), {"-bad": "x"}, r"workloads\[0\].annotations.-bad: '-bad' is not an "
         r"annotation name"),
        (("workloads", 0, "annotations"), {"Bad_Prefix/x": "y"},
         r"workloads\[0\].annotations.Bad_Prefix/x: .* is not an annotation"),
        (("workloads", 0, "annotations"), {"sandbox.bluegreen.io/ready-seconds": "1"},
         r"workloads\[0\].annotations.sandbox.bluegreen.io/ready-seconds: reserved; the sandbox sets"),
        (("rollout", "singleReplica"), "maybe", r"rollout.singleReplica: 'maybe' is not allowed; allowed: surge, "
         r"evict, block"),
        (("rollout", "doNotDisrupt"), "never", r"rollout.doNotDisrupt: 'never' is not allowed; allowed: block, wait"),
        (("rollout", "doNotDisruptTimeoutSeconds"), 0, r"rollout.doNotDisruptTimeoutSeconds: 0 is out of range"),
        (("runs",), "twice", r"runs: 'twice' is not a list of runs"),
        (("runs",), [], r"runs: \[\] is empty; give at least one run"),
        (("runs",), [{"to": "back"}], r"runs\[0\].to: 'back' is not allowed; allowed: to, from"),
        (("runs",), [{"to": "to"}, {"crash": "mid_node"}], r"runs\[1\].to: is required"),
        (("runs",), [{"to": "to", "crash": "lunch"}], r"runs\[0\].crash: 'lunch' is not allowed; allowed: after_"),
        (("runs",), [{"to": "to", "when": 1}], r"runs\[0\].when: unknown field 'when'; allowed here: to, crash"),
        (("colour",), "blue", r"colour: unknown field 'colour'; allowed here: name, "),
    ],
)
def test_each_invalid_field_is_named_with_its_value_and_what_is_allowed(
    path: tuple[Any, ...], value: Any, message: str
) -> None:
    with pytest.raises(ScenarioError, match=f"^bad.yaml: {message}") as caught:
        parse_scenario(with_change(path, value), source="bad.yaml")
    assert caught.value.source == "bad.yaml"
    assert isinstance(caught.value, ValueError)


def test_two_crashes_are_refused() -> None:
    document = with_change(("faults",), [{"kind": "crash", "at": "mid_node"}, {"kind": "crash", "at": "after_gates"}])
    with pytest.raises(ScenarioError, match=r"faults\[1\]: a scenario can crash only once"):
        parse_scenario(document, source="bad.yaml")


def test_faults_parse_into_their_types() -> None:
    document = with_change(
        ("faults",),
        [
            {"kind": "target_unhealthy", "count": 2, "color": "old"},
            {"kind": "api_errors", "rate": 0.25, "status": 503},
            {"kind": "crash", "at": "after_cordon"},
        ],
    )
    scenario = parse_scenario(document)
    assert scenario.faults == (
        TargetUnhealthy(count=2, color="old"),
        ApiErrors(rate=0.25, status=503, seed=0),
        Crash(at="after_cordon"),
    )
    assert scenario.crash_at == "after_cordon"


def test_runs_parse_in_order_and_without_them_one_cutover_is_planned() -> None:
    scenario = parse_scenario(with_change(("runs",), [{"to": "to", "crash": "after_first_node"}, {"to": "from"},
                                                      {"to": "to"}]))
    assert scenario.runs == (Run("to", "after_first_node"), Run("from"), Run("to"))
    assert scenario.planned_runs() == scenario.runs
    assert parse_scenario(VALID).planned_runs() == (Run("to"),)
    crashed = parse_scenario(with_change(("faults",), [{"kind": "crash", "at": "mid_node"}]))
    assert crashed.planned_runs() == (Run("to", "mid_node"), Run("to"))


def test_a_crash_fault_and_runs_together_are_refused() -> None:
    document = with_change(("faults",), [{"kind": "crash", "at": "mid_node"}])
    document["runs"] = [{"to": "to"}]
    with pytest.raises(ScenarioError, match=r"faults\[0\]: a crash fault cannot be combined with runs"):
        parse_scenario(document, source="bad.yaml")


def test_the_stacks_rollout_block_pastes_in() -> None:
    stack_block = {"evictionTimeoutSeconds": 120, "nodeReadyTimeoutSeconds": 300,
                   "loadBalancerHealthyTimeoutSeconds": 200, "maxParallelNodes": 2, "onPdbTimeout": "force",
                   "canaryPauseSeconds": 0, "unmanagedPods": "evict", "emptyDir": "block", "pollIntervalSeconds": 2,
                   "nodeDrainTimeoutSeconds": 900, "workloadHealthyTimeoutSeconds": 300}
    settings = parse_scenario(with_change(("rollout",), stack_block)).rollout_settings()
    assert settings == RolloutSettings(
        eviction_timeout_s=120.0, node_ready_timeout_s=300.0, lb_healthy_timeout_s=200.0, max_parallel_nodes=2,
        on_pdb_timeout="force", canary_pause_s=0.0, unmanaged_pods="evict", empty_dir="block", poll_interval_s=2.0,
        node_drain_timeout_s=900.0, workload_healthy_timeout_s=300.0,
    )


def test_valid_tolerations_are_kept() -> None:
    tolerations = [{"key": "dedicated", "operator": "Equal", "value": "db", "effect": "NoSchedule"},
                   {"operator": "Exists"},
                   {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
                    "tolerationSeconds": 30}]
    scenario = parse_scenario(with_change(("workloads", 0, "tolerations"), tolerations))
    assert scenario.workloads[0].tolerations == tuple(tolerations)


def test_valid_annotations_reach_the_pod_template() -> None:
    from bluegreen.sandbox.kube.objects import workload_objects

    annotations = {"karpenter.sh/do-not-disrupt": "true", "cluster-autoscaler.kubernetes.io/safe-to-evict": "false",
                   "team": "payments"}
    scenario = parse_scenario(with_change(("workloads", 0, "annotations"), annotations))
    workload = scenario.workloads[0]
    assert workload.annotations == annotations
    (deployment, *_) = [o for o in workload_objects(workload.kind, workload.name, annotations=workload.annotations,
                                                     ready_seconds=2) if o["kind"] == workload.kind]
    template = deployment["spec"]["template"]["metadata"]["annotations"]
    assert template == {**annotations, "sandbox.bluegreen.io/ready-seconds": "2.0"}
    (pod,) = workload_objects("Pod", "lone", annotations={"karpenter.sh/do-not-disrupt": "true"})
    assert pod["metadata"]["annotations"] == {"karpenter.sh/do-not-disrupt": "true"}


def test_a_directory_or_an_unreadable_file_is_one_named_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r": is a directory; give a scenario file"):
        load_scenario(tmp_path)
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00name")
    with pytest.raises(ScenarioError, match=r"binary.yaml: cannot be read \(.*\); give a readable UTF-8 YAML file"):
        load_scenario(binary)


# -- pools (issue 13) ------------------------------------------------------------------------------------------------

POOLS_BASE = {
    "nodes_per_color": 2, "node": {"cpu": "4", "memory": "16Gi", "pods": 58},
    "ami": {"from": "ami-0aaaaaaaaaaaaaaaa", "to": "ami-0bbbbbbbbbbbbbbbb"},
}


def test_pools_parse_in_order_with_their_own_shape_and_the_scenarios_ami_by_default() -> None:
    scenario = parse_scenario({**POOLS_BASE, "rollout": {"poolsInParallel": True, "maxParallelNodes": 2}, "pools": {
        "gpu": {"nodes_per_color": 1, "node": {"cpu": "4", "memory": "16Gi", "pods": 58, "instance_type": "g5.xlarge",
                                               "taints": [{"key": "nvidia.com/gpu", "effect": "NoSchedule"}]},
                "load_balancers": False},
        "mem": {"nodes_per_color": 3, "node": {"cpu": "2", "memory": "16Gi", "pods": 29, "labels": {"class": "mem"}},
                "ami": {"from": "ami-0cccccccccccccccc", "to": "ami-0dddddddddddddddd"}},
    }})
    assert [p.name for p in scenario.all_pools()] == ["workers", "gpu", "mem"]
    workers, gpu, mem = scenario.all_pools()
    assert workers.is_default and workers.nodes_per_color == 2 and workers.load_balancers
    assert gpu.ami == scenario.ami and gpu.node.taints == ({"key": "nvidia.com/gpu", "effect": "NoSchedule"},)
    assert not gpu.load_balancers
    assert mem.ami.to == "ami-0dddddddddddddddd" and mem.node.labels == {"class": "mem"}
    assert scenario.pools_in_parallel and scenario.rollout == {"max_parallel_nodes": 2}


@pytest.mark.parametrize(("pools", "where", "says"), [
    ({"workers": {}}, "pools.workers", "reserved"),
    ({"GPU": {}}, "pools.GPU", "is not a valid name"),
    ({"gpu-workers": {}}, "pools.gpu-workers", "may not end in -workers"),
    ({"gpu": {"nodes_per_color": 1}}, "pools.gpu.node", "is required"),
    ({"gpu": {"nodes_per_color": 1, "node": {"cpu": "1", "memory": "1Gi", "pods": 3}, "size": 2}},
     "pools.gpu.size", "unknown field"),
    ({"gpu": {"nodes_per_color": 1, "node": {"cpu": "1", "memory": "1Gi", "pods": 3,
                                             "labels": {"bluegreen.io/pool": "x"}}}},
     "pools.gpu.node.labels.bluegreen.io/pool", "reserved"),
])
def test_bad_pools_name_the_field(pools: dict, where: str, says: str) -> None:
    with pytest.raises(ScenarioError) as raised:
        parse_scenario({**POOLS_BASE, "pools": pools})
    assert raised.value.path == where and says in raised.value.problem


def test_pools_in_parallel_is_a_boolean() -> None:
    with pytest.raises(ScenarioError) as raised:
        parse_scenario({**POOLS_BASE, "rollout": {"poolsInParallel": "yes"}})
    assert raised.value.path == "rollout.poolsInParallel"


def test_a_workload_node_selector() -> None:
    scenario = parse_scenario({**POOLS_BASE, "workloads": [
        {"kind": "Deployment", "name": "web", "nodeSelector": {"workload-class": "general"}}]})
    assert scenario.workloads[0].node_selector == {"workload-class": "general"}
