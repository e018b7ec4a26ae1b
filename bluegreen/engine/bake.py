"""The bake: after the last old node is drained and verified, the old group stays (cordoned, at its size) for
``rollout.bakeSeconds`` while the health signals are watched; only then may it be scaled to zero. A signal that
fails during the bake stops the run while the way back is still there (``rollback.py``)."""

from __future__ import annotations

from bluegreen.engine.clock import Clock
from bluegreen.engine.progress import BakeFinished, BakeStarted, Reporter
from bluegreen.engine.settings import RolloutSettings
from bluegreen.engine.signals import SignalWatch


def bake_checks(bake_s: float, poll_s: float) -> list[float]:
    """The seconds into the bake at which the signals are read: every poll interval, and at its end."""
    if bake_s <= 0:
        return []
    step = max(poll_s, 0.001)
    marks, at = [], step
    while at < bake_s:
        marks.append(at)
        at += step
    return [*marks, bake_s]


def bake(watch: SignalWatch | None, settings: RolloutSettings, clock: Clock, reporter: Reporter,
         old_group: str) -> None:
    """Wait ``settings.bake_s`` with the old group kept, reading the signals every poll interval. Raises
    SignalFailed at the first failed read. Without signals the bake still waits (the operator watches)."""
    if settings.bake_s <= 0:
        return
    reporter.emit(BakeStarted(settings.bake_s, old_group))
    start = clock.now()
    for mark in bake_checks(settings.bake_s, settings.poll_interval_s):
        wait = start + mark - clock.now()
        if wait > 0:
            clock.sleep(wait)
        if watch is not None:
            watch.check(f"during the bake ({clock.now() - start:.0f}s of {settings.bake_s:.0f}s)")
    reporter.emit(BakeFinished(clock.now() - start))
