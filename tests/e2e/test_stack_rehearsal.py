"""`python -m bluegreen rehearse --stack Pulumi.<stack>.yaml` (issue 13): the committed production stack rehearses
its cutover from the repository as cloned (a subprocess, as an operator runs it), and a stack whose pool is too small
for a scenario's workloads stops at its plan, each blocker named, before anything starts."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from bluegreen.cli import main

ROOT = Path(__file__).resolve().parents[2]
PROD = ROOT / "Pulumi.prod.yaml"


def prod_with_gpu_pool(tmp_path: Path) -> Path:
    """Pulumi.prod.yaml with its commented gpu pool example switched on."""
    text = PROD.read_text()
    start = text.index("  # eks-bluegreen:pools:")
    block = text[start:text.index("\n\n", start)]
    enabled = "\n".join(line.replace("  # ", "  ", 1) for line in block.splitlines())
    path = tmp_path / "Pulumi.gpu.yaml"
    path.write_text(text.replace(block, enabled))
    return path


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(argv, out=out, err=err), out.getvalue(), err.getvalue()


def test_rehearse_the_committed_prod_stack_as_an_operator_would() -> None:
    done = subprocess.run([sys.executable, "-m", "bluegreen", "rehearse", "--stack", "Pulumi.prod.yaml", "--json",
                           "--speed", "40"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-2000:])
    report = json.loads(done.stdout)
    assert report["result"] == "ok" and report["exit_code"] == 0
    # The stack's own shape: 5 x m5.large in prod-workers-<color>, its two target groups and classic ELB.
    (workers,) = report["plan"]["pools"]
    assert (workers["pool"], workers["nodes"], workers["instance_type"], workers["node"]) == (
        "workers", 5, "m5.large", {"cpu_m": 1930, "memory_mi": 7518, "pods": 29})
    assert report["new_color_capacity"]["group"] == "prod-workers-green"
    assert report["new_color_capacity"]["nodes"] == 5 and report["nodes_drained"] == 5
    assert report["budget_violations"] == [] and report["pods_lost"] == [] and report["cordoned_nodes"] == []
    assert report["serving_color"] == "green"
    assert all(v["ready"] == v["desired"] and not v["pending"] for v in report["final_availability"].values())


def test_a_pool_too_small_for_the_workloads_stops_at_the_plan_naming_it(tmp_path: Path) -> None:
    stack = prod_with_gpu_pool(tmp_path)
    scenario = tmp_path / "gpu-heavy.yaml"
    scenario.write_text(
        "nodes_per_color: 1\nnode: {cpu: '4', memory: 16Gi, pods: 58}\n"
        "ami: {from: ami-0aaaaaaaaaaaaaaaa, to: ami-0bbbbbbbbbbbbbbbb}\n"
        "workloads:\n"
        "  - {kind: Deployment, name: inference, replicas: 3, cpu: '3', memory: 8Gi,\n"
        "     nodeSelector: {workload-class: gpu}, tolerations: [{key: nvidia.com/gpu, operator: Exists}]}\n"
        "  - {kind: Deployment, name: batch, nodeSelector: {workload-class: memory}}\n"
    )
    code, out, err = run_cli(["rehearse", "--stack", str(stack), "--scenario", str(scenario)])
    assert code == 1, err
    assert "pool gpu: 2 x g5.xlarge (3920m CPU, 15391Mi, 58 pods per node)" in out
    assert ("BLOCKER: Deployment default/inference: 1 of its 3 pod(s) (3 CPU, 8Gi each) fit on no node of the pool(s)"
            " it may use: gpu") in out
    assert "BLOCKER: Deployment default/batch: no pool may run its pods" in out
    assert "error: plan: 2 blocker(s)" in out


def test_an_instance_type_outside_the_table_is_one_line_naming_the_key(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.odd.yaml"
    stack.write_text(PROD.read_text().replace("instanceType: m5.large", "instanceType: t3.nano"))
    code, out, err = run_cli(["rehearse", "--stack", str(stack)])
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith("error: workers.instanceType: instance type 't3.nano' is not in the sandbox's table")


def test_a_bad_stack_key_is_one_line_naming_it(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.bad.yaml"
    stack.write_text(PROD.read_text().replace("desiredCapacity: 5", "desiredCapacity: 50"))
    code, _out, err = run_cli(["rehearse", "--stack", str(stack)])
    assert code == 2 and len(err.splitlines()) == 1 and "workers" in err and "desiredCapacity 50" in err
