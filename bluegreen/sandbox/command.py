"""`python -m bluegreen sandbox`: start the fake AWS and cluster for a scenario and serve until interrupted.

Prints the moto endpoint, the region, the EKS cluster name and a kubeconfig
path, so `kubectl`, the aws CLI and boto3 can poke at the sandbox while it runs.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from typing import TYPE_CHECKING, TextIO

from bluegreen.sandbox.scenario import ScenarioError, builtin_scenarios, load_scenario, speed_argument

if TYPE_CHECKING:  # the world (moto, the fake API) is imported when a sandbox starts, not by `--help` or the CLI
    from bluegreen.sandbox.world import Sandbox


class UsageError(ValueError):
    """Bad flags: one line naming the flag and what is allowed (exit code 2), never a usage dump or a traceback."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad flag raises UsageError (one line) instead of printing usage and exiting."""

    def error(self, message: str):  # noqa: ANN201 - argparse's signature (NoReturn)
        raise UsageError(f"{self.prog}: {' '.join(message.split())} (see --help)")


def speed_flag(text: str) -> float:
    """``--speed``: a finite number > 0; argparse reports the one-line reason as the flag's error."""
    try:
        return speed_argument(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parser() -> argparse.ArgumentParser:
    parse = OneLineParser(
        prog="python -m bluegreen sandbox",
        description="Start moto (AWS) and a fake Kubernetes API for a scenario, print their endpoints, serve until "
        "Ctrl-C or SIGTERM.",
    )
    parse.add_argument(
        "--scenario",
        default=None,
        help=f"a builtin scenario ({', '.join(builtin_scenarios())}) or a scenario file; default: small",
    )
    parse.add_argument(
        "--speed", type=speed_flag, default=None,
        help="simulated seconds per real second, > 0 (default: the scenario's)"
    )
    parse.add_argument("--workdir", default=None, help="where to write the kubeconfig (default: a temporary directory)")
    parse.add_argument("--json", action="store_true", help="print the endpoints as one JSON object")
    return parse


def main(argv: list[str], out: TextIO | None = None, stop: threading.Event | None = None,
         err: TextIO | None = None) -> int:
    """Run the sandbox until SIGINT/SIGTERM (or ``stop`` is set). 0 on a clean stop; 2 on a bad flag or scenario,
    or a scenario that cannot reach its starting state; 1 when the sandbox cannot start for another reason (one
    line on ``err`` either way)."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        args = parser().parse_args(argv)
        scenario = load_scenario(args.scenario)
    except (UsageError, ScenarioError) as error:
        err.write(f"error: {' '.join(str(error).split())}\n")
        return 2
    stop = stop or threading.Event()
    restore = _stop_on_signals(stop)
    try:
        from bluegreen.sandbox.world import Sandbox, SandboxStartError

        try:
            sandbox = Sandbox.start(scenario, speed=args.speed, workdir=args.workdir)
        except SandboxStartError as error:
            err.write(f"error: {' '.join(str(error).split())}\n")
            return 2
        except Exception as error:  # noqa: BLE001 - ports, a workdir, another sandbox in this process: one line
            err.write(f"error: the sandbox could not start: {type(error).__name__}: {' '.join(str(error).split())}\n")
            return 1
        try:
            _announce(sandbox, out, as_json=args.json)
            while not stop.wait(0.2):
                pass
        finally:
            sandbox.stop()
    finally:
        restore()
    print("sandbox stopped", file=out, flush=True)
    return 0


def _announce(sandbox: Sandbox, out: TextIO, *, as_json: bool) -> None:
    details = {
        "scenario": sandbox.scenario.name,
        "aws_endpoint": sandbox.aws_endpoint,
        "region": sandbox.region,
        "cluster_name": sandbox.cluster_name,
        "kubeconfig": sandbox.kubeconfig_path,
        "kube_url": sandbox.kube_url,
        "speed": sandbox.clock.speed,
        "old_color": sandbox.old_color,
        "new_color": sandbox.new_color,
        "old_group": sandbox.group_name(sandbox.old_color),
        "new_group": sandbox.group_name(sandbox.new_color),
    }
    if sandbox.scenario.pools:
        # Every pool's groups, the default pool first: "workers: sandbox-workers-blue, sandbox-workers-green; ...".
        details["pools"] = "; ".join(
            f"{p.name}: " + ", ".join(sandbox.group_name(c, p.name) for c in (sandbox.old_color, sandbox.new_color))
            for p in sandbox.scenario.all_pools())
    if as_json:
        out.write(json.dumps(details) + "\n")
    else:
        width = max(len(k) for k in details)
        for key, value in details.items():
            out.write(f"{key:<{width}}  {value}\n")
        out.write(
            "\ntry:\n"
            f"  kubectl --kubeconfig {sandbox.kubeconfig_path} get nodes -L bluegreen.io/color\n"
            f"  AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing aws --endpoint-url {sandbox.aws_endpoint} "
            f"--region {sandbox.region} autoscaling describe-auto-scaling-groups\n"
        )
    out.write("sandbox ready; Ctrl-C or SIGTERM stops it\n")
    out.flush()


def _stop_on_signals(stop: threading.Event):  # noqa: ANN202 - returns the restorer
    """SIGINT and SIGTERM set ``stop`` (main thread only); returns a function that restores the old handlers."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, lambda *_: stop.set())

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
