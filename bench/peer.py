"""The peer: what people script today (the blog post's procedure), with the real kubectl.

1. the new color's group goes up on the new AMI (the same AWS calls as our program step, through boto3);
2. ``bench/kubectl_drain_loop.sh``: wait until the new nodes are Ready, then ``kubectl drain`` each old node,
   one at a time, oldest first, ``--ignore-daemonsets --delete-emptydir-data``;
3. the old group is scaled to zero and we wait until its instances are gone (as our cutover does).

The shell script and every kubectl it starts run under ``bench/measure.py``, which reports their combined CPU
time and the largest of their peak resident sizes (kubectl's), which is what the table reports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import boto3

from bench.kubectl_log import node_waits, speed_inflation_s
from bluegreen.engine.groups import describe_group, scale
from bluegreen.engine.naming import group_name
from bluegreen.rehearsal import program_step

LOOP_SCRIPT = Path(__file__).with_name("kubectl_drain_loop.sh")
MEASURE = Path(__file__).with_name("measure.py")
KUBECTL = "/usr/bin/kubectl"


@dataclass(frozen=True)
class PeerRun:
    result: str  # "ok" | "failed"
    error: str | None
    began: float  # time.monotonic()
    ended: float
    cpu_s: float
    peak_rss_mb: float
    eviction_retries: int  # kubectl's "will retry after 5s" lines: each is a 5 s real-time sleep
    inflation_s: float  # simulated seconds its real-time waits cost beyond speed 1 (bench.kubectl_log, estimate)
    log: str


def aws_clients(endpoint: str, region: str) -> SimpleNamespace:
    """boto3 clients at the sandbox's moto endpoint, with dummy credentials (nothing ambient is used)."""
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name=region)
    return SimpleNamespace(
        autoscaling=session.client("autoscaling", endpoint_url=endpoint),
        ec2=session.client("ec2", endpoint_url=endpoint),
    )


def run_peer(*, cluster_name: str, region: str, aws_endpoint: str, kubeconfig_path: str, old_color: str,
             new_color: str, new_ami: str, nodes: int, speed: float, poll_s: float, drain_timeout_s: float,
             log_path: Path) -> PeerRun:
    """The whole procedure against a running sandbox; times are real (``time.monotonic``)."""
    aws = aws_clients(aws_endpoint, region)
    home = log_path.parent / f"{log_path.stem}-home"  # kubectl's discovery cache lives here, not in ~/.kube
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, KUBECONFIG=kubeconfig_path, HOME=str(home),
               PATH=f"{Path(KUBECTL).parent}:{os.environ.get('PATH', '')}")
    # Poll as often in simulated time as our engine does (poll_s simulated = poll_s / speed real).
    real_poll = f"{max(poll_s / speed, 0.01):.3f}"
    real_drain_timeout = f"{max(int(drain_timeout_s / speed), 1)}s"
    began = time.monotonic()
    program_step(aws, cluster_name, new_color, new_ami, nodes)
    usage_path = log_path.with_suffix(".usage.json")
    with open(log_path, "w", encoding="utf-8") as log:
        child = subprocess.run(
            [sys.executable, "-S", str(MEASURE), str(usage_path), "bash", str(LOOP_SCRIPT), new_color, old_color,
             str(nodes), real_poll, real_drain_timeout],
            stdout=log, stderr=subprocess.STDOUT, env=env, check=False,
        )
    usage = json.loads(usage_path.read_text(encoding="utf-8"))
    text = log_path.read_text(encoding="utf-8", errors="replace")
    result, error = "ok", None
    if child.returncode != 0:
        result = "failed"
        error = f"kubectl drain loop exited {child.returncode}: " + " | ".join(text.strip().splitlines()[-3:])
    else:
        old_group = group_name(cluster_name, old_color)
        scale(aws.autoscaling, old_group, desired=0, min_size=0)
        _wait_group_empty(aws, old_group, timeout_real_s=max(60.0, 600.0 / speed), poll_real_s=poll_s / speed)
    ended = time.monotonic()
    waits = node_waits(text)
    return PeerRun(
        result=result, error=error, began=began, ended=ended, cpu_s=float(usage["cpu_s"]),
        peak_rss_mb=float(usage["peak_rss_mb"]), eviction_retries=sum(w.retries for w in waits),
        inflation_s=speed_inflation_s(waits, speed), log=str(log_path),
    )


def _wait_group_empty(aws: SimpleNamespace, name: str, *, timeout_real_s: float, poll_real_s: float) -> None:
    deadline = time.monotonic() + timeout_real_s
    while time.monotonic() < deadline:
        if not describe_group(aws.autoscaling, aws.ec2, name, with_amis=False).instances:
            return
        time.sleep(poll_real_s)
