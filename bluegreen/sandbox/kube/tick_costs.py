"""Real time each controller tick of the fake cluster took, so reports can show what the sandbox costs."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

#: Durations kept for the percentiles (the oldest are dropped beyond this; count and max keep counting).
KEPT = 200_000


@dataclass
class TickCosts:
    """Real seconds per ``FakeCluster.advance`` and the most pods it ever ran over."""

    durations: list[float] = field(default_factory=list)
    ticks: int = 0
    max_s: float = 0.0
    max_pods: int = 0

    def record(self, seconds: float, pods: int) -> None:
        self.ticks += 1
        self.max_s = max(self.max_s, seconds)
        self.max_pods = max(self.max_pods, pods)
        if len(self.durations) >= KEPT:
            del self.durations[: KEPT // 2]
        self.durations.append(seconds)

    def summary(self) -> dict[str, float | int]:
        """ticks, max_pods, median_ms, p95_ms, max_ms (zeros before the first tick)."""
        ordered = sorted(self.durations)
        if not ordered:
            return {"ticks": 0, "max_pods": 0, "median_ms": 0.0, "p95_ms": 0.0, "max_ms": 0.0}
        return {"ticks": self.ticks, "max_pods": self.max_pods,
                "median_ms": round(statistics.median(ordered) * 1000, 2),
                "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 2),
                "max_ms": round(self.max_s * 1000, 2)}

    def line(self) -> str:
        s = self.summary()
        return (f"sandbox controller tick: median {s['median_ms']} ms, p95 {s['p95_ms']} ms, max {s['max_ms']} ms "
                f"over {s['ticks']} ticks (up to {s['max_pods']} pods)")
