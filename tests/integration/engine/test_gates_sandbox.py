"""Both gates failing at once, against the sandbox: the drain's re-check and the read-only plan name both."""

from __future__ import annotations

import io
import json

import pytest
import yaml

from bluegreen.cli import main as cli_main
from bluegreen.engine.api import ClusterTarget, GroupSpec, connect, drain
from bluegreen.engine.connection import local_session
from bluegreen.engine.gates import GatesTimeout
from bluegreen.engine.progress import CollectingReporter, NodeCordoned, PodEvicted
from bluegreen.rehearsal import program_step
from bluegreen.sandbox.scenario import BUILTIN_DIR, parse_scenario
from bluegreen.sandbox.world import Sandbox


@pytest.fixture(scope="module")
def box():
    document = yaml.safe_load((BUILTIN_DIR / "node-never-ready.yaml").read_text())
    document["name"] = "both-gates-fail"
    document["faults"] = [{"kind": "node_never_ready", "count": 1}, {"kind": "target_unhealthy", "count": 1}]
    sandbox = Sandbox.start(parse_scenario(document), speed=40.0)
    conn = connect(ClusterTarget(sandbox.cluster_name, sandbox.region, sandbox.aws_endpoint,
                                 sandbox.kubeconfig_path), session=local_session(sandbox.region))
    s = sandbox.scenario
    program_step(conn, sandbox.cluster_name, sandbox.new_color, s.ami.to, s.nodes_per_color)
    while len(conn.kube.nodes_of_color(sandbox.new_color)) < s.nodes_per_color:
        sandbox.clock.sleep(1.0)
    sandbox.clock.sleep(30.0)  # past the targets' healthy_after_seconds: what can be healthy is
    yield sandbox, conn
    sandbox.stop()


def test_the_drain_recheck_reports_both_failing_gates_and_evicts_nothing(box):
    sandbox, conn = box
    s = sandbox.scenario
    old = GroupSpec(sandbox.cluster_name, sandbox.old_color, s.ami.from_, s.nodes_per_color)
    new = GroupSpec(sandbox.cluster_name, sandbox.new_color, s.ami.to, s.nodes_per_color)
    settings = s.rollout_settings().with_overrides(node_ready_timeout_s=20.0, lb_healthy_timeout_s=20.0)
    reporter = CollectingReporter()
    with pytest.raises(GatesTimeout) as caught:
        drain(conn, old, new, settings, reporter, sandbox.clock)
    text = str(caught.value)
    assert text.startswith(f"both gates of {new.group_name} failing after")
    assert "nodes-ready: instance i-" in text and "NotReady" in text
    assert "load-balancers: instance i-" in text and "unhealthy" in text
    assert "the old color still serves" in text
    assert caught.value.readiness_gaps and caught.value.lb_gaps
    assert not reporter.of(PodEvicted) and not reporter.of(NodeCordoned)


def test_plan_lists_every_failing_gate(box):
    sandbox, _ = box
    flags = ["--cluster", sandbox.cluster_name, "--region", sandbox.region, "--aws-endpoint-url",
             sandbox.aws_endpoint, "--kubeconfig", sandbox.kubeconfig_path, "--to", sandbox.new_color]
    out = io.StringIO()
    assert cli_main(["plan", *flags], out=out) == 1
    text = out.getvalue()
    assert "BLOCKER: gate nodes-ready: instance i-" in text and "BLOCKER: gate load-balancers: instance i-" in text
    out = io.StringIO()
    assert cli_main(["plan", *flags, "--json"], out=out) == 1
    plan = json.loads(out.getvalue())
    assert plan["ok"] is False and plan["gates"]["checked"] and not plan["gates"]["passed"]
    gates = {line.split(":")[0] for line in plan["gates"]["failures"]}
    assert gates == {"gate nodes-ready", "gate load-balancers"}
