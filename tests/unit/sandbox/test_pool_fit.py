"""The pools plan: which pools a workload may use (nodeSelector, taints), and first-fit-decreasing packing with
every blocker named."""

from __future__ import annotations

from bluegreen.sandbox.pool_fit import plan_pools, pool_refusal
from bluegreen.sandbox.scenario import parse_scenario

GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}


def scenario(workloads: list[dict], gpu_nodes: int = 2) -> object:
    return parse_scenario({
        "nodes_per_color": 2,
        "node": {"cpu": "2", "memory": "8Gi", "pods": 10, "labels": {"workload-class": "general"}},
        "ami": {"from": "ami-0aaaaaaaaaaaaaaaa", "to": "ami-0bbbbbbbbbbbbbbbb"},
        "pools": {"gpu": {"nodes_per_color": gpu_nodes, "node": {
            "cpu": "4", "memory": "16Gi", "pods": 10, "instance_type": "g5.xlarge",
            "labels": {"workload-class": "gpu"}, "taints": [GPU_TAINT]}}},
        "workloads": workloads,
    })


def test_a_workload_may_use_the_pools_whose_labels_and_taints_it_matches() -> None:
    s = scenario([
        {"kind": "Deployment", "name": "web"},
        {"kind": "Deployment", "name": "infer", "nodeSelector": {"workload-class": "gpu"},
         "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}]},
        {"kind": "Deployment", "name": "untolerated", "nodeSelector": {"workload-class": "gpu"}},
    ])
    workers, gpu = s.all_pools()
    web, infer, untolerated = s.workloads
    assert pool_refusal(web, workers) is None
    assert pool_refusal(web, gpu) == "untolerated taint nvidia.com/gpu=true:NoSchedule"
    assert pool_refusal(infer, workers) == "nodeSelector workload-class=gpu not on its nodes"
    assert pool_refusal(infer, gpu) is None
    assert pool_refusal(untolerated, gpu) == "untolerated taint nvidia.com/gpu=true:NoSchedule"


def test_pods_are_packed_onto_one_color_of_each_pool_after_the_daemonsets() -> None:
    plan = plan_pools(scenario([
        {"kind": "DaemonSet", "name": "agent", "cpu": "500m", "tolerations": [{"operator": "Exists"}]},
        {"kind": "Deployment", "name": "web", "replicas": 2, "cpu": "1"},
        {"kind": "Deployment", "name": "infer", "replicas": 2, "cpu": "3", "nodeSelector": {"workload-class": "gpu"},
         "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}]},
    ]))
    assert plan.ok, plan.blockers
    workers, gpu = plan.pools
    # 2 CPU less the agent's 500m leaves one 1-CPU web pod per general node; the gpu pool is tainted for web.
    assert workers.placed == {"Deployment default/web": 2}
    assert gpu.placed == {"Deployment default/infer": 2}
    assert workers.daemonsets == gpu.daemonsets == ("DaemonSet default/agent",)
    assert gpu.cpu_free_m == 2 * (4000 - 500 - 3000)


def test_pods_that_fit_nowhere_are_blockers_naming_workload_pools_and_the_key_to_raise() -> None:
    plan = plan_pools(scenario([
        {"kind": "Deployment", "name": "web", "replicas": 5, "cpu": "1500m"},
        {"kind": "Deployment", "name": "lonely", "nodeSelector": {"workload-class": "memory"}},
    ], gpu_nodes=1))
    assert not plan.ok
    web, lonely = plan.blockers
    assert web.startswith("Deployment default/web: 3 of its 5 pod(s) (1500m CPU, 128Mi each) fit on no node of the "
                          "pool(s) it may use: workers (2 x m5.xlarge: 2 CPU, 8Gi, 10 pods per node)")
    assert "Next: more nodes in workers.desiredCapacity (nodes_per_color)" in web
    assert lonely.startswith("Deployment default/lonely: no pool may run its pods (workers: nodeSelector "
                             "workload-class=memory not on its nodes; gpu: nodeSelector")
    assert [line.strip().split(":")[0] for line in plan.lines()][-2:] == ["BLOCKER", "BLOCKER"]


def test_a_scenario_without_pools_plans_its_one_pool() -> None:
    plan = plan_pools(parse_scenario({
        "nodes_per_color": 1, "node": {"cpu": "1", "memory": "1Gi", "pods": 3},
        "ami": {"from": "ami-0aaaaaaaaaaaaaaaa", "to": "ami-0bbbbbbbbbbbbbbbb"},
        "workloads": [{"kind": "Deployment", "name": "web", "replicas": 4, "cpu": "10m"}],
    }))
    (only,) = plan.pools
    assert only.pool == "workers" and only.placed == {"Deployment default/web": 3}
    assert plan.blockers and "pod slots" not in plan.blockers[0] and "1 of its 4 pod(s)" in plan.blockers[0]
