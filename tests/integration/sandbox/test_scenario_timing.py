"""The scenario's ``timing`` keys: validated, defaulted, and handed to the sandbox's cluster."""

from __future__ import annotations

import pytest

from bluegreen.sandbox.kube.store import ClusterTiming
from bluegreen.sandbox.scenario import ScenarioError, load_scenario, parse_scenario

BASE = {"nodes_per_color": 2, "node": {"cpu": "2", "memory": "8Gi", "pods": 20},
        "ami": {"from": "ami-0aaaaaaaaaaaaaaaa", "to": "ami-0bbbbbbbbbbbbbbbb"}}


def test_timing_defaults_and_overrides():
    assert parse_scenario(BASE).timing == ClusterTiming()
    assert load_scenario("small").timing == ClusterTiming()
    timing = parse_scenario({**BASE, "timing": {"schedule_seconds": 0.5, "container_start_seconds": 3,
                                                "node_monitor_grace_seconds": 50,
                                                "default_toleration_seconds": 60}}).timing
    assert timing == ClusterTiming(0.5, 3.0, 50.0, 60)


@pytest.mark.parametrize(("timing", "message"), [
    ({"container_start_seconds": -1}, "timing.container_start_seconds: -1 is out of range"),
    ({"node_monitor_grace_seconds": 0}, "timing.node_monitor_grace_seconds: 0 is out of range"),
    ({"default_toleration_seconds": 1.5}, "timing.default_toleration_seconds: 1.5 is not an integer"),
    ({"pull_seconds": 1}, "timing.pull_seconds: unknown field 'pull_seconds'"),
])
def test_bad_timing_is_named(timing: dict, message: str):
    with pytest.raises(ScenarioError, match=message):
        parse_scenario({**BASE, "timing": timing})
