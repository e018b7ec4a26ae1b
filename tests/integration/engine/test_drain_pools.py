"""A pool's drain on the fake API: it cordons and drains only that pool's old nodes, never another pool's."""

from __future__ import annotations

from bluegreen.engine.api import GroupSpec
from bluegreen.engine.connection import ClusterTarget, connect, local_session
from bluegreen.engine.drain import DrainRun, drain_old_nodes
from bluegreen.engine.naming import COLOR_LABEL, POOL_LABEL, provider_id
from bluegreen.engine.progress import CollectingReporter
from bluegreen.engine.settings import RolloutSettings
from bluegreen.engine.view import read_view
from bluegreen.sandbox.clock import ScaledClock
from bluegreen.sandbox.kube.cluster import FakeCluster
from bluegreen.sandbox.kube.objects import workload_objects
from bluegreen.sandbox.kube.server import FakeApiServer
from bluegreen.sandbox.ticker import Ticker

SETTINGS = RolloutSettings(poll_interval_s=1.0, eviction_timeout_s=20.0, node_drain_timeout_s=300.0,
                           workload_healthy_timeout_s=120.0)


def test_a_pools_drain_touches_only_its_own_old_nodes(tmp_path) -> None:
    cluster = FakeCluster(placement="spread")
    # Blue serves in both pools: two default-pool nodes (no pool label, as before pools) and one gpu node.
    for i in range(2):
        cluster.add_node(f"blue-{i}", provider_id=provider_id("eu-west-1a", f"i-b{i}"),
                         labels={COLOR_LABEL: "blue"}, cpu="2", memory="8Gi", pods=30)
    cluster.add_node("gpu-blue-0", provider_id=provider_id("eu-west-1a", "i-gb0"),
                     labels={COLOR_LABEL: "blue", POOL_LABEL: "gpu"}, cpu="2", memory="8Gi", pods=30)
    with cluster.lock:
        for obj in workload_objects("Deployment", "web", replicas=6, ready_seconds=2):
            cluster.apply(obj)
    cluster.settle(until=30.0)
    cluster.add_node("gpu-green-0", provider_id=provider_id("eu-west-1b", "i-gg0"),
                     labels={COLOR_LABEL: "green", POOL_LABEL: "gpu"}, cpu="2", memory="8Gi", pods=30)
    server = FakeApiServer(cluster)
    server.start()
    clock = ScaledClock(40.0)
    ticker = Ticker(clock, [lambda now: cluster.advance(31.0 + now)])
    ticker.start()
    try:
        kubeconfig = server.write_kubeconfig(str(tmp_path / "kubeconfig"))
        conn = connect(ClusterTarget("c", "eu-west-1", kubeconfig_path=kubeconfig), session=local_session("eu-west-1"))
        old = GroupSpec("c", "blue", "ami-0old", 0, pool="gpu")
        new = GroupSpec("c", "green", "ami-0new", 1, pool="gpu")
        view = read_view(conn.kube, "blue", "green", pool="gpu")
        assert [n.name for n in view.old_nodes] == ["gpu-blue-0"]
        assert [n.name for n in view.new_nodes] == ["gpu-green-0"]
        on_gpu = [p for p in view.pods if p.node == "gpu-blue-0"]
        assert on_gpu, "the spread placement put pods on the gpu pool's old node"

        state = drain_old_nodes(DrainRun(conn, old, new, SETTINGS, CollectingReporter(), clock))
        assert (state.drained, state.already) == (["gpu-blue-0"], [])
        nodes = {n["metadata"]["name"]: n for n in conn.kube.list_nodes()}
        assert nodes["gpu-blue-0"]["spec"].get("unschedulable")
        for name in ("blue-0", "blue-1"):  # the default pool's old nodes: untouched
            assert not nodes[name]["spec"].get("unschedulable"), name
            assert "bluegreen.io/drain-state" not in (nodes[name]["metadata"].get("annotations") or {}), name
        # The default pool's selection (nodes without a pool label) is what its own drain would see.
        default = read_view(conn.kube, "blue", "green", pool="workers")
        assert sorted(n.name for n in default.old_nodes) == ["blue-0", "blue-1"] and default.new_nodes == ()
    finally:
        ticker.stop()
        server.stop()
