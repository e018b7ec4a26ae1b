"""The step providers as plain objects: check, diff (when a step runs again), create/update records, failures.

The engine facade is replaced by a recording stand-in here; tests/integration/cutover runs the same providers
against the sandbox with the real engine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi.runtime.rpc
import pytest

from bluegreen.engine import api as real_engine
from bluegreen.engine import progress as real_progress
from bluegreen.engine.errors import EvictionBlocked, ReadinessTimeout
from bluegreen.engine.settings import RolloutSettings
from bluegreen.infra import cutover_steps
from bluegreen.infra.cutover_inputs import UNKNOWN, CutoverInputs, StepInputError, decide_run, settings_from_props
from bluegreen.infra.cutover_steps import (
    DrainProvider,
    LoadBalancersHealthyProvider,
    NodesReadyProvider,
    StepFailed,
)

TG = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef"


def props(**changes: Any) -> dict[str, Any]:
    base = CutoverInputs(
        cluster_name="prod",
        region="eu-west-1",
        new_color="green",
        new_ami="ami-0123456789abcdef0",
        desired=3,
        old_color_serving=True,
        target_group_arns=(TG,),
    ).to_props()
    base.update(changes)
    return base


# --- diff: when does a step run again? ---------------------------------------------------------------

STEADY = dict(old_color_serving=False)


@pytest.mark.parametrize(
    "step,change,runs",
    [
        ("nodes-ready", {}, False),
        ("drain", {}, False),
        ("nodes-ready", {"new_ami": "ami-0fedcba9876543210"}, True),
        ("load-balancers-healthy", {"new_ami": "ami-0fedcba9876543210"}, True),
        ("drain", {"new_ami": "ami-0fedcba9876543210"}, True),
        # A serving group's count moves with cluster-autoscaler; a new count is no reason to run a step again.
        ("nodes-ready", {"desired": 4}, False),
        ("drain", {"desired": 4}, False),
        ("load-balancers-healthy", {"classic_elb_names": ["legacy"]}, True),
        ("nodes-ready", {"classic_elb_names": ["legacy"]}, False),
        ("drain", {"settings": {**props()["settings"], "eviction_timeout_s": 900.0}}, False),
        ("drain", {"kubeconfig_path": "/elsewhere/kubeconfig"}, False),
        ("drain", {"aws_endpoint_url": "http://127.0.0.1:1"}, False),
        ("nodes-ready", {"cluster_name": "staging"}, True),
        ("drain", {"new_ami": UNKNOWN}, True),
    ],
)
def test_steady_state_runs_only_when_what_the_step_checks_changed(step: str, change: dict, runs: bool) -> None:
    olds = props(**STEADY, status="passed", summary="...", report={})
    news = props(**STEADY, **change)
    assert decide_run(step, olds, news).run is runs


def test_every_step_runs_while_the_old_color_serves_even_with_identical_recorded_inputs() -> None:
    # Going back after an interrupted cutover: the old records of these names hold the very same inputs,
    # but the other color now has nodes that must be drained before it scales to zero.
    olds = props(old_color_serving=True, status="drained")
    for step in ("nodes-ready", "load-balancers-healthy", "drain"):
        decision = decide_run(step, olds, props(old_color_serving=True))
        assert decision.run and "blue is serving" in decision.reason


def test_a_finished_cutover_is_a_no_op_on_the_next_run() -> None:
    olds = props(old_color_serving=True, status="drained")
    assert not DrainProvider().diff("id", olds, props(old_color_serving=False)).changes
    assert not NodesReadyProvider().diff("id", olds, props(old_color_serving=False)).changes


def test_diff_never_replaces() -> None:
    result = DrainProvider().diff("id", props(), props(new_ami="ami-0fedcba9876543210"))
    assert result.changes is True and result.replaces == [] and result.delete_before_replace is False


def test_unknown_marker_is_the_sdks() -> None:
    assert UNKNOWN == pulumi.runtime.rpc.UNKNOWN


# --- inputs -------------------------------------------------------------------------------------------


def test_inputs_round_trip_and_numbers_come_back_as_floats() -> None:
    bag = props(desired=3.0, settings={**props()["settings"], "max_parallel_nodes": 2.0, "poll_interval_s": 1})
    inputs = CutoverInputs.from_props(bag)
    assert inputs.desired == 3 and isinstance(inputs.desired, int)
    assert inputs.settings.max_parallel_nodes == 2 and isinstance(inputs.settings.max_parallel_nodes, int)
    assert inputs.settings.poll_interval_s == 1.0
    assert CutoverInputs.from_props(inputs.to_props()) == inputs
    assert (inputs.old_color, inputs.new_group, inputs.old_group) == ("blue", "prod-workers-green", "prod-workers-blue")


@pytest.mark.parametrize(
    "change,names",
    [
        ({"new_color": "purple"}, "new_color"),
        ({"desired": 2.5}, "desired"),
        ({"region": ""}, "region"),
        ({"old_color_serving": "yes"}, "old_color_serving"),
        ({"target_group_arns": "arn"}, "target_group_arns"),
        ({"settings": {"max_parallel_nodes": 1.5}}, "settings.max_parallel_nodes"),
        ({"settings": {"drain_fast": True}}, "drain_fast"),
    ],
)
def test_bad_inputs_are_refused_by_check_naming_the_property(change: dict, names: str) -> None:
    with pytest.raises(StepInputError, match=names):
        CutoverInputs.from_props(props(**change))
    result = NodesReadyProvider().check({}, props(**change))
    assert len(result.failures) == 1 and names in result.failures[0].reason


def test_check_accepts_good_inputs_and_defers_unknown_ones() -> None:
    assert NodesReadyProvider().check({}, props()).failures == []
    assert NodesReadyProvider().check({}, props(new_color=UNKNOWN)).failures == []


def test_settings_default_when_absent() -> None:
    assert settings_from_props({}) == RolloutSettings()


def test_the_drain_step_carries_the_signal_settings_from_the_stack_config() -> None:
    from bluegreen.infra.config import parse_config

    rollout = parse_config({"activeAmi": "ami-0123456789abcdef0", "cluster": {"name": "prod", "create": False},
                            "rollout": {"alarms": ["web-5xx"], "healthCommand": "./smoke.sh", "bakeSeconds": 600,
                                        "onSignalFailure": "stop", "notifyUrl": "https://hooks.example.com/x"}}).rollout
    inputs = CutoverInputs(cluster_name="prod", region="eu-west-1", new_color="green", new_ami="ami-0123456789abcdef0",
                           desired=3, old_color_serving=True, settings=rollout)
    bag = inputs.to_props()
    bag["settings"] = {k: list(v) if isinstance(v, tuple) else v for k, v in bag["settings"].items()}  # as Pulumi
    assert CutoverInputs.from_props(bag).settings == rollout
    with pytest.raises(StepInputError, match="settings.alarms"):
        CutoverInputs.from_props(props(settings={"alarms": "web-5xx"}))


# --- create/update against a recording stand-in of the engine facade ----------------------------------


@dataclass
class FakeEngine:
    """The facade's names, recording calls; ``fail`` makes the named call raise."""

    fail: dict[str, Exception] = field(default_factory=dict)
    calls: list[tuple[str, Any]] = field(default_factory=list)
    ClusterTarget: Any = real_engine.ClusterTarget
    GroupSpec: Any = real_engine.GroupSpec
    LoadBalancerSpec: Any = real_engine.LoadBalancerSpec

    def connect(self, target):
        self.calls.append(("connect", target))
        return "conn"

    def _call(self, name: str, report: dict[str, Any], *args: Any, **kwargs: Any):
        self.calls.append((name, (args, kwargs)))
        if name in self.fail:
            raise self.fail[name]
        reporter = next(a for a in args if hasattr(a, "emit"))
        reporter.emit(real_progress.Note(f"{name} working"))
        return type("Report", (), {"to_dict": lambda self: report})()

    def wait_nodes_ready(self, *args, **kwargs):
        return self._call(
            "wait_nodes_ready",
            {
                "group_name": "prod-workers-green",
                "instances": ["i-1", "i-2", "i-3"],
                "nodes": ["n1", "n2", "n3"],
                "waited_s": 42.0,
            },
            *args,
            **kwargs,
        )

    def wait_load_balancers_healthy(self, *args, **kwargs):
        return self._call(
            "wait_load_balancers_healthy",
            {"target_group_arns": [TG], "classic_elb_names": [], "instances": ["i-1", "i-2", "i-3"], "waited_s": 7.0},
            *args,
            **kwargs,
        )

    def drain(self, *args, **kwargs):
        return self._call(
            "drain",
            {
                "nodes_drained": ["b1", "b2"],
                "nodes_already_drained": ["b0"],
                "pods_evicted": ["default/web-1", "default/web-2"],
                "pods_forced": [],
                "seconds": 61.0,
            },
            *args,
            **kwargs,
        )


