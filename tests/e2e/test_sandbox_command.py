"""`python -m bluegreen sandbox` in one process, the read-only CLI and kubectl against it from others."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_sandbox_command_then_status_plan_and_kubectl_from_other_processes(tmp_path):
    server = subprocess.Popen([sys.executable, "-m", "bluegreen", "sandbox", "--json", "--workdir", str(tmp_path)],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        assert line, server.stderr.read()[-2000:]
        info = json.loads(line)
        flags = ["--cluster", info["cluster_name"], "--region", info["region"], "--aws-endpoint-url",
                 info["aws_endpoint"]]
        # No kubeconfig and no AWS credentials in the environment: DescribeCluster + minted token, dummy keys
        # because the endpoint is local.
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        status = subprocess.run([sys.executable, "-m", "bluegreen", "status", *flags, "--json"], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=60)
        assert status.returncode == 0, status.stderr[-2000:]
        assert json.loads(status.stdout)["serving"] == ["blue"]
        plan = subprocess.run([sys.executable, "-m", "bluegreen", "plan", *flags], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)
        assert plan.returncode == 0, plan.stderr[-2000:]
        assert "plan: blue -> green" in plan.stdout and "ready to cut over" in plan.stdout
        if shutil.which("kubectl"):
            nodes = subprocess.run(["kubectl", "--kubeconfig", info["kubeconfig"], "get", "nodes", "-o", "name"],
                                   capture_output=True, text=True, timeout=60)
            assert nodes.returncode == 0, nodes.stderr
            assert len(nodes.stdout.split()) == 3
    finally:
        server.send_signal(signal.SIGINT)
        out, _ = server.communicate(timeout=30)
    assert server.returncode == 0 and "sandbox stopped" in out
