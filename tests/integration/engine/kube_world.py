"""A Kubernetes-only world for drain tests: FakeCluster + FakeApiServer + Ticker, blue and green nodes."""

from __future__ import annotations

from dataclasses import dataclass

from bluegreen.engine.connection import ClusterTarget, connect, local_session
from bluegreen.engine.naming import COLOR_LABEL, provider_id
from bluegreen.engine.progress import CollectingReporter
from bluegreen.sandbox.clock import ScaledClock
from bluegreen.sandbox.kube.cluster import FakeCluster
from bluegreen.sandbox.kube.objects import workload_objects
from bluegreen.sandbox.kube.server import FakeApiServer
from bluegreen.sandbox.ticker import Ticker


@dataclass
class KubeWorld:
    cluster: FakeCluster
    server: FakeApiServer
    ticker: Ticker
    clock: ScaledClock
    conn: object

    def stop(self) -> None:
        self.ticker.stop()
        self.server.stop()


def start_kube_world(tmp_path, workloads: list[dict], *, per_color: int = 2, placement: str = "packed",
                     speed: float = 40.0, cpu: str = "2", memory: str = "8Gi",
                     new_cpu: str | None = None) -> KubeWorld:
    """Blue nodes serving ``workloads`` (dicts of workload_objects kwargs incl. kind/name), green nodes empty."""
    cluster = FakeCluster(placement=placement)
    clock = ScaledClock(speed)
    for i in range(per_color):
        cluster.add_node(f"blue-{i}", provider_id=provider_id("eu-west-1a", f"i-b{i}"),
                         labels={COLOR_LABEL: "blue"}, cpu=cpu, memory=memory, pods=30)
    with cluster.lock:
        for w in workloads:
            for obj in workload_objects(**w):
                cluster.apply(obj)
    cluster.settle(until=30.0)
    for i in range(per_color):
        cluster.add_node(f"green-{i}", provider_id=provider_id("eu-west-1b", f"i-g{i}"),
                         labels={COLOR_LABEL: "green"}, cpu=new_cpu or cpu, memory=memory, pods=30)
    server = FakeApiServer(cluster)
    server.start()
    kubeconfig = server.write_kubeconfig(str(tmp_path / "kubeconfig"))
    base = cluster.now if hasattr(cluster, "now") else 30.0
    ticker = Ticker(clock, [lambda now: cluster.advance(base + 1 + now)])
    cluster.measurements.start(base)
    ticker.start()
    conn = connect(ClusterTarget("c", "eu-west-1", kubeconfig_path=kubeconfig), session=local_session("eu-west-1"))
    return KubeWorld(cluster, server, ticker, clock, conn)


class Crash(BaseException):
    """A killed process: no clean-up runs (the drain's ``except Exception`` does not see it)."""


class CrashAt(CollectingReporter):
    """Collects events and kills the run (raises Crash) at the first event for which ``when(event, self)``."""

    def __init__(self, when) -> None:
        super().__init__()
        self.when = when

    def emit(self, event) -> None:
        super().emit(event)
        if self.when(event, self):
            raise Crash(repr(event))
