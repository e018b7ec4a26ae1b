"""The benchmark's scenario files load with the sandbox's own parser, and the lower bound reads them the same way."""

from __future__ import annotations

import pytest

from bench.catalog import NAMES, load_bench_scenario, load_shape
from bench.shape import quantity


@pytest.mark.parametrize("name", NAMES)
def test_the_sandbox_and_the_lower_bound_read_the_same_scenario(name):
    scenario = load_bench_scenario(name)  # the sandbox's validation, every field but the node-count cap
    shape = load_shape(name)
    assert scenario.nodes_per_color == shape.nodes_per_color
    assert scenario.placement == shape.placement
    assert scenario.join_seconds == shape.join_seconds
    assert scenario.load_balancers.healthy_after_seconds == shape.healthy_after_seconds
    assert int(quantity(scenario.node.cpu, "cpu") * 1000) == shape.node.cpu_millis
    assert scenario.node.pods == shape.node.pods
    seen = [(w.kind, w.namespace, w.name, w.ready_seconds, w.grace_seconds) for w in shape.workloads]
    assert seen == [(w.kind, w.namespace, w.name, w.ready_seconds, w.grace_seconds) for w in scenario.workloads]
    for ours, theirs in zip(shape.workloads, scenario.workloads, strict=True):
        if theirs.kind != "DaemonSet":
            assert ours.replicas == theirs.replicas
        assert (ours.pdb is None) == (theirs.pdb is None)
        if theirs.pdb is not None:
            assert (ours.pdb.min_available, ours.pdb.max_unavailable) == (
                theirs.pdb.min_available, theirs.pdb.max_unavailable)
