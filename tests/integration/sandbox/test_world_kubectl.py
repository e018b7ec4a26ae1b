"""Issue 3's "done when": real kubectl drains one node of the six-nodes scenario's Sandbox."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

from bluegreen.sandbox.scenario import load_scenario
from bluegreen.sandbox.world import Sandbox

pytestmark = [
    pytest.mark.kubectl,
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="needs the kubectl binary on PATH"),
]


def kubectl(sandbox: Sandbox, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kubectl", "--kubeconfig", sandbox.kubeconfig_path, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_kubectl_drain_of_a_six_nodes_node_moves_every_pod_once_onto_schedulable_nodes() -> None:
    began = time.monotonic()
    sandbox = Sandbox.start(load_scenario("six-nodes"))
    try:
        assert time.monotonic() - began < 5.0
        listed = kubectl(sandbox, "get", "nodes", "-l", "bluegreen.io/color=blue", "-o", "name")
        assert listed.returncode == 0, listed.stderr
        assert len(listed.stdout.split()) == 6
        with sandbox.cluster.lock:
            pods = sandbox.cluster.list("pods")
        bare = next(p for p in pods if p["metadata"]["name"] == "debug-shell")["spec"]["nodeName"]
        # a node without the bare pod: kubectl (rightly) refuses to drain that one without --force
        target = next(
            n["metadata"]["name"]
            for n in sandbox.cluster.list("nodes")
            if n["metadata"]["name"] != bare
        )
        movable = sorted(
            f"{p['metadata']['namespace']}/{p['metadata']['name']}"
            for p in pods
            if p["spec"].get("nodeName") == target and p["metadata"]["ownerReferences"][0]["kind"] != "DaemonSet"
        )
        assert movable, "the target node should run something to move"

        result = kubectl(sandbox, "drain", target, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=60s")
        assert result.returncode == 0, result.stderr
        assert f"node/{target} drained" in result.stdout

        def moved() -> list[dict]:
            return sandbox.measurements()["pod_moves"]

        deadline = time.monotonic() + 10
        while len(moved()) < len(movable) and time.monotonic() < deadline:
            time.sleep(0.02)
        moves = moved()
        assert sorted(m["pod"] for m in moves) == movable, "every evicted pod moved exactly once"
        with sandbox.cluster.lock:
            nodes = {n["metadata"]["name"]: n for n in sandbox.cluster.list("nodes")}
        for move in moves:
            assert move["how"] == "evicted" and move["from_node"] == target
            assert move["to_node"] != target and not nodes[move["to_node"]]["spec"].get("unschedulable")
        measured = sandbox.measurements()
        assert measured["budget_violations"] == [] and measured["pods_lost"] == []
        assert nodes[target]["spec"]["unschedulable"] is True
    finally:
        sandbox.stop()
