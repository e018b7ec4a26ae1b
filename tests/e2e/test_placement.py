"""Placement blockers end to end: the builtin placement scenarios are stopped before any eviction with the
scheduler's reason, and `plan` (the command line, read-only) lists the same blockers once the new nodes joined."""

from __future__ import annotations

import io
import json
import re

import pytest

from bluegreen.cli import main as cli_main
from bluegreen.engine.api import ClusterTarget, connect
from bluegreen.engine.connection import local_session
from bluegreen.rehearsal import program_step, rehearse
from bluegreen.sandbox.scenario import load_scenario
from bluegreen.sandbox.world import Sandbox
from tests.e2e.test_rehearsals import SPEED, assert_old_color_serving

CASES = {
    "placement-fragmented": ("Deployment default/api", "0/3 nodes are available: 3 Insufficient cpu.", 1),
    "placement-selector": ("Deployment default/(web|search)",
                           "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.", 3),
    "placement-taint": ("Deployment default/web",
                        "0/3 nodes are available: 3 node(s) had untolerated taint {dedicated: new}.", 2),
    "placement-zone": ("StatefulSet default/db",
                       "0/3 nodes are available: 3 node(s) had volume node affinity conflict.", None),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_rehearsal_is_blocked_before_any_eviction_with_the_schedulers_reason(name):
    workload, message, count = CASES[name]
    report = rehearse(load_scenario(name), speed=SPEED)
    assert_old_color_serving(report, 3)
    assert report.nodes_drained == 0 and report.pods_evicted == 0
    assert "drain not started" in report.error
    lines = [line for line in report.error.splitlines() if "would fit on no new node" in line]
    zone = r"(?: \(volume \S+ of claim data-db-\d is in zone eu-west-1a\))?"
    pattern = re.compile(rf"pod default/\S+ \({workload}\) would fit on no new node: {re.escape(message)}{zone} Next: ")
    assert lines and all(pattern.search(line) for line in lines), lines
    if count is not None:
        assert len(lines) == count
    else:  # the db pods whose volumes are in zone a (the new color runs in zone b only)
        assert 1 <= len(lines) <= 2 and all("is in zone eu-west-1a" in line for line in lines)


def _joined(box: Sandbox) -> None:
    """What `pulumi up` does before the drain: the new color scaled up on the new AMI, its nodes joined."""
    conn = connect(ClusterTarget(box.cluster_name, box.region, box.aws_endpoint, box.kubeconfig_path),
                   session=local_session(box.region))
    s = box.scenario
    program_step(conn, box.cluster_name, box.new_color, s.ami.to, s.nodes_per_color)
    deadline = box.clock.now() + 600
    while len(conn.kube.nodes_of_color(box.new_color)) < s.nodes_per_color or any(
        p["status"].get("phase") != "Running" for p in conn.kube.list_pods(namespace="kube-system")
    ):
        assert box.clock.now() < deadline, "new nodes did not join"
        box.clock.sleep(1.0)


@pytest.mark.parametrize("name", sorted(CASES))
def test_cli_plan_lists_the_placement_blockers(name):
    workload, message, _ = CASES[name]
    box = Sandbox.start(load_scenario(name), speed=SPEED)
    try:
        _joined(box)
        flags = ["--cluster", box.cluster_name, "--region", box.region, "--aws-endpoint-url", box.aws_endpoint,
                 "--kubeconfig", box.kubeconfig_path, "--to", box.new_color]
        out = io.StringIO()
        assert cli_main(["plan", *flags], out=out) == 1
        text = out.getvalue()
        assert re.search(rf"BLOCKER: pod default/\S+ \({workload}\) would fit on no new node: {re.escape(message)}",
                         text), text
        out = io.StringIO()
        assert cli_main(["plan", *flags, "--json"], out=out) == 1
        plan = json.loads(out.getvalue())
        assert plan["ok"] is False and any(message in b for b in plan["blockers"])
        # read-only: nothing cordoned, nothing evicted
        with box.cluster.lock:
            assert not any(n["spec"].get("unschedulable") for n in box.cluster.list("nodes"))
            assert box.cluster.measurements.summary()["pods_evicted"] == 0
    finally:
        box.stop()
