"""The real-time cost of controller ticks that reports print."""

from __future__ import annotations

from bluegreen.sandbox.kube.cluster import FakeCluster
from bluegreen.sandbox.kube.objects import workload_objects
from bluegreen.sandbox.kube.tick_costs import TickCosts
from tests.integration.sandbox.kube_fixtures import add_nodes


def test_tick_costs_summarise_durations_and_pods():
    costs = TickCosts()
    assert costs.summary() == {"ticks": 0, "max_pods": 0, "median_ms": 0.0, "p95_ms": 0.0, "max_ms": 0.0}
    for index in range(1, 101):
        costs.record(index / 1000, pods=index)
    summary = costs.summary()
    assert summary == {"ticks": 100, "max_pods": 100, "median_ms": 50.5, "p95_ms": 95.0, "max_ms": 100.0}
    assert costs.line().startswith("sandbox controller tick: median 50.5 ms, p95 95.0 ms, max 100.0 ms over 100 ticks")


def test_every_advance_is_timed():
    cluster = FakeCluster()
    add_nodes(cluster, 2)
    for obj in workload_objects("Deployment", "web", replicas=3):
        cluster.apply(obj)
    cluster.settle(5)
    summary = cluster.tick_costs.summary()
    assert summary["ticks"] == 5 and summary["max_pods"] == 3 and 0 < summary["median_ms"] <= summary["max_ms"]
