"""How a drain stops, on the fake API: at once on an unplaceable replacement, uncordoning the old nodes so moved
pods land again, saying what it left; and never reporting success over a Pending pod, on a re-run either."""

from __future__ import annotations

import pytest

from bluegreen.engine.drain import DrainRun, drain_old_nodes
from bluegreen.engine.errors import EvictionBlocked, ReplacementUnschedulable, WorkloadUnhealthy
from bluegreen.engine.groups import GroupSpec
from bluegreen.engine.progress import CollectingReporter, DrainVerified, NodesUncordoned, PodEvicted
from bluegreen.engine.settings import RolloutSettings
from bluegreen.engine.stop import release_stuck
from tests.integration.engine.kube_world import Crash, CrashAt, start_kube_world

SETTINGS = RolloutSettings(poll_interval_s=1.0, eviction_timeout_s=20.0, node_drain_timeout_s=300.0,
                           workload_healthy_timeout_s=120.0)
#: 3 new nodes of 4 CPUs; big 3 x 2500m and mid 3 x 1500m fit (12 CPUs) only one big + one mid per node. The
#: scheduler spreads the replacements, so the last big pod finds 1500m + 1000m + 0m free: it fits nowhere.
FRAGMENTED = [dict(kind="Deployment", name="big", replicas=3, cpu="2500m", ready_seconds=2),
              dict(kind="Deployment", name="mid", replicas=3, cpu="1500m", ready_seconds=2)]


def run_for(world, reporter=None, settings=SETTINGS):
    reporter = reporter if reporter is not None else CollectingReporter()
    run = DrainRun(world.conn, GroupSpec("c", "blue", "ami-0old", 3), GroupSpec("c", "green", "ami-0new", 3),
                   settings, reporter, world.clock)
    return run, reporter


def ready_counts(world) -> dict[str, int]:
    counts: dict[str, int] = {}
    for pod in world.conn.kube.list_pods():
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions") or [])
        name = pod["metadata"]["labels"].get("app.kubernetes.io/name", "?")
        counts[name] = counts.get(name, 0) + int(ready and not pod["metadata"].get("deletionTimestamp"))
    return counts


def cordoned(world, color: str) -> list[str]:
    return sorted(n["metadata"]["name"] for n in world.conn.kube.nodes_of_color(color)
                  if n["spec"].get("unschedulable"))


def settle(world, seconds: float = 15.0) -> None:
    world.clock.sleep(seconds)


@pytest.fixture
def world_factory(tmp_path):
    worlds = []

    def make(workloads, **kw):
        world = start_kube_world(tmp_path, workloads, **kw)
        worlds.append(world)
        return world

    yield make
    for world in worlds:
        world.stop()


def test_fragmented_capacity_stops_at_once_uncordons_and_a_rerun_never_succeeds(world_factory):
    world = world_factory(FRAGMENTED, per_color=3, cpu="4", placement="spread")
    run, reporter = run_for(world)
    with pytest.raises(ReplacementUnschedulable) as info:
        drain_old_nodes(run)
    error = info.value
    assert error.workload == "Deployment default/big" and error.pod.startswith("default/big-")
    assert "Insufficient cpu" in error.scheduler_message and f'"{error.scheduler_message}"' in str(error)
    assert "force" not in str(error) and "scale the workload up" not in str(error)
    # At once: the stop came within a few polls of the last eviction, not after a health timeout.
    last_eviction = max(i for i, e in enumerate(reporter.events) if isinstance(e, PodEvicted))
    assert not any(isinstance(e, PodEvicted) for e in reporter.events[last_eviction + 1:])
    assert world.clock.now() < 120.0
    # The stop invariant: the old nodes are uncordoned so the Pending pod lands back, and the error says so.
    state = error.state
    assert state.uncordoned == ("blue-0", "blue-1", "blue-2") and state.cordoned == ()
    assert cordoned(world, "blue") == [] and reporter.of(NodesUncordoned)
    assert any(s.workload == "Deployment default/big" and error.pod in s.pending for s in state.below)
    assert "uncordoned 3 blue node(s)" in str(error) and "Insufficient cpu" in str(error)
    settle(world)
    assert ready_counts(world) == {"big": 3, "mid": 3}
    assert world.cluster.measurements.summary()["pods_lost"] == []
    # A re-run cordons again, moves the big pod again, and stops again: it never reports success.
    again, again_reporter = run_for(world)
    with pytest.raises(ReplacementUnschedulable):
        drain_old_nodes(again)
    assert not again_reporter.of(DrainVerified)
    assert cordoned(world, "blue") == []
    settle(world)
    assert ready_counts(world) == {"big": 3, "mid": 3}


