"""Health signals, bake and their config: pure verdicts over plain data, the two I/O edges against the real thing
(moto's CloudWatch, /bin/sh)."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from bluegreen.engine.bake import bake, bake_checks
from bluegreen.engine.errors import AlarmNotFound, SignalFailed
from bluegreen.engine.progress import BakeFinished, BakeStarted, CollectingReporter, SignalChecked
from bluegreen.engine.settings import RolloutSettings
from bluegreen.engine.signals import (
    AlarmState,
    CommandResult,
    SignalKind,
    SignalWatch,
    judge_alarms,
    judge_command,
    last_lines,
    missing_alarms,
    read_alarms,
    run_command,
)
from bluegreen.infra.config import ConfigError, parse_config
from bluegreen.infra.cutover_inputs import settings_from_props, settings_to_props


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


# -- pure verdicts --------------------------------------------------------------------------------------------


def test_an_alarm_in_alarm_fails_ok_and_insufficient_data_do_not() -> None:
    found = {"a": AlarmState("a", "OK"), "b": AlarmState("b", "ALARM", "Threshold Crossed"),
             "c": AlarmState("c", "INSUFFICIENT_DATA")}
    failures = judge_alarms(("a", "b", "c"), found)
    assert [(f.kind, f.name, f.reason) for f in failures] == [(SignalKind.ALARM, "b", "Threshold Crossed")]
    assert "CloudWatch alarm b is in ALARM (Threshold Crossed)" == failures[0].describe()


def test_missing_alarms_are_named() -> None:
    assert missing_alarms(("a", "typo"), {"a": AlarmState("a", "OK")}) == ("typo",)


def test_command_verdict_keeps_its_last_output_lines() -> None:
    output = "\n".join(f"line {i}" for i in range(30))
    failure = judge_command("smoke", CommandResult(3, output), 60)
    assert failure is not None and "exited 3" in failure.reason
    assert "line 29" in failure.reason and "line 19" not in failure.reason and "line 20" in failure.reason
    assert judge_command("smoke", CommandResult(0, "fine"), 60) is None
    timed_out = judge_command("smoke", CommandResult(None, ""), 5)
    assert timed_out is not None and "did not finish within 5s" in timed_out.reason
    assert last_lines("a\nb\n\n", 1) == "b"


# -- the I/O edges ----------------------------------------------------------------------------------------------


def test_run_command_runs_sh_and_kills_at_the_timeout() -> None:
    result = run_command("echo one; echo two >&2; exit 4", 10)
    assert result.exit_code == 4 and "one" in result.output and "two" in result.output
    told = run_command('echo "$BLUEGREEN_CHECK"', 10, {"BLUEGREEN_CHECK": "during the bake"})
    assert told.output.strip() == "during the bake"
    slow = run_command("echo started; sleep 5", 0.3)
    assert slow.exit_code is None and slow.seconds < 4


@mock_aws
def test_read_alarms_through_describe_alarms() -> None:
    cloudwatch = boto3.client("cloudwatch", region_name="eu-west-1")
    for name in ("web-5xx", "web-latency"):
        cloudwatch.put_metric_alarm(AlarmName=name, MetricName="m", Namespace="n", Statistic="Sum", Period=60,
                                    EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
    cloudwatch.set_alarm_state(AlarmName="web-5xx", StateValue="ALARM", StateReason="5xx above 1%")
    found = read_alarms(cloudwatch, ("web-5xx", "web-latency", "typo"))
    assert set(found) == {"web-5xx", "web-latency"}
    assert found["web-5xx"] == AlarmState("web-5xx", "ALARM", "5xx above 1%")
    watch = SignalWatch(RolloutSettings(alarms=("web-5xx", "web-latency")), CollectingReporter(), cloudwatch)
    with pytest.raises(SignalFailed, match="refused and nothing was changed:\n  CloudWatch alarm web-5xx"):
        watch.check("before the first eviction", started=False)
    typo = SignalWatch(RolloutSettings(alarms=("web-5xx", "typo")), CollectingReporter(), cloudwatch)
    with pytest.raises(AlarmNotFound, match="typo"):
        typo.check("before the first eviction", started=False)


def test_a_watch_reports_each_check() -> None:
    reporter = CollectingReporter()
    watch = SignalWatch(RolloutSettings(health_command="true"), reporter, None)
    watch.check("after node n1")
    assert [e.when for e in reporter.of(SignalChecked)] == ["after node n1"]
    failing = SignalWatch(RolloutSettings(health_command="echo broken; exit 1"), reporter, None)
    with pytest.raises(SignalFailed, match="(?s)`echo broken; exit 1` exited 1; its last output:\n    \\| broken"):
        failing.check("after node n2")


# -- the bake ---------------------------------------------------------------------------------------------------


def test_bake_checks_every_poll_and_at_the_end() -> None:
    assert bake_checks(0, 5) == []
    assert bake_checks(12, 5) == [5, 10, 12]
    assert bake_checks(10, 5) == [5, 10]


def test_bake_waits_its_time_and_stops_at_a_failed_signal() -> None:
    clock, reporter = FakeClock(), CollectingReporter()
    bake(None, RolloutSettings(bake_s=30, poll_interval_s=10), clock, reporter, "g-blue")
    assert clock.now() == 30 and reporter.of(BakeStarted) and reporter.of(BakeFinished)
    results = iter([CommandResult(0, ""), CommandResult(1, "down")])
    settings = RolloutSettings(bake_s=30, poll_interval_s=10, health_command="probe")
    watch = SignalWatch(settings, reporter, None, command_runner=lambda cmd, t, env: next(results))
    clock = FakeClock()
    with pytest.raises(SignalFailed, match="during the bake"):
        bake(watch, settings, clock, reporter, "g-blue")
    assert clock.now() == 20


# -- config -----------------------------------------------------------------------------------------------------


BASE = {"activeAmi": "ami-0123456789abcdef0", "cluster": {"name": "prod", "create": False}}


def test_signal_keys_parse_and_pass_through_the_step_properties() -> None:
    raw = {**BASE, "rollout": {"alarms": ["web-5xx", "web latency"], "healthCommand": "curl -fsS http://x/",
                               "healthCommandTimeoutSeconds": 30, "bakeSeconds": "600",
                               "onSignalFailure": "stop"}}
    settings = parse_config(raw).rollout
    assert settings.alarms == ("web-5xx", "web latency") and settings.health_command == "curl -fsS http://x/"
    assert (settings.health_command_timeout_s, settings.bake_s, settings.signal_failure_policy) == (30, 600, "stop")
    # Pulumi hands the property bag back with lists, not tuples.
    props = {k: list(v) if isinstance(v, tuple) else v for k, v in settings_to_props(settings).items()}
    assert settings_from_props(props) == settings
    assert RolloutSettings(alarms=("a",)).signal_failure_policy == "rollback"
    assert not RolloutSettings().has_signals


@pytest.mark.parametrize(("key", "value", "message"), [
    ("alarms", "web-5xx", r"^rollout.alarms: \"web-5xx\" is not a list"),
    ("alarms", ["a", "a"], r"^rollout.alarms\[1\]: \"a\" is listed twice"),
    ("alarms", [""], r"^rollout.alarms\[0\]: \"\" is not a CloudWatch alarm name"),
    ("healthCommand", "  ", r"^rollout.healthCommand: \"  \" is not a non-empty shell command"),
    ("healthCommandTimeoutSeconds", 0, r"^rollout.healthCommandTimeoutSeconds: 0 is not allowed"),
    ("bakeSeconds", -1, r"^rollout.bakeSeconds: -1 is not allowed"),
    ("onSignalFailure", "ignore", r"^rollout.onSignalFailure: \"ignore\" is not allowed \(one of rollback, stop\)"),
])
def test_bad_signal_keys_are_refused(key: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({**BASE, "rollout": {key: value}})
