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
    parser.add_argument("--cluster", help="EKS cluster name (the groups are <cluster>-<pool>-<color>); "
                        "required without --stack")
    parser.add_argument("--region", help="AWS region of the cluster; required without --stack")
    parser.add_argument("--stack", help="a stack file (Pulumi.<stack>.yaml): its cluster name, aws:region and every "
                        "pool (default: the pools found from the groups' pool tags and the nodes' pool labels)")
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
        _stack_target(args)
    except UsageError as exc:
        err.write(f"error: {exc}\n")
        return 2
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


def _stack_target(args) -> None:
    """Fill ``args.cluster``, ``args.region`` and ``args.pools`` (None: find them) from ``--stack``; flags given
    win over the stack's values. UsageError (one line) when the cluster or region is still unknown."""
    args.pools = None
    if args.stack:
        import yaml

        from bluegreen.infra.config import ConfigError
        from bluegreen.infra.stack_file import load_stack_file

        try:
            stack = load_stack_file(args.stack)
            with open(args.stack, encoding="utf-8") as file:
                document = yaml.safe_load(file) or {}
        except ConfigError as exc:
            raise UsageError(f"--stack: {' '.join(str(exc).split())}") from None
        args.cluster = args.cluster or stack.cluster.name
        args.region = args.region or (document.get("config") or {}).get("aws:region")
        args.pools = tuple(p.name for p in stack.all_pools())
    for flag in ("cluster", "region"):
        if not getattr(args, flag):
            raise UsageError(f"{args.command}: --{flag} is required (or --stack with a stack file that sets it)")


def _pools(args, conn) -> tuple[str, ...] | None:
    """The pools to show: the stack's, or those found on the cluster; None: the cluster's one pair (no pool tags,
    no pool labels, no --stack), shown exactly as before pools existed."""
    from bluegreen.engine.naming import DEFAULT_POOL
    from bluegreen.engine.pools import discover_pools

    pools = args.pools or discover_pools(conn, args.cluster)
    return None if pools == (DEFAULT_POOL,) and not args.stack else pools


def _connect(args):
    from bluegreen.engine.api import ClusterTarget, connect

    return connect(ClusterTarget(args.cluster, args.region, args.aws_endpoint_url, args.kubeconfig, args.context))


def _status(args, out: TextIO) -> int:
    from bluegreen.engine.api import status
    from bluegreen.engine.pools import pools_status

    conn = _connect(args)
    pools = _pools(args, conn)
    report = status(conn, args.cluster) if pools is None else pools_status(conn, args.cluster, pools)
    if args.json:
        out.write(json.dumps(report.to_dict(), indent=2) + "\n")
    else:
        out.write("\n".join(report.lines()) + "\n")
    return 0


def _plan(args, out: TextIO) -> int:
    conn = _connect(args)
    pools = _pools(args, conn)
    if pools is None:
        plan = _plan_pool(args, conn, None)
        if plan is None:
            return 2
        if args.json:
            out.write(json.dumps(plan["json"], indent=2) + "\n")
        else:
            out.write("".join(plan["lines"]))
        return 0 if plan["json"]["ok"] else 1
    plans = [_plan_pool(args, conn, pool) for pool in pools]
    if any(p is None for p in plans):
        return 2
    ok = all(p["json"]["ok"] for p in plans)
    if args.json:
        out.write(json.dumps({"ok": ok, "pools": [p["json"] for p in plans]}, indent=2) + "\n")
    else:
        for plan in plans:
            out.write("".join(plan["lines"]))
    return 0 if ok else 1


def _plan_pool(args, conn, pool: str | None) -> dict | None:
    """The preflight of one pool's next cutover (None: the cluster's one pair), as JSON and text lines; None when
    the color to cut over to cannot be told (the message is printed)."""
    from bluegreen.engine.api import GroupSpec, preflight, status
    from bluegreen.engine.naming import COLORS, other_color
    from bluegreen.engine.settings import RolloutSettings
    from bluegreen.engine.status import StatusReport, color_status

    if pool is None:
        current = status(conn, args.cluster)
    else:
        current = StatusReport(args.cluster, tuple(color_status(conn, args.cluster, c, pool, node_pool=pool)
                                                   for c in COLORS))
    label = "" if pool is None else f"pool {pool}: "
    serving = [c for c in current.colors if c.serving]
    if args.to:
        new_color = args.to
    elif len(serving) == 1:
        new_color = other_color(serving[0].color)
    else:
        print(f"error: {label}cannot tell which color to cut over to "
              f"(serving: {', '.join(c.color for c in serving) or 'none'}); pass --to blue|green", file=sys.stderr)
        return None
    old_color = other_color(new_color)
    old_status = next(c for c in current.colors if c.color == old_color)
    desired = args.desired if args.desired is not None else old_status.desired
    old = GroupSpec(args.cluster, old_color, old_status.ami or "", old_status.desired, pool=pool)
    new = GroupSpec(args.cluster, new_color, "", desired, pool=pool)
    report = preflight(conn, old, new, RolloutSettings())
    # Both gates of the new color, read once, when it has instances: every failing gate is listed.
    from bluegreen.engine.gates import plan_gates

    new_status = next(c for c in current.colors if c.color == new_color)
    gates = plan_gates(conn, GroupSpec(args.cluster, new_color, new_status.ami or "", new_status.desired, pool=pool),
                       like_group=old.group_name) if new_status.exists else None
    gate_failures = gates.failures() if gates is not None else []
    ok = report.ok and not gate_failures
    gate_json = {"checked": gates is not None, "passed": gates is not None and gates.passed,
                 "failures": gate_failures}
    data = {"from": old_color, "to": new_color, **report.to_dict(), "ok": ok, "gates": gate_json}
    if pool is not None:
        data = {"pool": pool, "from_group": old.group_name, "to_group": new.group_name, **data}
    lines = [f"{label}plan: {old_color} -> {new_color} ({desired} node(s)); "
             f"{len(report.old_nodes)} old node(s), {report.pods_to_move} pod(s) to move\n"]
    lines += [f"  {move.workload}: {len(move.pods)} pod(s), "
              + (move.budget if move.workload in report.surge else f"budget {move.budget}") + "\n"
              for move in report.moves]
    lines += [f"  stays: {line}\n" for line in report.staying]
    lines += [f"  warning: {line}\n" for line in report.warnings]
    if gates is None:
        lines.append(f"  gates: {new_color} has no instances yet; they are checked after its scale-up\n")
    elif gates.passed:
        lines.append(f"  gates: {new_color} nodes Ready and healthy behind every load balancer\n")
    lines += [f"  BLOCKER: {line}\n" for line in list(report.blockers) + gate_failures]
    count = len(report.blockers) + len(gate_failures)
    lines.append(f"{label}ready to cut over\n" if ok else f"{label}{count} blocker(s): fix them first\n")
    return {"json": data, "lines": lines}
