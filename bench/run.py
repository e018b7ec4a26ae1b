"""Run the benchmark: our cutover (serial and paced) and the kubectl-drain loop on the same scenarios; print the table.

    python bench/run.py                       # small, medium, large; all three tools; two pairs at a time
    python bench/run.py --tools bluegreen,bluegreen-paced,kubectl-drain
    python bench/run.py --scenarios small --tools bluegreen --speed small=5 --jobs 1

Each (scenario, tool) pair gets a fresh sandbox in this process (moto, the fake
Kubernetes API and its controllers, at the scenario's speed); the tool runs as
a child process against it. Figures come from what the sandbox observed and
what the OS measured of the child; the lower bound from the scenario file
alone (the paced row against the paced strategy's own bound). See docs/bench.md for how to read the output.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script (python bench/run.py): make the repository importable, as `python -m bench.run` would.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.catalog import NAMES, load_bench_scenario, load_shape  # noqa: E402
from bench.figures import OURS, OURS_PACED, PEER, Figures, RunRecord, figures, target_checks  # noqa: E402
from bench.lower_bound import lower_bound, paced_lower_bound  # noqa: E402
from bench.peer import run_peer  # noqa: E402
from bench.placement import initial_placement  # noqa: E402
from bench.table import (  # noqa: E402
    availability_table,
    paced_table,
    results_table,
    targets_table,
    violations_list,
)

REPO = Path(__file__).resolve().parents[1]
TOOLS = (OURS, OURS_PACED, PEER)
#: rollout.strategy each of our rows runs with (the scenario's own rollout block otherwise).
STRATEGIES = {OURS: "serial", OURS_PACED: "paced"}
#: Longest first when pairs run in lanes: kubectl's loop, our serial cutover, the paced one.
DURATION_RANK = {PEER: 0, OURS: 1, OURS_PACED: 2}


@dataclass(frozen=True)
class Observed:
    """What the sandbox saw during one run, in plain numbers."""

    pods_to_move: int
    placement_matches_model: bool
    evictions: int
    pods_lost: int
    lowest_ready: dict[str, int]
    k8s_requests: int
    aws_requests: int
    sandbox_violations: int
    k8s_bytes: int = 0  # response bodies the fake Kubernetes API sent
    k8s_heaviest: tuple[str, ...] = ()  # "verb resource: N req, K KB", the five that sent the most bytes


def pods_on_old_nodes(sandbox) -> tuple[int, list[Counter[str]]]:
    """(pods of Deployments/StatefulSets on the old nodes, per old node in creation order: workload -> count)."""
    cluster = sandbox.cluster
    with cluster.lock:
        nodes = sorted(
            (n for n in cluster.list("nodes") if (n["metadata"].get("labels") or {}).get("bluegreen.io/color")
             == sandbox.old_color),
            key=lambda n: cluster.node_order(n["metadata"]["name"]),
        )
        index = {n["metadata"]["name"]: i for i, n in enumerate(nodes)}
        per_node: list[Counter[str]] = [Counter() for _ in nodes]
        for pod in cluster.list("pods"):
            where = index.get(pod["spec"].get("nodeName") or "")
            workload = cluster.workload_of(pod)
            if where is None or workload is None or workload[0] == "DaemonSet":
                continue
            if pod["metadata"].get("deletionTimestamp"):
                continue
            kind, namespace, name = workload
            per_node[where][f"{namespace}/{name}"] += 1
    return sum(sum(c.values()) for c in per_node), per_node


def observed(sandbox, before: dict, shape_placement: list[Counter[str]], start_placement: list[Counter[str]],
             to_move: int) -> Observed:
    measured = sandbox.measurements()
    requests = measured.get("api_requests", {})
    lowest = {key: int(v["lowest_ready"]) for key, v in measured.get("lowest_availability", {}).items()}
    return Observed(
        pods_to_move=to_move,
        placement_matches_model=[dict(c) for c in shape_placement] == [dict(c) for c in start_placement],
        evictions=int(measured.get("pods_evicted", 0)) + int(measured.get("pods_deleted", 0)),
        pods_lost=len(measured.get("pods_lost", [])),
        lowest_ready=lowest,
        k8s_requests=int(requests.get("kubernetes", 0)) - int(before.get("kubernetes", 0)),
        aws_requests=int(requests.get("aws", 0)) - int(before.get("aws", 0)),
        sandbox_violations=len(measured.get("budget_violations", [])),
        k8s_bytes=int(measured.get("api_bytes", {}).get("kubernetes", 0)) - int(before.get("kubernetes_bytes", 0)),
        k8s_heaviest=heaviest(before.get("traffic") or {}, measured.get("kubernetes_traffic") or {}),
    )


def heaviest(before: dict, now: dict, count: int = 5) -> tuple[str, ...]:
    """The ``count`` "verb resource" pairs that sent the most bytes between two traffic readings."""
    sent = {k: v - (before.get("bytes") or {}).get(k, 0) for k, v in (now.get("bytes") or {}).items()}
    asked = {k: v - (before.get("requests") or {}).get(k, 0) for k, v in (now.get("requests") or {}).items()}
    top = sorted(sent.items(), key=lambda kv: -kv[1])[:count]
    return tuple(f"{k}: {asked.get(k, 0)} req, {v / 1024:.0f} KB" for k, v in top if v > 0)


def bound_for(scenario: str, tool: str) -> float:
    """The lower bound a row is measured against: the paced strategy's own for the paced row, else the serial one."""
    shape = load_shape(scenario)
    return (paced_lower_bound(shape) if tool == OURS_PACED else lower_bound(shape)).total_seconds