@pytest.fixture
def fake_engine(monkeypatch: pytest.MonkeyPatch) -> FakeEngine:
    fake = FakeEngine()
    monkeypatch.setattr(cutover_steps, "engine", fake)
    return fake


def test_nodes_ready_create_records_what_it_saw_and_streams_progress(fake_engine, capsys) -> None:
    result = NodesReadyProvider().create(props())
    assert result.id == "prod/nodes-ready/green"
    outs = result.outs
    assert outs["status"] == "passed"
    assert outs["summary"] == "3 green node(s) Ready on ami-0123456789abcdef0 (waited 42s)"
    assert outs["report"]["nodes"] == ["n1", "n2", "n3"]
    assert outs["new_ami"] == "ami-0123456789abcdef0" and outs["desired"] == 3  # inputs echoed for the next diff
    assert outs["duration_s"] >= 0 and outs["finished_at"].endswith("Z")
    ((name, (args, _)),) = [c for c in fake_engine.calls if c[0] == "wait_nodes_ready"]
    assert args[1] == real_engine.GroupSpec("prod", "green", "ami-0123456789abcdef0", 3, pool="workers")
    target = fake_engine.calls[0][1]
    assert target == real_engine.ClusterTarget("prod", "eu-west-1")
    err = capsys.readouterr().err
    assert "nodes-ready green" in err and "wait_nodes_ready working" in err and "3 green node(s) Ready" in err


