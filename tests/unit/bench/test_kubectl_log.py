"""Reading kubectl drain's output for its real-time waits."""

from __future__ import annotations

import pytest

from bench.kubectl_log import node_waits, speed_inflation_s

LOG = """new nodes ready: 2
node/ip-10-0-0-4.eu-west-1.compute.internal cordoned
Warning: ignoring DaemonSet-managed Pods: logging/log-agent-abcde
evicting pod shop/web-1
evicting pod shop/web-2
error when evicting pods/"web-2" -n "shop" (will retry after 5s): {why}
evicting pod shop/web-2
error when evicting pods/"web-2" -n "shop" (will retry after 5s): {why}
evicting pod data/cache-1
error when evicting pods/"cache-1" -n "data" (will retry after 5s): {why}
evicting pod shop/web-2
pod/web-1 evicted
node/ip-10-0-0-4.eu-west-1.compute.internal drained
node/ip-10-0-0-5.eu-west-1.compute.internal cordoned
evicting pod shop/api-1
pod/api-1 evicted
node/ip-10-0-0-5.eu-west-1.compute.internal drained
""".format(why="Cannot evict pod as it would violate the pod's disruption budget.")


def test_refusals_are_counted_per_node_and_per_pod():
    waits = node_waits(LOG)
    assert [(w.node.split(".")[0], w.retries, w.critical_retries) for w in waits] == [
        ("ip-10-0-0-4", 3, 2),  # web-2 waited twice in a row; cache-1 once, in parallel
        ("ip-10-0-0-5", 0, 0),
    ]


def test_inflation_is_the_real_waits_times_speed_minus_one():
    waits = node_waits(LOG)
    # node 1: 2 sequential 5 s sleeps + half a 1 s poll; node 2: half a poll
    assert speed_inflation_s(waits, 10) == pytest.approx(9 * (10 + 0.5 + 0.5))
    assert speed_inflation_s(waits, 1) == 0.0
