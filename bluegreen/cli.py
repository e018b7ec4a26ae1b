"""The command line: read-only `status` and `plan` against a cluster, `rehearse` and `sandbox` on this machine.

An adapter over the engine like the Pulumi dynamic resources: argument parsing and printing only.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from bluegreen.engine.errors import CutoverError
from bluegreen.sandbox.command import OneLineParser, UsageError, speed_flag

__all__ = ["OneLineParser", "UsageError", "build_parser", "main"]


def _cluster_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cluster", required=True, help="EKS cluster name (the groups are <cluster>-workers-<color>)")
    parser.add_argument("--region", required=True, help="AWS region of the cluster")
    parser.add_argument("--kubeconfig", help="use this kubeconfig instead of DescribeCluster plus a minted token")
    parser.add_argument("--context", help="kubeconfig context (default: current)")
    parser.add_argument("--aws-endpoint-url", help="AWS endpoint override (the sandbox's moto server)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m bluegreen", description="Blue/green EKS worker cutovers.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    _cluster_args(sub.add_parser("status", help="colors, AMIs, capacities, nodes, cordons, LB health (read-only)"))
    plan = sub.add_parser("plan", help="read-only preflight of the next cutover")
    _cluster_args(plan)
    plan.add_argument("--to", choices=["blue", "green"], help="color to cut over to (default: the idle one)")
    plan.add_argument("--desired", type=int, help="nodes the new color will run (default: the serving color's)")
    rehearse = sub.add_parser("rehearse", help="run a whole cutover in the local sandbox")
    rehearse.add_argument("--scenario", help="builtin scenario name or a YAML file (default: the small builtin)")
    rehearse.add_argument("--stack", help="rehearse this stack file's cutover (Pulumi.<stack>.yaml): its pools, "
                          "node types, labels, taints, capacities and rollout, with the scenario's workloads")
    rehearse.add_argument("--json", action="store_true", help="print one JSON report instead of progress lines")
    rehearse.add_argument("--speed", type=speed_flag,
                          help="simulated seconds per real second, > 0 (default: the scenario's)")
    sub.add_parser("sandbox", help="start the sandbox and print its endpoints (see --help)", add_help=False)
    return parser


def main(argv: list[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run one command; returns its exit code (2 for bad flags or a bad scenario, with one line on ``err``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    out = out or sys.stdout
    err = err or sys.stderr
    if argv and argv[0] == "sandbox":
        from bluegreen.sandbox.command import main as sandbox_main

        return sandbox_main(argv[1:], out=out, err=err)
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        err.write(f"error: {exc}\n")
        return 2
    if args.command == "rehearse":
        from bluegreen.rehearsal import run_rehearsal

        if args.stack:
            return _rehearse_stack(args, out, err)
        return run_rehearsal(args.scenario, as_json=args.json, speed=args.speed, out=out, err=err)
    try:
        if args.command == "status":
            return _status(args, out)
        return _plan(args, out)
    except CutoverError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _rehearse_stack(args, out: TextIO, err: TextIO) -> int:
    """`rehearse --stack`: the stack's scenario (bluegreen.stack_scenario), played like any other; a bad stack key,
    scenario field or an instance type the sandbox does not know is one line and exit code 2."""
    from bluegreen.infra.config import ConfigError
    from bluegreen.rehearsal import ExitCode, run_rehearsal
    from bluegreen.sandbox.scenario import ScenarioError
    from bluegreen.stack_scenario import StackRehearsalError, load_stack_scenario

    try:
        stack, scenario = load_stack_scenario(args.stack, args.scenario)
    except (ConfigError, ScenarioError, StackRehearsalError) as exc:
        err.write(f"error: {' '.join(str(exc).split())}\n")
        return ExitCode.BAD_INPUT
    return run_rehearsal(None, as_json=args.json, speed=args.speed, out=out, err=err, scenario=scenario,
                         cluster_name=stack.cluster.name)


def _connect(args):
    from bluegreen.engine.api import ClusterTarget, connect

    return connect(ClusterTarget(args.cluster, args.region, args.aws_endpoint_url, args.kubeconfig, args.context))


def _status(args, out: TextIO) -> int:
    from bluegreen.engine.api import status

    report = status(_connect(args), args.cluster)
    if args.json:
        out.write(json.dumps(report.to_dict(), indent=2) + "\n")
    else:
        out.write("\n".join(report.lines()) + "\n")
    return 0


def _plan(args, out: TextIO) -> int:
    from bluegreen.engine.api import GroupSpec, preflight, status
    from bluegreen.engine.naming import other_color
    from bluegreen.engine.settings import RolloutSettings

    conn = _connect(args)
    current = status(conn, args.cluster)
    serving = [c for c in current.colors if c.serving]
    if args.to:
        new_color = args.to
    elif len(serving) == 1:
        new_color = other_color(serving[0].color)
    else:
        print("error: cannot tell which color to cut over to "
              f"(serving: {', '.join(c.color for c in serving) or 'none'}); pass --to blue|green", file=sys.stderr)
        return 2
    old_color = other_color(new_color)
    old_status = next(c for c in current.colors if c.color == old_color)
    desired = args.desired if args.desired is not None else old_status.desired
    old = GroupSpec(args.cluster, old_color, old_status.ami or "", old_status.desired)
    new = GroupSpec(args.cluster, new_color, "", desired)
    report = preflight(conn, old, new, RolloutSettings())
    if args.json:
        out.write(json.dumps({"from": old_color, "to": new_color, **report.to_dict()}, indent=2) + "\n")
    else:
        out.write(f"plan: {old_color} -> {new_color} ({desired} node(s)); "
                  f"{len(report.old_nodes)} old node(s), {report.pods_to_move} pod(s) to move\n")
        for move in report.moves:
            out.write(f"  {move.workload}: {len(move.pods)} pod(s), budget {move.budget}\n")
        for line in report.staying:
            out.write(f"  stays: {line}\n")
        for line in report.warnings:
            out.write(f"  warning: {line}\n")
        for line in report.blockers:
            out.write(f"  BLOCKER: {line}\n")
        out.write("ready to cut over\n" if report.ok else f"{len(report.blockers)} blocker(s): fix them first\n")
    return 0 if report.ok else 1