def test_load_balancers_step_passes_the_configured_load_balancers(fake_engine) -> None:
    outs = LoadBalancersHealthyProvider().update("prod/load-balancers-healthy/green", props(), props()).outs
    assert outs["summary"] == "3 green instance(s) healthy behind 1 load balancer(s) (waited 7s)"
    ((_, (_, kwargs)),) = [c for c in fake_engine.calls if c[0] == "wait_load_balancers_healthy"]
    assert kwargs["expected"] == real_engine.LoadBalancerSpec(target_group_arns=(TG,), classic_elb_names=())


def test_drain_records_nodes_and_pods_moved(fake_engine) -> None:
    result = DrainProvider().create(props())
    assert result.id == "prod/drain/blue"
    assert result.outs["status"] == "drained"
    assert result.outs["summary"] == (
        "drained 2 blue node(s) onto green, 2 pod(s) moved, 1 node(s) drained by an earlier run in 61s"
    )
    ((_, (args, kwargs)),) = [c for c in fake_engine.calls if c[0] == "drain"]
    old, new = args[1], args[2]
    assert (old.color, new.color, new.ami, new.desired) == ("blue", "green", "ami-0123456789abcdef0", 3)
    assert kwargs["expected"].target_group_arns == (TG,)


def test_drain_on_first_deploy_records_nothing_to_drain_without_touching_the_cluster(fake_engine) -> None:
    result = DrainProvider().create(props(old_color_serving=False))
    assert result.outs["status"] == "nothing-to-drain"
    assert "nothing to drain: prod-workers-blue" in result.outs["summary"]
    assert fake_engine.calls == []


def test_a_failed_step_raises_naming_the_step_and_the_retry(fake_engine) -> None:
    cause = ReadinessTimeout("prod-workers-green", 900, ["instance i-1: NotReady (KubeletNotReady)"])
    fake_engine.fail["wait_nodes_ready"] = cause
    with pytest.raises(StepFailed) as failed:
        NodesReadyProvider().create(props())
    text = str(failed.value)
    assert text.startswith(
        "nodes-ready (green on ami-0123456789abcdef0, cluster prod) failed: nodes of prod-workers-green"
    )
    assert "i-1: NotReady" in text and "not recorded" in text and "no drain" in text and "`pulumi up`" in text
    assert failed.value.cause is cause


def test_a_blocked_drain_raises_and_keeps_the_engine_message(fake_engine) -> None:
    fake_engine.fail["drain"] = EvictionBlocked("default/web-1", "default/web", 300)
    with pytest.raises(StepFailed, match="PodDisruptionBudget default/web") as failed:
        DrainProvider().update("prod/drain/blue", props(), props())
    assert "the old color was not scaled down" in str(failed.value)


