"""Our cutover as the benchmark runs it: the rehearsal driver's ``cutover`` in a process of its own.

The sandbox (moto, the fake API, its controllers) runs in the benchmark's
process; this child process runs only the engine against the sandbox's
endpoints, so its peak memory and CPU time are the orchestrator's alone, as
kubectl's are for the peer. It prints one JSON line and exits 0 (also when the
cutover failed: the failure is in the JSON).

    python -m bench.ours '{"scenario": PATH, "speed": S, "strategy": "serial"|"paced", "cluster_name": ...,
                           "region": ..., "aws_endpoint": ..., "kubeconfig_path": ..., "old_color": ...,
                           "new_color": ...}'
"""

from __future__ import annotations

import json
import resource
import sys
import time
from dataclasses import dataclass

from bluegreen.engine.errors import CutoverError
from bluegreen.engine.progress import NullReporter
from bluegreen.rehearsal import CrashInjector, cutover
from bluegreen.sandbox.clock import ScaledClock
from bluegreen.sandbox.scenario import Scenario


@dataclass
class SandboxEndpoints:
    """What ``bluegreen.rehearsal.cutover`` reads from a sandbox, without running one in this process."""

    scenario: Scenario
    cluster_name: str
    region: str
    aws_endpoint: str
    kubeconfig_path: str
    old_color: str
    new_color: str
    clock: ScaledClock


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    from bench.catalog import load_bench_scenario

    scenario = load_bench_scenario(spec["scenario"])
    # The row's strategy (bluegreen: serial, bluegreen-paced: paced) over the scenario's own rollout block.
    settings = scenario.rollout_settings().with_overrides(strategy=spec.get("strategy", "serial"))
    clock = ScaledClock(float(spec["speed"]))
    endpoints = SandboxEndpoints(scenario, spec["cluster_name"], spec["region"], spec["aws_endpoint"],
                                 spec["kubeconfig_path"], spec["old_color"], spec["new_color"], clock)
    # Imports and setup above are not part of the cutover; the clock starts here.
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    began = time.monotonic()
    result, error = "ok", None
    try:
        cutover(endpoints, settings, NullReporter(), CrashInjector(None))
    except CutoverError as exc:
        result, error = "failed", str(exc)
    ended = time.monotonic()
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    print(json.dumps({
        "result": result, "error": error, "began": began, "ended": ended, "cutover_cpu_s": cpu,
        "cutover_peak_rss_mb": cpu_after.ru_maxrss / 1024.0,  # Linux reports KiB
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
