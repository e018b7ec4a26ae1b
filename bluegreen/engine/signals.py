"""Health signals: CloudWatch alarms and a health command, watched while a cutover runs.

A signal fails when a named alarm is in state ALARM, or when ``rollout.healthCommand`` (run by ``/bin/sh -c``)
exits non-zero or outlives ``rollout.healthCommandTimeoutSeconds``. A named alarm that does not exist refuses the
cutover: a typo must not silently disable the guard. The workload health gate of the drain stays as it is; these
signals are checked before the first eviction, after every drained node and during the bake (``drain.py``).

Decisions (``judge_alarms``, ``judge_command``) are pure functions over plain data; ``read_alarms`` and
``run_command`` are the I/O edges, and ``SignalWatch`` ties them to one run.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum

from bluegreen.engine.errors import AlarmNotFound, SignalFailed
from bluegreen.engine.progress import Reporter, SignalChecked
from bluegreen.engine.settings import RolloutSettings

#: CloudWatch's state of an alarm that fires (``StateValue``: OK | ALARM | INSUFFICIENT_DATA).
ALARM_STATE = "ALARM"
#: How many trailing lines of the health command's output go into a message.
OUTPUT_LINES = 10
#: DescribeAlarms takes at most this many names per call (AlarmNames: "Maximum number of 100 items").
ALARM_NAMES_PER_CALL = 100


class SignalKind(Enum):
    ALARM = "alarm"
    COMMAND = "healthCommand"
    HEALTH_GATE = "workloadHealthGate"  # the drain's own gate: a moved workload not whole again in time


@dataclass(frozen=True)
class AlarmState:
    name: str
    state: str  # OK | ALARM | INSUFFICIENT_DATA
    reason: str = ""


@dataclass(frozen=True)
class CommandResult:
    exit_code: int | None  # None: killed at the timeout
    output: str  # stdout and stderr, interleaved as the command wrote them
    seconds: float = 0.0


@dataclass(frozen=True)
class SignalFailure:
    """One failed health signal and why, in the operator's words."""

    kind: SignalKind
    name: str  # the alarm's name, or the command
    reason: str  # the alarm's state reason, or the command's exit and last output lines

    def describe(self) -> str:
        if self.kind is SignalKind.ALARM:
            return f"CloudWatch alarm {self.name} is in ALARM ({self.reason or 'no reason given'})"
        if self.kind is SignalKind.HEALTH_GATE:
            return f"workload health gate: {self.name} {self.reason}"
        return f"rollout.healthCommand `{short_command(self.name)}` {self.reason}"

    def to_dict(self) -> dict:
        return {"kind": self.kind.value, "name": self.name, "reason": self.reason}


# -- pure decisions ---------------------------------------------------------------------------------------------


def missing_alarms(names: tuple[str, ...], found: Mapping[str, AlarmState]) -> tuple[str, ...]:
    """The configured alarm names CloudWatch does not know."""
    return tuple(n for n in names if n not in found)


def judge_alarms(names: tuple[str, ...], found: Mapping[str, AlarmState]) -> list[SignalFailure]:
    """A failure for every configured alarm in state ALARM (INSUFFICIENT_DATA is not a failure: it is no data)."""
    return [SignalFailure(SignalKind.ALARM, n, found[n].reason) for n in names
            if n in found and found[n].state == ALARM_STATE]


