"""The whole program (__main__.py) under Pulumi mocks: the cutover's graph per direction and per live state.

Runs the program the way Pulumi does (tests/unit/infra/harness.py) with a given stack
config (inline, and Pulumi.prod.yaml itself) and live AWS state, and checks the
cutover's place in the graph and its inputs.
"Unchanged config is a no-op" is checked the way the Pulumi engine decides it: the
inputs one run declares are diffed (``decide_run``) against the inputs the previous
run recorded.
"""

from __future__ import annotations

from typing import Any

import pytest

from bluegreen.infra.cutover_inputs import decide_run, has_unknowns
from tests.unit.infra import harness
from tests.unit.infra.harness import FakeAws, Run

OLD_AMI = "ami-0aaaaaaaaaaaaaaaa"
NEW_AMI = "ami-0bbbbbbbbbbbbbbbb"
STEP_TYPES = {
    "pulumi-python:dynamic/bluegreen:NodesReady": "nodes-ready",
    "pulumi-python:dynamic/bluegreen:LoadBalancersHealthy": "load-balancers-healthy",
    "pulumi-python:dynamic/bluegreen:Drain": "drain",
}
TG = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef"


def config(active_ami: str, **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "aws:region": "eu-west-1",
        "activeAmi": active_ami,
        "cluster": {"name": "prod"},
        "workers": {"desiredCapacity": 5, "minSize": 5, "maxSize": 8},
        "loadBalancers": {"targetGroupArns": [TG], "classicElbNames": ["legacy-web"]},
        "rollout": {"maxParallelNodes": 1, "evictionTimeoutSeconds": 120},
    }
    values.update(extra)
    return values


def run(cfg: dict[str, Any], aws: FakeAws, preview: bool = False) -> Run:
    result = harness.run_program(cfg, aws, preview=preview)
    assert result.error is None, result.error
    return result


def steps(result: Run) -> dict[str, harness.Registration]:
    return {STEP_TYPES[r.type]: r for r in result.resources if r.type in STEP_TYPES}


def step_props(reg: harness.Registration) -> dict[str, Any]:
    return {k: v for k, v in reg.inputs.items() if k != "__provider" and v is not None}


def assert_chain(result: Run, new: str, old: str) -> None:
    s = steps(result)
    assert s["nodes-ready"].name == f"cutover-nodes-ready-{new}"
    assert s["load-balancers-healthy"].name == f"cutover-load-balancers-healthy-{new}"
    assert s["drain"].name == f"cutover-drain-{old}"
    new_asg, old_asg = result.named(f"workers-{new}-asg"), result.named(f"workers-{old}-asg")
    assert new_asg.urn in s["nodes-ready"].dependencies
    assert s["load-balancers-healthy"].dependencies == [s["nodes-ready"].urn]
    assert s["drain"].dependencies == [s["load-balancers-healthy"].urn]
    assert s["drain"].urn in old_asg.dependencies
    # No cycle: nothing of the cutover or of the old group feeds the new group.
    cutover_urns = {r.urn for r in s.values()}
    assert not cutover_urns & set(new_asg.dependencies)
    assert old_asg.urn not in new_asg.dependencies


@pytest.mark.parametrize("serving,new", [("blue", "green"), ("green", "blue")])
def test_changed_ami_flips_colors_and_drains_the_old_one(serving: str, new: str) -> None:
    aws = FakeAws(clusters={"prod": "API"})
    aws.add_group("prod", serving, 5, OLD_AMI, active=True)
    aws.add_group("prod", new, 0, OLD_AMI)
    result = run(config(NEW_AMI), aws)
    assert_chain(result, new=new, old=serving)
    for reg in steps(result).values():
        props = step_props(reg)
        assert (props["new_color"], props["new_ami"], props["old_color"]) == (new, NEW_AMI, serving)
        assert props["old_color_serving"] is True and props["desired"] == 5
        assert props["target_group_arns"] == [TG] and props["classic_elb_names"] == ["legacy-web"]
        assert props["settings"]["eviction_timeout_s"] == 120.0
        assert props["region"] == "eu-west-1" and "kubeconfig_path" not in props
    assert result.outputs["cutover"]["drain"] == serving and result.outputs["cutover"]["to"] == new
    # What each step records is exported for `pulumi stack output cutoverSteps`.
    assert set(result.outputs["cutoverSteps"]) == {"nodes_ready", "load_balancers_healthy", "drain"}


def test_preview_shows_the_plan_with_every_step_input_known() -> None:
    aws = FakeAws(clusters={"prod": "API"})
    aws.add_group("prod", "blue", 5, OLD_AMI, active=True)
    result = run(config(NEW_AMI), aws, preview=True)
    assert_chain(result, new="green", old="blue")
    for reg in steps(result).values():
        # Known in preview: the step's diff is decided from plain values, not "unknown until apply".
        assert not has_unknowns(step_props(reg))
        assert decide_run(STEP_TYPES[reg.type], {}, step_props(reg)).reason.startswith("changed: ")


def test_first_deploy_waits_for_the_first_nodes_and_has_nothing_to_drain() -> None:
    result = run(config(OLD_AMI), FakeAws(clusters={"prod": "API"}))
    assert_chain(result, new="blue", old="green")
    assert all(step_props(r)["old_color_serving"] is False for r in steps(result).values())
    assert result.outputs["cutover"]["drain"] == "none"


def recorded(result: Run) -> dict[str, dict[str, Any]]:
    """What a successful run leaves in the state for each step: its inputs echoed in its outputs."""
    return {r.name: step_props(r) for r in steps(result).values()}


def reruns(before: Run, after: Run) -> dict[str, bool]:
    """For each step `after` declares: does the engine run it (a new name is a create; else the diff decides)?"""
    old = recorded(before)
    return {
        reg.name: (reg.name not in old) or decide_run(kind, old[reg.name], step_props(reg)).run
        for kind, reg in steps(after).items()
    }