def test_rerun_after_a_killed_drain_left_a_pending_pod_stops_before_evicting(world_factory):
    world = world_factory(FRAGMENTED, per_color=3, cpu="4", placement="spread")

    def third_big_eviction(event, collected) -> bool:
        return isinstance(event, PodEvicted) and sum(
            1 for e in collected.of(PodEvicted) if "big" in e.pod) == 3

    run, _ = run_for(world, CrashAt(third_big_eviction))
    with pytest.raises(Crash):
        drain_old_nodes(run)
    settle(world, 5.0)
    assert cordoned(world, "blue") == ["blue-0", "blue-1", "blue-2"]  # the killed run uncordoned nothing
    again, reporter = run_for(world)
    with pytest.raises(ReplacementUnschedulable) as info:
        drain_old_nodes(again)
    assert not reporter.of(PodEvicted) and not reporter.of(DrainVerified)
    assert info.value.workload == "Deployment default/big"
    assert cordoned(world, "blue") == [] and info.value.state.uncordoned
    settle(world)
    assert ready_counts(world) == {"big": 3, "mid": 3}


def test_a_single_replica_down_at_stop_time_is_reported_and_gets_its_node_back(world_factory):
    world = world_factory([dict(kind="Deployment", name="solo", replicas=1, ready_seconds=20),
                           dict(kind="Deployment", name="guarded", replicas=2, pdb={"minAvailable": 2})],
                          per_color=1)
    # singleReplica=evict: solo's only pod is evicted (with surge, the default, it would never be down)
    run, _ = run_for(world, settings=SETTINGS.with_overrides(eviction_timeout_s=5.0, single_replica="evict"))
    with pytest.raises(EvictionBlocked) as info:
        drain_old_nodes(run)
    state = info.value.state
    solo = next(s for s in state.below if s.workload == "Deployment default/solo")
    assert (solo.ready, solo.desired) == (0, 1) and "slow" in solo.why
    assert "below desired: Deployment default/solo 0/1 Ready" in str(info.value)
    assert state.uncordoned == ("blue-0",)  # solo lost its Ready pod in this run: its old node serves again
    assert "scale the workload up or loosen the budget" in str(info.value)  # minAvailable 2 of 2: more helps


def test_success_is_verified_and_reports_every_workload_whole(world_factory):
    world = world_factory(FRAGMENTED, per_color=3, cpu="4", new_cpu="8", placement="spread")
    run, reporter = run_for(world)
    state = drain_old_nodes(run)
    assert state.drained == ["blue-0", "blue-1", "blue-2"]
    assert {(str(v.ref), v.ready, v.desired) for v in state.verified} == {
        ("Deployment default/big", 3, 3), ("Deployment default/mid", 3, 3)}
    assert reporter.of(DrainVerified) and cordoned(world, "blue") == ["blue-0", "blue-1", "blue-2"]


def test_a_failed_gate_releases_a_cordon_that_keeps_a_moved_pod_pending(world_factory):
    # What the readiness and load-balancer gates call when they time out (they need AWS; the release does not).
    world = world_factory(FRAGMENTED, per_color=3, cpu="4", placement="spread")

    def third_big_eviction(event, collected) -> bool:
        return isinstance(event, PodEvicted) and sum(1 for e in collected.of(PodEvicted) if "big" in e.pod) == 3

    run, _ = run_for(world, CrashAt(third_big_eviction))
    with pytest.raises(Crash):
        drain_old_nodes(run)
    settle(world, 5.0)
    reporter = CollectingReporter()
    state = release_stuck(world.conn.kube, "green", reporter)
    assert state.old_color == "blue" and state.uncordoned == ("blue-0", "blue-1", "blue-2")
    assert [s.workload for s in state.below] == ["Deployment default/big"]
    settle(world)
    assert ready_counts(world) == {"big": 3, "mid": 3}
    # Nothing stuck any more: a second release changes nothing.
    assert release_stuck(world.conn.kube, "green", CollectingReporter()).uncordoned == ()


def test_a_slow_replacement_is_named_slow_with_its_wait_and_the_setting_that_bounds_it(world_factory):
    world = world_factory([dict(kind="Deployment", name="slow", replicas=2, ready_seconds=25)], per_color=2,
                          placement="spread")
    run, _ = run_for(world, settings=SETTINGS.with_overrides(workload_healthy_timeout_s=10.0))
    with pytest.raises(WorkloadUnhealthy) as info:
        drain_old_nodes(run)
    message = str(info.value)
    assert "Deployment default/slow" in message and "slow: default/slow-" in message
    assert "placed but not Ready for 1" in message and "rollout.workloadHealthyTimeoutSeconds" in message
    assert "force" not in message and "scale the workload up" not in message
    # It lost a Ready pod in this run, so its old node is serving again.
    assert info.value.state.uncordoned and cordoned(world, "blue") == []