def run_ours(sandbox, scenario_file: str, speed: float, workdir: Path, strategy: str = "serial") -> dict:
    spec = {
        "scenario": scenario_file, "speed": speed, "strategy": strategy, "cluster_name": sandbox.cluster_name,
        "region": sandbox.region,
        "aws_endpoint": sandbox.aws_endpoint, "kubeconfig_path": sandbox.kubeconfig_path,
        "old_color": sandbox.old_color, "new_color": sandbox.new_color,
    }
    usage_path = workdir / f"ours-{strategy}.usage.json"
    child = subprocess.run(
        [sys.executable, "-S", str(REPO / "bench" / "measure.py"), str(usage_path),
         sys.executable, "-m", "bench.ours", json.dumps(spec)],
        cwd=REPO, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(REPO)), check=False,
    )
    if child.returncode != 0 or not child.stdout.strip():
        return {"result": "failed", "error": f"bench.ours exited {child.returncode}: {child.stderr[-2000:]}",
                "began": 0.0, "ended": 0.0, "cpu_s": 0.0, "peak_rss_mb": 0.0}
    run = json.loads(child.stdout.strip().splitlines()[-1])
    # CPU and peak memory as the launcher measured them (whole process, imports included), like kubectl's.
    run.update(json.loads(usage_path.read_text(encoding="utf-8")))
    return run


