"""Automatic rollback: a health signal failed while the old color's nodes are still there, so the workloads go
back onto them, node by node, with the same budgets, implicit budgets and health gate as any drain.

The rollback is the drain itself in the other direction: the old nodes are uncordoned, then a drain run whose "old"
color is the new one cordons the new nodes, evicts their pods onto the old nodes and verifies the result. Then the
run stops with ``RolledBack`` (what failed, that the old color serves again, how to make it permanent or retry).
The new group stays cordoned at its size for inspection; the next ``pulumi up`` with the old AMI parks it. A
rollback that cannot proceed (a budget blocks, say) stops under the same stop invariant as any drain
(``stop.py``) and raises ``RollbackFailed``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn

from bluegreen.engine import groups
from bluegreen.engine.cordons import to_reclaim, uncordon
from bluegreen.engine.errors import RollbackFailed, RolledBack, SignalFailed
from bluegreen.engine.nodes import node_from_json
from bluegreen.engine.progress import NodesUncordoned, RollbackFinished, RollbackStarted


def failure_summary(failed: SignalFailed) -> str:
    """One line: what failed, for the progress line and the notification."""
    return "; ".join(f.describe().splitlines()[0] for f in failed.failures) + f" ({failed.when})"


def roll_back(run, failed: SignalFailed, drain_back: Callable) -> NoReturn:
    """Move the workloads of ``run`` (a ``drain.DrainRun``) back onto its old color, then raise ``RolledBack``;
    ``drain_back`` is the drain of a run (``drain.drain_old_nodes``). Raises ``RollbackFailed`` when the way back
    stops (the stop invariant applied by that drain)."""
    reporter, clock = run.reporter, run.clock
    start = clock.now()
    reporter.emit(RollbackStarted(run.old.group_name, run.new.group_name, failure_summary(failed)))
    back = run.reversed()
    try:
        nodes = to_reclaim([node_from_json(n) for n in run.kube.nodes_of_color(run.old.color, run.old.pool)])
        names = uncordon(run.kube, nodes)
        if names:
            reporter.emit(NodesUncordoned(run.old.color, tuple(names), "rollback: the old color serves again"))
        state = drain_back(back)
    except Exception as exc:
        raise RollbackFailed(failed.failures, failed.when, run.old.group_name, exc) from exc
    reporter.emit(RollbackFinished(run.old.group_name, len(state.evicted), clock.now() - start))
    raise RolledBack(failed.failures, failed.when, run.old.group_name, run.new.group_name,
                     run.old.ami or old_ami(run.conn, run.old.group_name)) from failed


def old_ami(conn, group_name: str) -> str:
    """The AMI of the old group's launch template, for the message's `pulumi config set activeAmi`; "" when it
    cannot be read (the message then says so in words)."""
    try:
        group = groups.describe_group(conn.autoscaling, conn.ec2, group_name, with_amis=False)
        if group.launch_template:
            return groups.launch_template_ami(conn.ec2, group.launch_template, group.launch_template_version) or ""
    except Exception:  # noqa: BLE001 - only the advice's AMI is at stake, never the rollback
        return ""
    return ""
