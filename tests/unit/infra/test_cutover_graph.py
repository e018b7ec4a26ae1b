"""The Cutover component under Pulumi mocks: resources, names, order and dependencies for each direction.

These tests build the component between two stand-in Auto Scaling groups the way
the stack does (new group -> steps -> old group's scale-down) and record every
register request through a MockMonitor subclass.
"""

from __future__ import annotations

import base64
from typing import Any

import dill
import pulumi
import pytest

from bluegreen.engine.settings import RolloutSettings
from bluegreen.infra.cutover import COMPONENT_TYPE, Cutover, cutover_inputs, cutover_plan
from bluegreen.infra.cutover_inputs import CutoverInputs
from bluegreen.infra.cutover_steps import DrainProvider, LoadBalancersHealthyProvider, NodesReadyProvider
from tests.unit.infra.harness import RecordingMonitor, Registration

STEP_TYPES = {
    "pulumi-python:dynamic/bluegreen:NodesReady": "nodes-ready",
    "pulumi-python:dynamic/bluegreen:LoadBalancersHealthy": "load-balancers-healthy",
    "pulumi-python:dynamic/bluegreen:Drain": "drain",
}
ASG_TYPE = "aws:autoscaling/group:Group"


class Recorder(RecordingMonitor):
    """The program harness's recording monitor, looked up by resource name."""

    def by_name(self, name: str) -> Registration:
        found = [r for r in self.registrations if r.name == name]
        assert len(found) == 1, f"{name}: {[r.name for r in self.registrations]}"
        return found[0]