def short_command(command: str, limit: int = 60) -> str:
    """The command on one line, cut at ``limit`` characters (the config holds the whole of it)."""
    flat = " ".join(command.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def last_lines(text: str, count: int = OUTPUT_LINES) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return "\n".join(lines[-count:])


def judge_command(command: str, result: CommandResult, timeout_s: float) -> SignalFailure | None:
    """None when the command exited 0; else a failure with its exit (or timeout) and its last output lines."""
    if result.exit_code == 0:
        return None
    what = (f"did not finish within {timeout_s:.0f}s (rollout.healthCommandTimeoutSeconds)"
            if result.exit_code is None else f"exited {result.exit_code}")
    tail = "\n".join(f"    | {line}" for line in last_lines(result.output).splitlines())
    return SignalFailure(SignalKind.COMMAND, command, f"{what}; its last output:\n{tail}" if tail else
                         f"{what} with no output")


def health_gate_failure(workload: str, waited_s: float, detail: str) -> SignalFailure:
    """The drain's workload health gate, timed out, as a failed signal (so that it can roll back)."""
    return SignalFailure(SignalKind.HEALTH_GATE, workload,
                         f"not fully available {waited_s:.0f}s after its pods moved ({detail})")


# -- the I/O edges ------------------------------------------------------------------------------------------------


def read_alarms(cloudwatch, names: tuple[str, ...]) -> dict[str, AlarmState]:
    """The named alarms CloudWatch knows (metric and composite alarms), by name (boto3 ``describe_alarms``)."""
    found: dict[str, AlarmState] = {}
    for start in range(0, len(names), ALARM_NAMES_PER_CALL):
        chunk = list(names[start:start + ALARM_NAMES_PER_CALL])
        token = None
        while True:
            kwargs = {"AlarmNames": chunk, "AlarmTypes": ["MetricAlarm", "CompositeAlarm"]}
            if token:
                kwargs["NextToken"] = token
            page = cloudwatch.describe_alarms(**kwargs)
            for alarm in [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])]:
                found[alarm["AlarmName"]] = AlarmState(alarm["AlarmName"], alarm.get("StateValue", ""),
                                                       alarm.get("StateReason", ""))
            token = page.get("NextToken")
            if not token:
                break
    return found


def command_env(when: str, old_color: str, new_color: str) -> dict[str, str]:
    """What the health command is told about the check, in its environment (a script may test differently before
    the first eviction than during the bake)."""
    return {"BLUEGREEN_CHECK": when, "BLUEGREEN_OLD_COLOR": old_color, "BLUEGREEN_NEW_COLOR": new_color}


def run_command(command: str, timeout_s: float, env: Mapping[str, str] | None = None) -> CommandResult:
    """Run ``command`` with ``/bin/sh -c`` (this process's environment plus ``env``), killed after ``timeout_s``
    (its output so far kept)."""
    import os
    import time

    start = time.monotonic()
    try:
        done = subprocess.run(["/bin/sh", "-c", command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=timeout_s, check=False, env={**os.environ, **(env or {})})
    except subprocess.TimeoutExpired as exc:
        output = exc.output.decode(errors="replace") if isinstance(exc.output, bytes) else (exc.output or "")
        return CommandResult(None, output, time.monotonic() - start)
    return CommandResult(done.returncode, done.stdout.decode(errors="replace"), time.monotonic() - start)


@dataclass
class SignalWatch:
    """The health signals of one run: what is configured, and how to read them (injected for tests)."""

    settings: RolloutSettings
    reporter: Reporter
    cloudwatch: object | None = None
    command_runner: Callable[..., CommandResult] = run_command
    old_color: str = ""
    new_color: str = ""

    @classmethod
    def for_connection(cls, conn, settings: RolloutSettings, reporter: Reporter, *, old_color: str = "",
                       new_color: str = "") -> SignalWatch | None:
        """None when no signal is configured (nothing is read, no client is made)."""
        if not settings.has_signals:
            return None
        cloudwatch = conn.aws("cloudwatch") if settings.alarms else None
        return cls(settings, reporter, cloudwatch, old_color=old_color, new_color=new_color)

    def failures(self, when: str) -> list[SignalFailure]:
        """Every failed signal now. Raises AlarmNotFound when a named alarm does not exist (at any check: an alarm
        deleted mid-run disables the guard just as a typo would)."""
        failed: list[SignalFailure] = []
        if self.settings.alarms:
            found = read_alarms(self.cloudwatch, self.settings.alarms)
            missing = missing_alarms(self.settings.alarms, found)
            if missing:
                raise AlarmNotFound(missing)
            failed += judge_alarms(self.settings.alarms, found)
        if self.settings.health_command is not None:
            timeout = self.settings.health_command_timeout_s
            result = self.command_runner(self.settings.health_command, timeout,
                                         command_env(when, self.old_color, self.new_color))
            failure = judge_command(self.settings.health_command, result, timeout)
            if failure is not None:
                failed.append(failure)
        self.reporter.emit(SignalChecked(when, tuple(f.describe() for f in failed)))
        return failed

    def check(self, when: str, *, started: bool = True) -> None:
        """Raise SignalFailed naming every failed signal (``started``: whether the run already changed anything)."""
        failed = self.failures(when)
        if failed:
            raise SignalFailed(tuple(failed), when, started=started)