def run_one(name: str, tool: str, speed: float, workdir: Path) -> RunRecord:
    from bluegreen.sandbox.world import Sandbox

    shape = load_shape(name)
    scenario = load_bench_scenario(name)
    modelled = initial_placement(shape)
    sandbox = Sandbox.start(scenario, speed=speed)
    notes: list[str] = []
    inflation = 0.0
    try:
        to_move, at_start = pods_on_old_nodes(sandbox)
        measured_before = sandbox.measurements()
        before = {**measured_before.get("api_requests", {}),
                  "kubernetes_bytes": measured_before.get("api_bytes", {}).get("kubernetes", 0),
                  "traffic": measured_before.get("kubernetes_traffic") or {}}
        if tool in STRATEGIES:
            run = run_ours(sandbox, str(Path(scenario.source)), speed, workdir, STRATEGIES[tool])
            result, error = run["result"], run["error"]
            began, ended, cpu, rss = run["began"], run["ended"], run["cpu_s"], run["peak_rss_mb"]
        else:
            settings = scenario.rollout_settings()
            peer = run_peer(
                cluster_name=sandbox.cluster_name, region=sandbox.region, aws_endpoint=sandbox.aws_endpoint,
                kubeconfig_path=sandbox.kubeconfig_path, old_color=sandbox.old_color, new_color=sandbox.new_color,
                new_ami=scenario.ami.to, nodes=scenario.nodes_per_color, speed=speed,
                poll_s=settings.poll_interval_s, drain_timeout_s=settings.node_drain_timeout_s,
                log_path=workdir / f"{name}-kubectl.log",
            )
            result, error = peer.result, peer.error
            began, ended, cpu, rss = peer.began, peer.ended, peer.cpu_s, peer.peak_rss_mb
            inflation = peer.inflation_s
            notes.append(f"kubectl's 429 retries (5 s real each): {peer.eviction_retries}")
        seen = observed(sandbox, before, modelled, at_start, to_move)
        with sandbox.cluster.lock:
            notes.append(sandbox.cluster.tick_costs.line())
    finally:
        sandbox.stop()
    if not seen.placement_matches_model:
        notes.append("initial placement differs from the lower bound's model")
    if seen.k8s_heaviest:
        notes.append("heaviest Kubernetes reads: " + ", ".join(seen.k8s_heaviest))
    if seen.sandbox_violations:
        notes.append(f"budget dips the sandbox itself recorded (all workloads, DaemonSets included): "
                     f"{seen.sandbox_violations}")
    return RunRecord(
        scenario=name, tool=tool, speed=speed, result=result, error=error, wall_s=(ended - began) * speed,
        real_s=ended - began, pods_to_move=seen.pods_to_move, evictions=seen.evictions, pods_lost=seen.pods_lost,
        lowest_ready=seen.lowest_ready, k8s_requests=seen.k8s_requests, aws_requests=seen.aws_requests,
        peak_rss_mb=rss, cpu_s=cpu, speed_inflation_s=inflation, notes=tuple(notes), k8s_bytes=seen.k8s_bytes,
    )


def parse_speeds(values: list[str]) -> dict[str, float]:
    """Each scenario's own ``speed`` (simulated s per real s; see docs/bench.md), overridden by NAME=SPEED."""
    speeds = {name: load_bench_scenario(name).speed for name in NAMES}
    for value in values:
        name, _, number = value.partition("=")
        if name not in NAMES or not number:
            raise SystemExit(f"--speed {value!r}: expected NAME=NUMBER with NAME one of {', '.join(NAMES)}")
        speeds[name] = float(number)
    return speeds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default=",".join(NAMES), help="comma-separated: small,medium,large")
    parser.add_argument("--tools", default=",".join(TOOLS), help=f"comma-separated: {','.join(TOOLS)}")
    parser.add_argument("--speed", action="append", default=[], help="NAME=SPEED, e.g. large=25 (repeatable)")
    parser.add_argument("--json", dest="json_path", help="also write every record and figure to this file")
    parser.add_argument("--report", dest="report_path", help="print the report of a --json file again; run nothing")
    parser.add_argument("--jobs", type=int, default=2,
                        help="run this many (scenario, tool) pairs at once, each in its own process (default 2, "
                             "which fits the 15-minute budget on 2 CPUs; 1: one at a time, ~27 minutes)")
    args = parser.parse_args(argv)
    if args.report_path:
        print(report_from_json(Path(args.report_path)))
        return 0
    names = [n for n in args.scenarios.split(",") if n]
    tools = [t for t in args.tools.split(",") if t]
    unknown = [n for n in names if n not in NAMES] + [t for t in tools if t not in TOOLS]
    if unknown:
        raise SystemExit(f"unknown scenario or tool: {', '.join(unknown)}")
    speeds = parse_speeds(args.speed)
    started = time.monotonic()
    pairs = [(name, tool) for name in names for tool in tools]
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        if args.jobs > 1 and len(pairs) > 1:
            by_pair = run_in_lanes(pairs, speeds, args.jobs, Path(tmp))
        else:
            by_pair = {}
            for name, tool in pairs:
                t0 = time.monotonic()
                by_pair[(name, tool)] = record = run_one(name, tool, speeds[name], Path(tmp))
                progress(record, time.monotonic() - t0)
    records = [by_pair[pair] for pair in pairs]
    rows = [figures(r, load_shape(r.scenario), bound_for(r.scenario, r.tool)) for r in records]
    total = time.monotonic() - started
    print(report(rows, records, speeds, total))
    if args.json_path:
        Path(args.json_path).write_text(json.dumps({
            "records": [r.to_dict() for r in records],
            "figures": [f.__dict__ for f in rows],
            "speeds": speeds, "total_real_s": total, "machine": machine(),
        }, indent=2, default=str))
    return 0


