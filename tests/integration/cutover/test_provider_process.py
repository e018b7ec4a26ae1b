"""The steps through Pulumi's real dynamic-provider process, over gRPC on loopback.

``python -m pulumi.dynamic`` is the process the Pulumi engine starts for dynamic
resources: it prints its port, then answers Check/Diff/Create/Update with the provider
it unpickles from each request's ``__provider`` property. Here the test plays the
engine: it serializes the provider exactly as ``pulumi.dynamic.Resource`` does,
marshals the properties with the SDK's own serializer (numbers come back as floats),
and reads the answers. The provider runs on the engine's SystemClock, as in production;
the cluster is the sandbox (the test-only route).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import grpc
import pytest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from bluegreen.infra.cutover_inputs import CutoverInputs
from bluegreen.infra.cutover_steps import DrainProvider, NodesReadyProvider, _StepProvider
from bluegreen.rehearsal import program_step
from bluegreen.sandbox.scenario import load_scenario
from bluegreen.sandbox.world import Sandbox
from tests.integration.cutover.test_providers_sandbox import connection, cordoned, nodes_of

ROOT = Path(__file__).resolve().parents[3]
URN = "urn:pulumi:prod::eks-bluegreen::eks-bluegreen:infra:Cutover$pulumi-python:dynamic/bluegreen:{}::{}"


class ProviderProcess:
    """``python -m pulumi.dynamic`` on 127.0.0.1, its stderr collected (that is where progress lines go)."""

    def __init__(self) -> None:
        env = dict(os.environ, PULUMI_PROJECT="eks-bluegreen", AWS_ACCESS_KEY_ID="testing",
                   AWS_SECRET_ACCESS_KEY="testing")
        # As the Pulumi engine starts it: in the project directory, which `-m` puts on sys.path, so the
        # pickled provider's class (bluegreen.infra.cutover_steps.*) is importable without PYTHONPATH.
        env.pop("PYTHONPATH", None)
        env.pop("AWS_PROFILE", None)
        env.pop("AWS_SESSION_TOKEN", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pulumi.dynamic"], cwd=ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        port = self.process.stdout.readline().strip()
        assert port.isdigit(), f"no port from the provider process: {port!r} {self.process.stderr.read()}"
        self.stderr: list[str] = []
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.stub = provider_pb2_grpc.ResourceProviderStub(self.channel)

    def _read_stderr(self) -> None:
        for line in self.process.stderr:
            self.stderr.append(line)

    def stderr_until(self, text: str, timeout_s: float = 10.0) -> str:
        """Everything read from stderr so far, once ``text`` appeared (the reader thread may lag the call)."""
        deadline = time.monotonic() + timeout_s
        while text not in "".join(self.stderr) and time.monotonic() < deadline:
            time.sleep(0.05)
        return "".join(self.stderr)

    def stop(self) -> None:
        self.channel.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def provider_process() -> Iterator[ProviderProcess]:
    process = ProviderProcess()
    try:
        yield process
    finally:
        process.stop()


def marshal(props: dict[str, Any]):
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(props, {}))
    finally:
        loop.close()


def unmarshal(struct) -> dict[str, Any]:
    return rpc.deserialize_properties(struct)


def bag(provider: _StepProvider, inputs: CutoverInputs) -> dict[str, Any]:
    return {**inputs.to_props(), "__provider": serialize_provider(provider)}


def inputs(**changes: Any) -> CutoverInputs:
    values: dict[str, Any] = dict(cluster_name="prod", region="eu-west-1", new_color="green",
                                  new_ami="ami-0bbbbbbbbbbbbbbbb", desired=3, old_color_serving=False)
    values.update(changes)
    return CutoverInputs(**values)


def test_check_diff_and_a_first_deploy_drain_through_the_provider_process(provider_process) -> None:
    stub = provider_process.stub
    urn = URN.format("Drain", "cutover-drain-blue")
    news = bag(DrainProvider(), inputs())

    checked = stub.Check(provider_pb2.CheckRequest(urn=urn, olds=marshal({}), news=marshal(news)))
    assert list(checked.failures) == []
    bad = stub.Check(provider_pb2.CheckRequest(urn=urn, olds=marshal({}),
                                               news=marshal({**news, "new_color": "purple"})))
    assert [f.property for f in bad.failures] == ["new_color"]

    created = stub.Create(provider_pb2.CreateRequest(urn=urn, properties=marshal(news)))
    assert created.id == "prod/drain/blue"
    state = unmarshal(created.properties)
    assert state["status"] == "nothing-to-drain" and state["desired"] == 3

    # The next `pulumi up`: olds are the recorded state (inputs echoed, numbers now floats).
    same = stub.Diff(provider_pb2.DiffRequest(id=created.id, urn=urn, olds=created.properties, news=marshal(news)))
    assert same.changes == provider_pb2.DiffResponse.DIFF_NONE
    newer = bag(DrainProvider(), inputs(new_ami="ami-0cccccccccccccccc"))
    changed = stub.Diff(provider_pb2.DiffRequest(id=created.id, urn=urn, olds=created.properties,
                                                 news=marshal(newer)))
    assert changed.changes == provider_pb2.DiffResponse.DIFF_SOME and list(changed.replaces) == []


def test_gates_on_the_system_clock_and_a_failure_that_is_not_committed(provider_process) -> None:
    scenario = load_scenario("node-never-ready")
    with Sandbox.start(scenario, speed=40.0) as sandbox:
        program_step(connection(sandbox), sandbox.cluster_name, sandbox.new_color, scenario.ami.to,
                     scenario.nodes_per_color)
        step = CutoverInputs(
            cluster_name=sandbox.cluster_name, region=sandbox.region, new_color=sandbox.new_color,
            new_ami=scenario.ami.to, desired=scenario.nodes_per_color, old_color_serving=True,
            target_group_arns=tuple(sandbox.target_group_arns), classic_elb_names=tuple(sandbox.classic_elb_names),
            # Real seconds here: the provider process runs on SystemClock.
            settings=scenario.rollout_settings().with_overrides(node_ready_timeout_s=4.0, poll_interval_s=0.2),
            aws_endpoint_url=sandbox.aws_endpoint, kubeconfig_path=sandbox.kubeconfig_path,
        )
        urn = URN.format("NodesReady", "cutover-nodes-ready-green")
        with pytest.raises(grpc.RpcError) as failed:
            provider_process.stub.Create(provider_pb2.CreateRequest(
                urn=urn, properties=marshal(bag(NodesReadyProvider(), step))))
        # The engine gets an error and no id, so it records nothing and runs nothing that depends on the step.
        assert failed.value.code() == grpc.StatusCode.UNKNOWN
        details = failed.value.details()
        assert "StepFailed: nodes-ready (green on ami-0bbbbbbbbbbbbbbbb, cluster sandbox) failed" in details
        assert "NotReady" in details and "`pulumi up` runs it again" in details
        # Said once: the engine's traceback is not chained into the error the operator reads.
        assert details.count("nodes of sandbox-workers-green not ready") == 1
        assert cordoned(nodes_of(sandbox, "blue")) == []

        for node in nodes_of(sandbox, "green"):
            sandbox.cluster.set_node_ready(node["metadata"]["name"], True)
        # The retry, with a patient timeout so a busy machine cannot make it flaky (settings never decide
        # whether a step runs, only how long it may wait).
        patient = replace(step, settings=step.settings.with_overrides(node_ready_timeout_s=60.0))
        created = provider_process.stub.Create(provider_pb2.CreateRequest(
            urn=urn, properties=marshal(bag(NodesReadyProvider(), patient))))
        state = unmarshal(created.properties)
        assert state["status"] == "passed" and len(state["report"]["nodes"]) == 3
        # Progress lines went to the provider process's stderr as the gate waited.
        lines = provider_process.stderr_until("passed (3 instance(s)")
        assert "nodes-ready green [" in lines and "waiting:" in lines and "passed (3 instance(s)" in lines
