"""The three step providers, constructed directly and driven with plain dicts against the sandbox.

This is what the Pulumi engine does with them during `pulumi up` (check, diff, create or
update, with the property bags it stores), minus the gRPC: moto plays AWS, the fake API
plays the cluster. The step inputs carry the sandbox's ``aws_endpoint_url`` and
``kubeconfig_path``: the test-only route (docs/operations.md, section 9); the providers
share the sandbox's simulated clock so the engine's timeouts run on the same time scale.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from bluegreen.engine import api
from bluegreen.engine.connection import local_session
from bluegreen.engine.naming import COLOR_LABEL
from bluegreen.infra.cutover_inputs import CutoverInputs
from bluegreen.infra.cutover_steps import (
    DrainProvider,
    LoadBalancersHealthyProvider,
    NodesReadyProvider,
    StepFailed,
)
from bluegreen.rehearsal import program_step
from bluegreen.sandbox.scenario import load_scenario
from bluegreen.sandbox.world import Sandbox

SPEED = 40.0  # simulated seconds per real second


@pytest.fixture(autouse=True)
def dummy_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    # Loopback only: the sandbox's moto does not check signatures, and nothing real must be reachable.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@contextmanager
def sandbox_of(name: str) -> Iterator[Sandbox]:
    sandbox = Sandbox.start(load_scenario(name), speed=SPEED)
    try:
        yield sandbox
        assert sandbox.errors == []
    finally:
        sandbox.stop()


def inputs_for(sandbox: Sandbox, *, old_color_serving: bool = True, **settings: Any) -> dict[str, Any]:
    scenario = sandbox.scenario
    return CutoverInputs(
        cluster_name=sandbox.cluster_name,
        region=sandbox.region,
        new_color=sandbox.new_color,
        new_ami=scenario.ami.to,
        desired=scenario.nodes_per_color,
        old_color_serving=old_color_serving,
        target_group_arns=tuple(sandbox.target_group_arns),
        classic_elb_names=tuple(sandbox.classic_elb_names),
        settings=scenario.rollout_settings().with_overrides(**settings),
        aws_endpoint_url=sandbox.aws_endpoint,
        kubeconfig_path=sandbox.kubeconfig_path,
    ).to_props()


def connection(sandbox: Sandbox) -> api.Connection:
    target = api.ClusterTarget(sandbox.cluster_name, sandbox.region, sandbox.aws_endpoint, sandbox.kubeconfig_path)
    return api.connect(target, session=local_session(sandbox.region))


def scale_new_color(sandbox: Sandbox) -> None:
    """What `pulumi up` does before the steps: the new color's launch template on the new AMI, group at size."""
    scenario = sandbox.scenario
    program_step(connection(sandbox), sandbox.cluster_name, sandbox.new_color, scenario.ami.to,
                 scenario.nodes_per_color)


def nodes_of(sandbox: Sandbox, color: str) -> list[dict]:
    return connection(sandbox).kube.list_nodes(f"{COLOR_LABEL}={color}")


def cordoned(nodes: list[dict]) -> list[str]:
    return [n["metadata"]["name"] for n in nodes if n.get("spec", {}).get("unschedulable")]


def test_clean_cutover_create_then_steady_state_no_op(capsys) -> None:
    with sandbox_of("small") as sandbox:
        scale_new_color(sandbox)
        props = inputs_for(sandbox)
        providers = [NodesReadyProvider(sandbox.clock), LoadBalancersHealthyProvider(sandbox.clock),
                     DrainProvider(sandbox.clock)]
        for provider in providers:
            assert provider.check({}, props).failures == []

        ready = providers[0].create(props)
        assert ready.id == "sandbox/nodes-ready/green"
        assert ready.outs["status"] == "passed" and len(ready.outs["report"]["nodes"]) == 3
        healthy = providers[1].create(props)
        assert healthy.outs["status"] == "passed"
        assert sorted(healthy.outs["report"]["instances"]) == sorted(ready.outs["report"]["instances"])
        drained = providers[2].create(props)
        assert drained.id == "sandbox/drain/blue" and drained.outs["status"] == "drained"
        report = drained.outs["report"]
        assert len(report["nodes_drained"]) == 3 and report["pods_forced"] == []
        assert report["pods_evicted"] == len(report["evicted_pods"]) == sandbox.measurements()["pods_evicted"] > 0
        assert drained.outs["summary"].startswith(f"drained 3 blue node(s) onto green, {report['pods_evicted']} pod")
        assert sorted(cordoned(nodes_of(sandbox, "blue"))) == sorted(report["nodes_drained"])

        measured = sandbox.measurements()
        assert measured["pods_lost"] == [] and measured["budget_violations"] == [], measured
        assert measured["pod_moves_per_evicted_pod"] == 1.0

        # Progress streamed to stderr while the steps ran, one line per event, prefixed with the step.
        err = capsys.readouterr().err
        assert "nodes-ready green [" in err and "load-balancers-healthy green [" in err
        assert "drain blue [" in err and "cordoned all 3 old node(s)" in err

        # The recorded outputs hold no credentials and no kubeconfig contents.
        kubeconfig = open(sandbox.kubeconfig_path).read()
        for outs in (ready.outs, healthy.outs, drained.outs):
            text = repr(outs)
            assert "testing" not in text and "token" not in text.lower()
            assert "certificate-authority-data" not in text and kubeconfig not in text

        # The old color scales to zero; the next `pulumi up` with the same config records old_color_serving
        # false: every diff says no changes, so nothing runs again.
        api.scale_group(connection(sandbox), sandbox.group_name("blue"), desired=0, min_size=0)
        steady = inputs_for(sandbox, old_color_serving=False)
        for provider, recorded in zip(providers, (ready.outs, healthy.outs, drained.outs), strict=True):
            assert provider.diff("id", recorded, steady).changes is False


