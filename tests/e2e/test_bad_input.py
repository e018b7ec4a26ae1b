"""Bad input to `rehearse` and `sandbox`, fed through the command line in-process: exit code 2 and exactly one line
naming the field (or flag) and what is allowed; never a traceback, and no sandbox is started."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bluegreen.cli import main

ROOT = Path(__file__).resolve().parents[2]
SMALL = (ROOT / "bluegreen" / "sandbox" / "scenarios" / "small.yaml").read_text()


def scenario_with(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return str(path)


def with_rollout(tmp_path: Path, name: str, rollout: str) -> str:
    return scenario_with(tmp_path, name, f"{SMALL}\nrollout: {rollout}\n")


def with_workload_toleration(tmp_path: Path, name: str, toleration: str) -> str:
    text = SMALL.replace("pdb: {minAvailable: 2}}", f"pdb: {{minAvailable: 2}}, tolerations: [{toleration}]}}", 1)
    assert text != SMALL
    return scenario_with(tmp_path, name, text)


BAD_SCENARIOS = {
    # name: (how to build the file, what the one line must say)
    "inf-timeout": (lambda t: with_rollout(t, "inf", "{evictionTimeoutSeconds: .inf}"),
                    "rollout.evictionTimeoutSeconds: inf is not allowed; allowed: a finite number > 0"),
    "nan-pause": (lambda t: with_rollout(t, "nan", "{canaryPauseSeconds: .nan}"),
                  "rollout.canaryPauseSeconds: nan is not allowed"),
    "poll-zero": (lambda t: with_rollout(t, "poll", "{pollIntervalSeconds: 0}"),
                  "rollout.pollIntervalSeconds: 0 is out of range; allowed: a number > 0"),
    "snake-case-key": (lambda t: with_rollout(t, "snake", "{eviction_timeout_s: 30}"),
                       "rollout.eviction_timeout_s: unknown field"),
    "bad-operator": (lambda t: with_workload_toleration(t, "op", "{key: k, operator: Sometimes}"),
                     "tolerations[0].operator: 'Sometimes' is not allowed; allowed: Exists, Equal"),
    "bad-effect": (lambda t: with_workload_toleration(t, "eff", "{key: k, effect: NoRun}"),
                   "tolerations[0].effect: 'NoRun' is not allowed"),
    "speed-zero": (lambda t: scenario_with(t, "slow", SMALL.replace("speed: 20", "speed: 0")),
                   "speed: 0 is out of range; allowed: a number > 0"),
    "speed-inf": (lambda t: scenario_with(t, "fast", SMALL.replace("speed: 20", "speed: .inf")),
                  "speed: inf is not allowed"),
    "negative-join": (lambda t: scenario_with(t, "join", SMALL.replace("join_seconds: 20", "join_seconds: -.inf")),
                      "join_seconds: -inf is not allowed"),
    "runs-target": (lambda t: scenario_with(t, "runs", SMALL + "\nruns: [{to: back}]\n"),
                    "runs[0].to: 'back' is not allowed; allowed: to, from"),
    "runs-crash": (lambda t: scenario_with(t, "crash", SMALL + "\nruns: [{to: to, crash: lunch}]\n"),
                   "runs[0].crash: 'lunch' is not allowed"),
    "a-directory": (lambda t: str(t), "is a directory; give a scenario file"),
    "missing-file": (lambda t: str(t / "nope.yaml"), "no such scenario file, and not a builtin scenario"),
    "not-yaml": (lambda t: scenario_with(t, "broken", "nodes_per_color: [1,\n"), "is not valid YAML"),
    "not-a-mapping": (lambda t: scenario_with(t, "list", "- 1\n- 2\n"), "is not a mapping"),
    "binary": (lambda t: (t / "bin.yaml").write_bytes(b"\xff\xfe\x00") and str(t / "bin.yaml"), "cannot be read"),
}

BAD_FLAGS = {
    "speed-zero": (["--speed", "0"], "--speed: '0' is not allowed; allowed: a finite number > 0"),
    "speed-negative": (["--speed", "-5"], "--speed: '-5' is not allowed"),
    "speed-nan": (["--speed", "nan"], "--speed: 'nan' is not allowed"),
    "speed-inf": (["--speed", "inf"], "--speed: 'inf' is not allowed"),
    "speed-word": (["--speed", "fast"], "--speed: 'fast' is not a number; allowed: a finite number > 0"),
}


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def assert_one_line(code: int, out: str, err: str, expected: str) -> None:
    assert code == 2, (code, out, err)
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert expected in lines[0], lines[0]


@pytest.mark.parametrize("command", ["rehearse", "sandbox"])
def test_each_bad_scenario_is_one_line_and_exit_2(command: str, tmp_path: Path) -> None:
    for name, (build, expected) in BAD_SCENARIOS.items():
        folder = tmp_path / name
        folder.mkdir()
        code, out, err = run_cli([command, "--scenario", build(folder)])
        assert_one_line(code, out, err, expected)


@pytest.mark.parametrize("command", ["rehearse", "sandbox"])
def test_each_bad_flag_is_one_line_and_exit_2(command: str) -> None:
    for _name, (flags, expected) in BAD_FLAGS.items():
        code, out, err = run_cli([command, *flags])
        assert_one_line(code, out, err, expected)
    code, out, err = run_cli([command, "--no-such-flag"])
    assert_one_line(code, out, err, "unrecognized arguments: --no-such-flag")


def test_no_command_and_an_unknown_command_are_one_line() -> None:
    assert_one_line(*run_cli([]), "the following arguments are required: command")
    assert_one_line(*run_cli(["rehearsal"]), "invalid choice: 'rehearsal'")


def test_a_scenario_that_cannot_reach_its_starting_state_is_bad_input(monkeypatch) -> None:
    import bluegreen.rehearsal as rehearsal
    from bluegreen.sandbox.world import SandboxStartError

    def cannot_settle(scenario, **_kwargs):
        raise SandboxStartError(f"scenario {scenario.name} did not settle within 3600 simulated seconds: Deployment "
                                "default/web 0/3 ready. Next: check that the nodes have room")

    monkeypatch.setattr(rehearsal, "rehearse", cannot_settle)
    code, _out, err = run_cli(["rehearse", "--scenario", "small"])
    assert code == 2 and len(err.splitlines()) == 1 and "small did not settle" in err
