"""Shared builders and fixtures for the fake Kubernetes API tests."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bluegreen.engine.naming import COLOR_LABEL, provider_id
from bluegreen.sandbox.clock import ScaledClock
from bluegreen.sandbox.kube.cluster import FakeCluster
from bluegreen.sandbox.kube.objects import workload_objects
from bluegreen.sandbox.kube.server import FakeApiServer
from bluegreen.sandbox.ticker import Ticker

KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH; install kubectl 1.32 to run")


def node_name(index: int) -> str:
    return f"ip-10-0-1-{10 + index}.ec2.internal"


def add_nodes(cluster: FakeCluster, count: int, *, color: str = "blue", start: int = 0, cpu: str = "2",
              memory: str = "8Gi", pods: int = 20, ready: bool = True) -> list[str]:
    names = []
    for index in range(start, start + count):
        name = node_name(index)
        cluster.add_node(name, provider_id=provider_id("eu-west-1a", f"i-{index:017x}"), labels={COLOR_LABEL: color},
                         cpu=cpu, memory=memory, pods=pods, ready=ready)
        names.append(name)
    return names


def demo_workloads() -> list[dict]:
    """3 workloads with PDBs (int, int maxUnavailable, percent), a DaemonSet and a bare pod."""
    return (
        workload_objects("Deployment", "web", replicas=3, pdb={"minAvailable": 2}, ready_seconds=5,
                         grace_seconds=10)
        + workload_objects("StatefulSet", "db", namespace="data", replicas=3, pdb={"maxUnavailable": 1},
                           ready_seconds=3)
        + workload_objects("Deployment", "api", replicas=4, pdb={"maxUnavailable": "25%"}, empty_dir=True)
        + workload_objects("DaemonSet", "agent", cpu="50m", memory="64Mi")
        + workload_objects("Pod", "lonely")
    )


def demo_cluster(*, placement: str = "spread", seed: int = 0, settle_until: float = 60.0) -> FakeCluster:
    """6 nodes (3 blue, 3 green) and the demo workloads, settled at ``settle_until`` simulated seconds."""
    cluster = FakeCluster(placement=placement, seed=seed)
    add_nodes(cluster, 3, color="blue")
    add_nodes(cluster, 3, color="green", start=3)
    for obj in demo_workloads():
        cluster.apply(obj)
    cluster.settle(settle_until)
    return cluster


def ready_pods(cluster: FakeCluster, prefix: str, namespace: str = "default") -> list[dict]:
    return [p for p in cluster.list("pods", namespace) if p["metadata"]["name"].startswith(prefix)
            and not p["metadata"].get("deletionTimestamp")
            and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))]


@dataclass
class Served:
    cluster: FakeCluster
    server: FakeApiServer
    ticker: Ticker | None
    kubeconfig: str

    def advance(self, seconds: float) -> None:
        """Manual mode only: run the controllers ``seconds`` of simulated time further, in 1 s steps."""
        assert self.ticker is None, "the ticker drives this cluster; do not advance it by hand"
        self.cluster.settle(self.cluster.now + seconds)

    def kubectl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        assert KUBECTL is not None
        cache = str(Path(self.kubeconfig).parent / "kube-cache")  # keep kubectl's discovery cache out of $HOME
        return subprocess.run([KUBECTL, "--kubeconfig", self.kubeconfig, "--cache-dir", cache, *args],
                              capture_output=True, text=True, timeout=timeout)


def serve(cluster: FakeCluster, tmp_path: Path, *, speed: float | None = 20.0) -> Iterator[Served]:
    """Run ``cluster`` behind a FakeApiServer, with a Ticker at ``speed`` simulated seconds per real second
    (``speed=None``: no ticker; the test advances the cluster itself, deterministically)."""
    server = FakeApiServer(cluster)
    server.start()
    ticker = None
    if speed is not None:
        clock = ScaledClock(speed)
        base = cluster.now
        ticker = Ticker(clock, [lambda now: cluster.advance(base + now)], interval_s=0.01)
        ticker.start()
    try:
        yield Served(cluster, server, ticker, server.write_kubeconfig(str(tmp_path / "kubeconfig")))
    finally:
        if ticker is not None:
            ticker.stop()
        server.stop()
    assert ticker is None or not ticker.errors, ticker.errors[0].traceback
    assert not server.internal_errors, server.internal_errors[0]


@pytest.fixture
def served_demo(tmp_path: Path) -> Iterator[Served]:
    yield from serve(demo_cluster(), tmp_path)


@pytest.fixture
def api_client(tmp_path: Path):
    """(Served demo cluster without a ticker, official client ApiClient loaded from its kubeconfig)."""
    from kubernetes import config

    for served in serve(demo_cluster(), tmp_path, speed=None):
        api = config.new_client_from_config(config_file=served.kubeconfig)
        try:
            yield served, api
        finally:
            api.close()
