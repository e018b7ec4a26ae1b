"""The rehearsal's crash injection fires once, at the first matching event."""

from __future__ import annotations

import io

import pytest

from bluegreen.cli import UsageError, build_parser, main
from bluegreen.engine.progress import GatePassed, NodeDrained, NodesCordoned, PodEvicted
from bluegreen.rehearsal import CrashInjector, SimulatedCrash


@pytest.mark.parametrize(
    "point,event",
    [
        ("after_gates", GatePassed("load-balancers", "g", 3, 1.0)),
        ("after_cordon", NodesCordoned(3)),
        ("mid_node", PodEvicted("default/web-1", "n1", "Deployment default/web")),
        ("after_first_node", NodeDrained("n1", 1, 3, 4, 10.0)),
    ],
)
def test_crash_fires_once_at_its_event(point, event):
    crash = CrashInjector(point)
    crash.emit(GatePassed("nodes-ready", "g", 3, 1.0))  # never a crash point
    with pytest.raises(SimulatedCrash) as info:
        crash.emit(event)
    assert info.value.point == point and not isinstance(info.value, Exception)
    crash.emit(event)  # the second attempt runs through


def test_after_scale_up_is_checked_explicitly_and_unknown_points_are_refused():
    crash = CrashInjector("after_scale_up")
    crash.emit(NodesCordoned(3))
    with pytest.raises(SimulatedCrash):
        crash.check("after_scale_up")
    crash.check("after_scale_up")
    CrashInjector(None).emit(NodesCordoned(1))
    with pytest.raises(ValueError, match="unknown crash point 'later'"):
        CrashInjector("later")


def test_cli_parses_read_only_commands():
    args = build_parser().parse_args(["plan", "--cluster", "c", "--region", "eu-west-1", "--to", "green", "--json"])
    assert (args.command, args.cluster, args.to, args.json) == ("plan", "c", "green", True)
    args = build_parser().parse_args(["rehearse", "--scenario", "pdb-blocks"])
    assert args.scenario == "pdb-blocks" and not args.json
    with pytest.raises(UsageError, match="--scenario: expected one argument"):
        build_parser().parse_args(["rehearse", "--scenario"])
    # --cluster and --region are required unless --stack gives them (one line, exit code 2).
    err = io.StringIO()
    assert main(["status"], out=io.StringIO(), err=err) == 2
    assert err.getvalue() == "error: status: --cluster is required (or --stack with a stack file that sets it)\n"