def test_steady_state_after_first_deploy_and_after_a_cutover_is_a_no_op() -> None:
    first = run(config(OLD_AMI), FakeAws(clusters={"prod": "API"}))
    # What AWS looks like after the first deploy: blue serving, green parked.
    aws = FakeAws(clusters={"prod": "API"})
    aws.add_group("prod", "blue", 5, OLD_AMI, active=True)
    aws.add_group("prod", "green", 0, OLD_AMI)
    steady = run(config(OLD_AMI), aws)
    assert reruns(first, steady) == dict.fromkeys(recorded(steady), False)

    cutover = run(config(NEW_AMI), aws)
    assert reruns(steady, cutover) == dict.fromkeys(recorded(cutover), True)
    # After the cutover: green serving on the new AMI, blue parked on the old one.
    done = FakeAws(clusters={"prod": "API"})
    done.add_group("prod", "green", 5, NEW_AMI, active=True)
    done.add_group("prod", "blue", 0, OLD_AMI)
    after = run(config(NEW_AMI), done)
    assert reruns(cutover, after) == dict.fromkeys(recorded(after), False)


def test_interrupted_cutover_resumes_and_going_back_drains_the_new_color() -> None:
    aws = FakeAws(clusters={"prod": "API"})
    aws.add_group("prod", "blue", 5, OLD_AMI, active=True)
    aws.add_group("prod", "green", 0, OLD_AMI)
    steady = run(config(OLD_AMI), aws)
    cutover = run(config(NEW_AMI), aws)
    # The cutover failed in its drain: both colors serve.
    both = FakeAws(clusters={"prod": "API"})
    both.add_group("prod", "blue", 5, OLD_AMI)
    both.add_group("prod", "green", 5, NEW_AMI, active=True)

    resumed = run(config(NEW_AMI), both)
    assert_chain(resumed, new="green", old="blue")
    assert all(reruns(cutover, resumed).values())

    # Going back instead: blue's steps carry the very inputs the steady state recorded, except that green
    # serves now, so every step runs and green is drained before it scales to zero.
    back = run(config(OLD_AMI), both)
    assert_chain(back, new="blue", old="green")
    assert {k: v for k, v in recorded(back).items()} != recorded(steady)
    assert all(reruns(steady, back).values())
    assert back.outputs["cutover"]["drain"] == "green"


def test_pinned_color_on_first_deploy() -> None:
    result = run(config(OLD_AMI, activeColor="green"), FakeAws(clusters={"prod": "API"}))
    assert_chain(result, new="green", old="blue")


PROD = harness.ROOT / "Pulumi.prod.yaml"


def prod_config(**changes: Any) -> dict[str, Any]:
    cfg = harness.stack_file_config(PROD)
    cfg.update({f"{harness.PROJECT}:{k}": v for k, v in changes.items()})
    return cfg


def test_prod_stack_file_with_a_changed_ami_cuts_over_and_unchanged_does_no_cutover_work() -> None:
    cfg = prod_config()
    ami = cfg[f"{harness.PROJECT}:activeAmi"]
    desired = cfg[f"{harness.PROJECT}:workers"]["desiredCapacity"]
    for serving, new in (("blue", "green"), ("green", "blue")):
        aws = FakeAws(clusters={"prod": "API"})
        aws.add_group("prod", serving, desired, ami, active=True)
        aws.add_group("prod", new, 0, ami)
        unchanged = run(cfg, aws)
        assert_chain(unchanged, new=serving, old=new)
        again = run(cfg, aws)
        assert reruns(unchanged, again) == dict.fromkeys(recorded(again), False)
        assert unchanged.outputs["cutover"]["drain"] == "none"

        changed = run(prod_config(activeAmi=NEW_AMI), aws)
        assert_chain(changed, new=new, old=serving)
        assert reruns(unchanged, changed) == dict.fromkeys(recorded(changed), True)
        drain = step_props(steps(changed)["drain"])
        assert (drain["old_color"], drain["old_color_serving"], drain["new_ami"]) == (serving, True, NEW_AMI)
        assert drain["settings"]["canary_pause_s"] == 120.0 and len(drain["target_group_arns"]) == 2


def test_an_autoscaled_serving_group_runs_nothing_and_its_gate_counts_its_real_nodes() -> None:
    def serving_at(desired: int) -> Run:
        aws = FakeAws(clusters={"prod": "API"})
        aws.add_group("prod", "blue", desired, OLD_AMI, active=True)
        aws.add_group("prod", "green", 0, OLD_AMI)
        return run(config(OLD_AMI), aws)

    six, seven = serving_at(6), serving_at(7)  # cluster-autoscaler grew blue past the configured 5
    assert {step_props(r)["desired"] for r in steps(seven).values()} == {7}
    assert reruns(six, seven) == dict.fromkeys(recorded(seven), False)


def test_pinning_the_idle_color_cuts_over_to_it_and_pinning_the_serving_one_changes_nothing() -> None:
    aws = FakeAws(clusters={"prod": "API"})
    aws.add_group("prod", "blue", 5, OLD_AMI, active=True)
    aws.add_group("prod", "green", 0, OLD_AMI)
    steady = run(config(OLD_AMI), aws)
    pinned_idle = run(config(OLD_AMI, activeColor="green"), aws)
    assert_chain(pinned_idle, new="green", old="blue")
    assert all(step_props(r)["old_color_serving"] for r in steps(pinned_idle).values())
    pinned_serving = run(config(OLD_AMI, activeColor="blue"), aws)
    assert reruns(steady, pinned_serving) == dict.fromkeys(recorded(pinned_serving), False)