def test_drain_update_rerun_recognises_finished_nodes() -> None:
    with sandbox_of("small") as sandbox:
        scale_new_color(sandbox)
        props = inputs_for(sandbox)
        first = DrainProvider(sandbox.clock).create(props)
        evicted = sandbox.measurements()["pods_evicted"]
        # Re-run before the scale-down (what `pulumi up` does if the old group's scale-down failed): the gates
        # pass at once, every node is recognised as drained, nothing is evicted twice.
        again = DrainProvider(sandbox.clock).update(first.id, first.outs, props)
        assert again.outs["status"] == "drained"
        assert again.outs["report"]["nodes_drained"] == []
        assert sorted(again.outs["report"]["nodes_already_drained"]) == sorted(first.outs["report"]["nodes_drained"])
        assert sandbox.measurements()["pods_evicted"] == evicted


def test_first_deploy_drain_records_nothing_to_drain_without_calls() -> None:
    with sandbox_of("small") as sandbox:
        before = sandbox.measurements()["api_requests"]
        result = DrainProvider(sandbox.clock).create(inputs_for(sandbox, old_color_serving=False))
        assert result.outs["status"] == "nothing-to-drain"
        assert sandbox.measurements()["api_requests"] == before
        assert cordoned(nodes_of(sandbox, "blue")) == []


def test_failed_readiness_gate_is_not_committed_and_the_retry_passes_once_fixed() -> None:
    with sandbox_of("node-never-ready") as sandbox:
        scale_new_color(sandbox)
        props = inputs_for(sandbox)
        with pytest.raises(StepFailed) as failed:
            NodesReadyProvider(sandbox.clock).create(props)
        message = str(failed.value)
        assert message.startswith("nodes-ready (green on ami-0bbbbbbbbbbbbbbbb, cluster sandbox) failed: nodes of")
        assert "NotReady" in message and "not recorded" in message
        # The drain re-checks the gates itself, so even run out of order it moves nothing.
        with pytest.raises(StepFailed, match="not ready"):
            DrainProvider(sandbox.clock).create(props)
        assert cordoned(nodes_of(sandbox, "blue")) == []
        assert sandbox.measurements()["pods_evicted"] == 0

        # The operator fixes the node; the next `pulumi up` creates the step again, and it passes.
        for node in nodes_of(sandbox, "green"):
            sandbox.cluster.set_node_ready(node["metadata"]["name"], True)
        # (Patient this time, so a busy machine cannot fail the retry; settings never decide whether a step runs.)
        retried = NodesReadyProvider(sandbox.clock).create(inputs_for(sandbox, node_ready_timeout_s=900.0))
        assert retried.outs["status"] == "passed" and len(retried.outs["report"]["nodes"]) == 3


def test_failed_load_balancer_gate_stops_before_any_eviction() -> None:
    with sandbox_of("target-unhealthy") as sandbox:
        scale_new_color(sandbox)
        props = inputs_for(sandbox)
        assert NodesReadyProvider(sandbox.clock).create(props).outs["status"] == "passed"
        with pytest.raises(StepFailed) as failed:
            LoadBalancersHealthyProvider(sandbox.clock).create(props)
        assert "not healthy behind its load balancers" in str(failed.value)
        assert "no drain, no scale-down" in str(failed.value)
        assert cordoned(nodes_of(sandbox, "blue")) == [] and sandbox.measurements()["pods_evicted"] == 0


def test_blocked_drain_fails_naming_the_budget_and_resumes_after_the_fix() -> None:
    with sandbox_of("pdb-blocks") as sandbox:
        scale_new_color(sandbox)
        props = inputs_for(sandbox)
        with pytest.raises(StepFailed) as failed:
            DrainProvider(sandbox.clock).create(props)
        message = str(failed.value)
        assert "ledger" in message and "the old color was not scaled down" in message
        measured = sandbox.measurements()
        assert measured["pods_lost"] == [] and measured["budget_violations"] == []
        # The old nodes stay (cordoned, running); nothing was forced.
        assert len(nodes_of(sandbox, "blue")) == 3

        # Fix: loosen the budget; the next `pulumi up` runs the drain again and it completes.
        kube = connection(sandbox).kube
        pdb = next(p for p in kube.list_all("/apis/policy/v1", "poddisruptionbudgets")
                   if p["metadata"]["name"].startswith("ledger"))
        sandbox.cluster.patch("poddisruptionbudgets", pdb["metadata"]["namespace"], pdb["metadata"]["name"],
                              {"spec": {"minAvailable": 1}}, "application/merge-patch+json")
        done = DrainProvider(sandbox.clock).create(props)
        assert done.outs["status"] == "drained"
        finished = done.outs["report"]["nodes_drained"] + done.outs["report"]["nodes_already_drained"]
        assert len(finished) == 3
        measured = sandbox.measurements()
        assert measured["pods_lost"] == [] and measured["budget_violations"] == []
        assert measured["pod_moves_per_evicted_pod"] == 1.0
