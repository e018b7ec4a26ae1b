"""What kubectl's own output says about its real-time waits, to judge how much the sandbox's speed inflates them.

``kubectl drain`` sleeps 5 real seconds after every eviction a PodDisruptionBudget refuses (429) and polls
every real second until the evicted pods are gone. At sandbox speed S each such second is S simulated
seconds, where on a real cluster it would be one. Per node, the evictions of different pods retry in
parallel, so the node waits at least (most retries of any one pod) x 5 s; plus, on average, half a poll
interval of overshoot when its pods are gone. ``speed_inflation_s`` turns that into the simulated seconds
kubectl spent only because its clock is real (an estimate; exact accounting would need kubectl's internals).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

RETRY_SLEEP_S = 5.0  # k8s.io/kubectl/pkg/drain: time.Sleep(5 * time.Second) on TooManyRequests
DELETE_POLL_S = 1.0  # waitForDelete polls every second

_CORDONED = re.compile(r"^node/(\S+) (?:cordoned|already cordoned)")
_RETRY = re.compile(r'error when evicting pods/"([^"]+)" -n "([^"]+)" \(will retry after 5s\)')


@dataclass(frozen=True)
class NodeWaits:
    node: str
    retries: int  # 429s refused on this node, all pods
    critical_retries: int  # most retries of any one pod: sequential 5-second sleeps the node had to wait


def node_waits(log: str) -> list[NodeWaits]:
    """Per drained node, in order: kubectl's refused evictions, from its output."""
    result: list[NodeWaits] = []
    node: str | None = None
    per_pod: Counter[str] = Counter()

    def close() -> None:
        if node is not None:
            result.append(NodeWaits(node, sum(per_pod.values()), max(per_pod.values(), default=0)))

    for line in log.splitlines():
        started = _CORDONED.match(line.strip())
        if started:
            close()
            node, per_pod = started.group(1), Counter()
            continue
        retry = _RETRY.search(line)
        if retry and node is not None:
            per_pod[f"{retry.group(2)}/{retry.group(1)}"] += 1
    close()
    return result


def speed_inflation_s(waits: list[NodeWaits], speed: float) -> float:
    """Simulated seconds kubectl's real-time waits cost beyond what they would cost at speed 1 (an estimate)."""
    if speed <= 1:
        return 0.0
    real_waits = sum(w.critical_retries * RETRY_SLEEP_S + DELETE_POLL_S / 2 for w in waits)
    return (speed - 1) * real_waits