def progress(record: RunRecord, real_s: float) -> None:
    print(f"# {record.scenario} / {record.tool}: {record.result} in {record.wall_s:.0f} sim s "
          f"({real_s:.0f} s real, speed {record.speed:g})" + (f"; error: {record.error}" if record.error else ""),
          file=sys.stderr, flush=True)


def run_in_lanes(pairs: list[tuple[str, str]], speeds: dict[str, float], jobs: int,
                 workdir: Path) -> dict[tuple[str, str], RunRecord]:
    """Each pair in a process of its own (this script with one scenario and one tool), ``jobs`` at a time,
    longest first (large before medium before small; kubectl, then our serial, then our paced cutover), so the
    lanes finish together."""
    order = sorted(pairs, key=lambda p: (-NAMES.index(p[0]), DURATION_RANK[p[1]]))
    waiting = list(order)
    running: dict[tuple[str, str], tuple[subprocess.Popen, Path, float]] = {}
    done: dict[tuple[str, str], RunRecord] = {}
    while waiting or running:
        while waiting and len(running) < jobs:
            name, tool = waiting.pop(0)
            out = workdir / f"{name}-{tool}.json"
            child = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "--scenarios", name, "--tools", tool,
                 "--speed", f"{name}={speeds[name]}", "--json", str(out)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            running[(name, tool)] = (child, out, time.monotonic())
        time.sleep(1.0)
        for pair, (child, out, began) in list(running.items()):
            if child.poll() is None:
                continue
            del running[pair]
            if child.returncode != 0 or not out.exists():
                raise SystemExit(f"benchmark of {pair[0]} / {pair[1]} exited {child.returncode}; "
                                 f"run it alone: python bench/run.py --scenarios {pair[0]} --tools {pair[1]}")
            saved = json.loads(out.read_text(encoding="utf-8"))["records"][0]
            done[pair] = RunRecord(**{**saved, "notes": tuple(saved.get("notes", ()))})
            progress(done[pair], time.monotonic() - began)
    return done


def report_from_json(path: Path) -> str:
    """The report of an earlier run, from its --json file (figures recomputed from the records)."""
    saved = json.loads(path.read_text(encoding="utf-8"))
    records = [RunRecord(**{**r, "notes": tuple(r.get("notes", ()))}) for r in saved["records"]]
    rows = [figures(r, load_shape(r.scenario), bound_for(r.scenario, r.tool)) for r in records]
    return report(rows, records, saved["speeds"], saved["total_real_s"], saved.get("machine"))


def machine() -> str:
    cpus = os.cpu_count()
    kubectl = subprocess.run(["kubectl", "version", "--client", "-o", "json"], capture_output=True, text=True)
    version = "?"
    if kubectl.returncode == 0:
        version = json.loads(kubectl.stdout).get("clientVersion", {}).get("gitVersion", "?")
    return (f"{platform.system()} {platform.machine()}, {cpus} CPU(s), Python {platform.python_version()}, "
            f"kubectl {version}")


def report(rows: list[Figures], records: list[RunRecord], speeds: dict[str, float], total_s: float,
           machine_line: str | None = None) -> str:
    notes = [f"- {r.scenario} / {r.tool}: " + "; ".join(r.notes) for r in records if r.notes]
    errors = [f"- {r.scenario} / {r.tool}: {r.error}" for r in records if r.error]
    used = {r.scenario: speeds[r.scenario] for r in records}
    return "\n\n".join([
        "## Results",
        results_table(rows),
        "## Lowest availability (Ready / desired) per workload",
        availability_table(rows),
        "## Paced against serial (wall time; each overhead against its own lower bound)",
        paced_table(rows),
        "## Budget violations",
        violations_list(rows),
        "## Targets (printed, not asserted)",
        targets_table(target_checks(rows)),
        "## Notes",
        "\n".join(notes + errors) or "- none",
        f"Speeds (simulated s per real s): {', '.join(f'{k}={v:g}' for k, v in used.items())}. "
        f"Machine: {machine_line or machine()}. Total real time: {total_s:.0f} s.",
    ])


if __name__ == "__main__":
    sys.exit(main())
