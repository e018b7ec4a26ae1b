"""Simulated time that runs ``speed`` times faster than real time.

The sandbox's controllers and the engine share one ScaledClock, so a readiness
delay of 30 simulated seconds passes in 0.3 real seconds at speed 100, and the
engine's timeouts (read on the same clock) stay meaningful.
"""

from __future__ import annotations

import time


class ScaledClock:
    """A bluegreen.engine.clock.Clock in simulated seconds (0.0 at creation)."""

    def __init__(self, speed: float = 1.0):
        if speed <= 0:
            raise ValueError(f"ScaledClock speed must be > 0 (simulated seconds per real second), got {speed!r}")
        self.speed = float(speed)
        self._origin = time.monotonic()

    def now(self) -> float:
        """Simulated seconds since this clock was created."""
        return (time.monotonic() - self._origin) * self.speed

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of simulated time (``seconds / speed`` of real time)."""
        if seconds > 0:
            time.sleep(seconds / self.speed)
