"""What one controller tick of the fake cluster costs in real time, at the large benchmark's size.

Builds a FakeCluster with a scenario's nodes and workloads (default: bench/scenarios/large.yaml,
150 nodes and 2,980 pods), lets it settle, then times ``advance`` over a number of ticks in two
phases: idle (nothing changes) and churn (one old node cordoned and its pods deleted, so the
controllers replace, schedule and start pods while being timed). Prints the figures and the
command that reproduces them.

    .venv/bin/python bench/tick_cost.py [--scenario FILE] [--ticks N] [--step SECONDS]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bluegreen.sandbox.kube.cluster import FakeCluster  # noqa: E402
from bluegreen.sandbox.kube.objects import workload_objects  # noqa: E402
from bluegreen.sandbox.scenario import Scenario, load_scenario  # noqa: E402

DEFAULT_SCENARIO = "bench/scenarios/large.yaml"


@dataclass(frozen=True)
class TickCost:
    """Real milliseconds per ``advance`` over ``ticks`` ticks, with the cluster's size."""

    phase: str
    pods: int
    nodes: int
    ticks: int
    median_ms: float
    p95_ms: float
    max_ms: float

    def line(self) -> str:
        return (f"{self.phase:>6}: {self.pods} pods on {self.nodes} nodes, {self.ticks} ticks: "
                f"median {self.median_ms:.2f} ms, p95 {self.p95_ms:.2f} ms, max {self.max_ms:.2f} ms")


def build_cluster(scenario: Scenario) -> FakeCluster:
    """The scenario's old color as nodes, every workload applied and Ready."""
    cluster = FakeCluster(placement=scenario.placement, seed=0)
    for index in range(scenario.nodes_per_color):
        name = f"ip-10-0-{index // 250}-{index % 250 + 10}.eu-west-1.compute.internal"
        cluster.add_node(name, provider_id=f"aws:///eu-west-1a/i-{index:017x}",
                         labels={"bluegreen.io/color": "blue"}, cpu=scenario.node.cpu,
                         memory=scenario.node.memory, pods=scenario.node.pods)
    for workload in scenario.workloads:
        for obj in workload_objects(workload.kind, workload.name, workload.namespace, replicas=workload.replicas,
                                    cpu=workload.cpu, memory=workload.memory, ready_seconds=workload.ready_seconds,
                                    grace_seconds=workload.grace_seconds,
                                    pdb=workload.pdb.as_spec() if workload.pdb else None,
                                    empty_dir=workload.empty_dir):
            cluster.apply(obj)
    deadline = cluster.now + 3600
    while cluster.now < deadline:
        cluster.advance(cluster.now + 1.0)
        pods = _stored(cluster, "pods")
        if pods and all(_ready(p) for p in pods) and not _short(cluster):
            break
    return cluster


def _stored(cluster: FakeCluster, plural: str) -> list[dict]:
    """The stored objects, without copies (``_iter`` on a FakeCluster older than the store interface, so the
    script can measure the code before the indexes too)."""
    objects = getattr(cluster, "objects", None) or cluster._iter  # type: ignore[attr-defined]
    return objects(plural)


def _ready(pod: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def _short(cluster: FakeCluster) -> bool:
    return any(int((d.get("status") or {}).get("readyReplicas", 0)) < int(d["spec"].get("replicas", 1))
               for d in _stored(cluster, "deployments") + _stored(cluster, "statefulsets"))


def time_ticks(cluster: FakeCluster, phase: str, ticks: int, step: float) -> TickCost:
    samples = []
    for _ in range(ticks):
        started = time.perf_counter()
        cluster.advance(cluster.now + step)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return TickCost(phase, len(_stored(cluster, "pods")), len(_stored(cluster, "nodes")), ticks,
                    statistics.median(samples), samples[int(0.95 * (len(samples) - 1))], samples[-1])


def measure(scenario: Scenario, ticks: int, step: float) -> list[TickCost]:
    """Idle and churn tick costs of the scenario's cluster."""
    cluster = build_cluster(scenario)
    idle = time_ticks(cluster, "idle", ticks, step)
    victim = _stored(cluster, "nodes")[0]["metadata"]["name"]
    with cluster.lock:
        cluster.patch("nodes", None, victim, {"spec": {"unschedulable": True}}, "application/merge-patch+json")
        for pod in [p for p in _stored(cluster, "pods") if p["spec"].get("nodeName") == victim]:
            cluster.delete("pods", pod["metadata"]["namespace"], pod["metadata"]["name"])
    churn = time_ticks(cluster, "churn", ticks, step)
    return [idle, churn]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=DEFAULT_SCENARIO, help="scenario file or builtin name")
    parser.add_argument("--ticks", type=int, default=100, help="ticks timed per phase")
    parser.add_argument("--step", type=float, default=0.5, help="simulated seconds per tick")
    args = parser.parse_args(argv)
    scenario = load_scenario(Path(args.scenario) if Path(args.scenario).is_file() else args.scenario)
    for cost in measure(scenario, args.ticks, args.step):
        print(cost.line())
    print(f"reproduce: python bench/tick_cost.py --scenario {args.scenario} --ticks {args.ticks} --step {args.step}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
