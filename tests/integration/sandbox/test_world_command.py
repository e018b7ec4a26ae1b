"""`python -m bluegreen sandbox` as a subprocess: it prints its endpoints, serves, and stops on a signal."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

REPO = Path(__file__).resolve().parents[3]


def start(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "bluegreen", "sandbox", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_until_ready(process: subprocess.Popen[str], timeout_s: float = 60.0) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout_s
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"sandbox exited early ({process.wait()}): {lines} {process.stderr.read()}")
        lines.append(line.rstrip("\n"))
        if line.startswith("sandbox ready"):
            return lines
    raise AssertionError(f"sandbox not ready within {timeout_s}s: {lines}")


def stop(process: subprocess.Popen[str], sig: int) -> tuple[int, str]:
    process.send_signal(sig)
    try:
        out, _ = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    return process.returncode, out


def test_sandbox_command_serves_until_sigterm(tmp_path: Path) -> None:
    process = start("--scenario", "small", "--speed", "50", "--json", "--workdir", str(tmp_path))
    try:
        lines = read_until_ready(process)
        details = json.loads(lines[0])
        assert details["region"] == "eu-west-1" and details["cluster_name"] == "sandbox"
        assert details["kubeconfig"] == str(tmp_path / "kubeconfig") and Path(details["kubeconfig"]).is_file()
        assert details["aws_endpoint"].startswith("http://127.0.0.1:")
        autoscaling = boto3.session.Session().client(
            "autoscaling",
            region_name=details["region"],
            endpoint_url=details["aws_endpoint"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        groups = autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]
        assert {g["AutoScalingGroupName"]: g["DesiredCapacity"] for g in groups} == {
            details["old_group"]: 3,
            details["new_group"]: 0,
        }
        if shutil.which("kubectl"):
            listed = subprocess.run(
                ["kubectl", "--kubeconfig", details["kubeconfig"], "get", "nodes", "-l", "bluegreen.io/color=blue",
                 "-o", "name"],
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert listed.returncode == 0, listed.stderr
            assert len(listed.stdout.split()) == 3
    finally:
        code, out = stop(process, signal.SIGTERM)
    assert code == 0
    assert "sandbox stopped" in out


def test_sandbox_command_prints_endpoints_and_stops_on_sigint() -> None:
    process = start("--scenario", "small", "--speed", "50")
    try:
        text = "\n".join(read_until_ready(process))
        for key in ("aws_endpoint", "region", "cluster_name", "kubeconfig"):
            assert key in text
        assert "kubectl --kubeconfig" in text
        kubeconfig = next(line.split()[1] for line in text.splitlines() if line.startswith("kubeconfig"))
        assert Path(kubeconfig).is_file()
    finally:
        code, out = stop(process, signal.SIGINT)
    assert code == 0
    assert not Path(kubeconfig).exists(), "the temporary workdir is removed on stop"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scenario", "no-such-scenario"], "no-such-scenario: no such scenario file"),
        (["--speed", "0"], "--speed: '0' is not allowed; allowed: a finite number > 0"),
    ],
)
def test_sandbox_command_refuses_bad_arguments(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from bluegreen.sandbox.command import main

    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_the_sandbox_command_lists_every_pools_groups() -> None:
    import io
    import json
    import threading

    from bluegreen.sandbox.command import main

    out, stop = io.StringIO(), threading.Event()
    stop.set()  # print the details, then stop at once
    assert main(["--scenario", "two-pools", "--json"], out=out, stop=stop) == 0
    details = json.loads(out.getvalue().splitlines()[0])
    assert details["pools"] == ("workers: sandbox-workers-blue, sandbox-workers-green; "
                                "gpu: sandbox-gpu-blue, sandbox-gpu-green")