class StepMocks(pulumi.runtime.Mocks):
    """Dynamic steps answer with what a successful run records; everything else echoes its inputs."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        state = dict(args.inputs)
        if args.typ in STEP_TYPES:
            state.update(
                status="passed",
                summary=f"{STEP_TYPES[args.typ]} ok",
                duration_s=1.0,
                finished_at="2026-11-26T00:00:00Z",
                report={"step": STEP_TYPES[args.typ]},
            )
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


def _inputs(new_color: str = "green", old_serving: bool = True, **kw: Any) -> CutoverInputs:
    values: dict[str, Any] = dict(
        cluster_name="prod",
        region="eu-west-1",
        new_color=new_color,
        new_ami="ami-0123456789abcdef0",
        desired=5,
        old_color_serving=old_serving,
        target_group_arns=("arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef",),
        classic_elb_names=("legacy",),
    )
    values.update(kw)
    return CutoverInputs(**values)


def run_stack(inputs: CutoverInputs, *, preview: bool = False) -> tuple[Recorder, dict[str, Any]]:
    """Declare new ASG -> Cutover -> old ASG (scale-down) as the stack does; return the registrations and outputs."""
    mocks = StepMocks()
    recorder = Recorder(mocks)
    pulumi.runtime.set_mocks(mocks, project="eks-bluegreen", stack="test", preview=preview, monitor=recorder)
    seen: dict[str, Any] = {}

    @pulumi.runtime.test
    def program():
        new_asg = pulumi.CustomResource(ASG_TYPE, f"workers-{inputs.new_color}", {"desiredCapacity": inputs.desired})
        cutover = Cutover("cutover", inputs, after=[new_asg], reason="test")
        pulumi.CustomResource(
            ASG_TYPE,
            f"workers-{inputs.old_color}",
            {"desiredCapacity": 0},
            pulumi.ResourceOptions(depends_on=[cutover.done]),
        )
        seen["plan"] = cutover.plan
        seen["active"] = cutover.active_color
        seen["drained"] = cutover.drained_color
        return cutover.story.apply(lambda story: seen.__setitem__("story", story))

    program()
    return recorder, seen


@pytest.mark.parametrize("new,old", [("green", "blue"), ("blue", "green")])
def test_graph_runs_new_group_then_gates_then_drain_then_old_scale_down(new: str, old: str) -> None:
    recorder, seen = run_stack(_inputs(new_color=new))
    new_asg = recorder.by_name(f"workers-{new}")
    ready = recorder.by_name(f"cutover-nodes-ready-{new}")
    healthy = recorder.by_name(f"cutover-load-balancers-healthy-{new}")
    drain = recorder.by_name(f"cutover-drain-{old}")
    old_asg = recorder.by_name(f"workers-{old}")
    component = recorder.by_name("cutover")

    assert component.type == COMPONENT_TYPE
    assert [STEP_TYPES[r.type] for r in (ready, healthy, drain)] == ["nodes-ready", "load-balancers-healthy", "drain"]
    assert {r.parent for r in (ready, healthy, drain)} == {component.urn}
    # The chain, edge by edge; each step depends on exactly its predecessor.
    assert ready.dependencies == [new_asg.urn]
    assert healthy.dependencies == [ready.urn]
    assert drain.dependencies == [healthy.urn]
    assert old_asg.dependencies == [drain.urn]
    # No cycle: the new group depends on nothing of the cutover or the old group.
    assert new_asg.dependencies == []
    # Registration order follows the graph.
    order = [r.name for r in recorder.registrations]
    assert order.index(new_asg.name) < order.index(ready.name) < order.index(healthy.name) < order.index(drain.name)

    assert seen["active"] == new and seen["drained"] == old
    assert seen["plan"]["active"] == new and seen["plan"]["drain"] == old
    assert f"from {old} to {new}" in seen["plan"]["action"]
    assert seen["story"]["drain"]["status"] == "passed"


def test_first_deploy_declares_the_steps_but_nothing_to_drain() -> None:
    recorder, seen = run_stack(_inputs(new_color="blue", old_serving=False))
    drain = recorder.by_name("cutover-drain-green")
    assert drain.inputs["old_color_serving"] is False
    assert recorder.by_name("workers-green").dependencies == [drain.urn]
    # The gates still exist: they wait for the first nodes.
    assert recorder.by_name("cutover-nodes-ready-blue").dependencies == [recorder.by_name("workers-blue").urn]
    assert seen["drained"] is None
    assert seen["plan"]["drain"] is None and "nothing to drain" in seen["plan"]["action"]


def test_step_inputs_are_plain_values_known_in_preview_without_credentials() -> None:
    recorder, _ = run_stack(_inputs(), preview=True)
    for reg in recorder.registrations:
        if reg.type not in STEP_TYPES:
            continue
        props = {k: v for k, v in reg.inputs.items() if k != "__provider"}
        assert CutoverInputs.from_props(props) == _inputs()
        text = repr(props).lower()
        for word in ("token", "secret", "password", "certificate-authority", "client-key"):
            assert word not in text, (reg.name, word)
        # The provider travels pickled (kept secret by the SDK's default): a class reference and an empty
        # clock slot, nothing else.
        pickled = reg.inputs["__provider"]
        assert pickled[pulumi.runtime.rpc._special_sig_key] == pulumi.runtime.rpc._special_secret_sig
        provider = dill.loads(base64.b64decode(pickled["value"]))
        assert isinstance(provider, NodesReadyProvider | LoadBalancersHealthyProvider | DrainProvider)
        assert vars(provider) == {"_clock": None}


def test_cutover_inputs_come_from_config_and_color_plan() -> None:
    from bluegreen.infra.colors import GroupState, LiveState, select_colors
    from bluegreen.infra.config import parse_config

    config = parse_config(
        {
            "activeAmi": "ami-0aaaaaaaaaaaaaaaa",
            "cluster": {"name": "prod"},
            "workers": {"desiredCapacity": 5, "minSize": 5, "maxSize": 8},
            "rollout": {"maxParallelNodes": 2},
        }
    )
    live = LiveState(blue=GroupState(exists=True, desired_capacity=5, ami="ami-0bbbbbbbbbbbbbbbb"))
    plan = select_colors(live, config.active_ami)
    inputs = cutover_inputs(config, plan, "eu-west-1")
    assert (inputs.new_color, inputs.old_color, inputs.old_color_serving) == ("green", "blue", True)
    assert inputs.settings == RolloutSettings(max_parallel_nodes=2)
    assert inputs.aws_endpoint_url is None and inputs.kubeconfig_path is None
    assert cutover_plan(inputs, plan.reason)["reason"] == plan.reason

    steady = LiveState(
        green=GroupState(exists=True, desired_capacity=5, ami="ami-0aaaaaaaaaaaaaaaa"),
        blue=GroupState(exists=True, desired_capacity=0, ami="ami-0bbbbbbbbbbbbbbbb"),
    )
    again = cutover_inputs(config, select_colors(steady, config.active_ami), "eu-west-1")
    assert (again.new_color, again.old_color_serving) == ("green", False)