def test_unexpected_errors_propagate_unchanged(fake_engine) -> None:
    fake_engine.fail["drain"] = RuntimeError("boom")
    with pytest.raises(RuntimeError, match="boom"):
        DrainProvider().create(props())


def test_delete_and_read_touch_nothing(fake_engine) -> None:
    assert DrainProvider().delete("prod/drain/blue", props()) is None
    assert DrainProvider().read("prod/drain/blue", props()).outs == props()
    assert fake_engine.calls == []


def test_one_provider_object_serves_concurrent_calls_without_shared_state(fake_engine) -> None:
    # The provider process caches one unpickled provider per serialized string and calls it from a thread pool
    # of four: every call must build its own connection and reporter and return its own inputs.
    from concurrent.futures import ThreadPoolExecutor

    provider = NodesReadyProvider()
    bags = [props(desired=n, cluster_name=f"c{n}") for n in range(1, 9)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(provider.create, bags))
    assert [(r.id, r.outs["desired"]) for r in results] == [(f"c{n}/nodes-ready/green", n) for n in range(1, 9)]
    targets = [call[1] for call in fake_engine.calls if call[0] == "connect"]
    assert sorted(t.cluster_name for t in targets) == sorted(f"c{n}" for n in range(1, 9))
    assert vars(provider) == {"_clock": None}


def test_the_recorded_drain_report_holds_counts_node_names_and_a_few_pod_names(fake_engine, monkeypatch) -> None:
    pods = [f"default/web-{i}" for i in range(3000)]
    nodes = [f"ip-10-0-{i}-1" for i in range(150)]
    big = {
        "old_group": "prod-workers-blue",
        "nodes_drained": nodes,
        "nodes_already_drained": [],
        "pods_evicted": len(pods),
        "evicted_pods": pods,
        "pods_forced": [],
        "workloads": [f"Deployment default/app-{i}" for i in range(300)],
        "duration_s": 900.0,
        "preflight": {
            "old_nodes": nodes,
            "pods_to_move": len(pods),
            "moves": [
                {"workload": f"Deployment default/app-{i}", "pods": pods[i * 10 : i * 10 + 10]} for i in range(300)
            ],
            "staying": [f"kube-system/ds-{i}: DaemonSet" for i in range(150)],
        },
    }
    monkeypatch.setattr(fake_engine, "drain", lambda *a, **k: fake_engine._call("drain", big, *a, **k))
    outs = DrainProvider().create(props()).outs
    report = outs["report"]
    assert outs["summary"] == "drained 150 blue node(s) onto green, 3000 pod(s) moved in 900s"
    assert report["nodes_drained"] == nodes and report["preflight"]["old_nodes"] == nodes  # every node name
    assert (
        report["pods_evicted"] == 3000 and report["evicted_pods"] == pods[:5] and report["evicted_pods_count"] == 3000
    )
    assert len(report["workloads"]) == 5 and report["workloads_count"] == 300
    assert len(report["preflight"]["moves"]) == 5 and report["preflight"]["moves_count"] == 300
    assert report["preflight"]["moves"][0]["pods"] == pods[:5] and report["preflight"]["moves"][0]["pods_count"] == 10
    assert report["preflight"]["staying_count"] == 150 and report["pods_forced"] == []
    assert len(json.dumps(report)) < 12_000  # against about 260,000 characters for the whole report


def test_a_pools_steps_name_the_pool(fake_engine) -> None:
    pool = props(pool="gpu")
    assert CutoverInputs.from_props(pool).old_group == "prod-gpu-blue"
    result = DrainProvider().create(pool)
    assert result.id == "prod/gpu/drain/blue" and result.outs["pool"] == "gpu"
    ((_, (args, _)),) = [c for c in fake_engine.calls if c[0] == "drain"]
    assert (args[1].pool, args[2].pool, args[1].group_name) == ("gpu", "gpu", "prod-gpu-blue")
    # A pool change is a change of what the step acts on.
    assert DrainProvider().diff("id", props(), pool).changes
    # The default pool's recorded properties have no pool: as before pools existed.
    assert "pool" not in props() and CutoverInputs.from_props(props()).pool == "workers"
    fake_engine.fail["wait_nodes_ready"] = ReadinessTimeout("prod-gpu-green", 900.0, ["instance i-1: NotReady"])
    with pytest.raises(StepFailed, match=r"^nodes-ready \(green on ami-0123456789abcdef0, pool gpu, cluster prod\)"):
        NodesReadyProvider().create(pool)
