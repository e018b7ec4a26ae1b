"""ScaledClock and Ticker: simulated time and the thread that drives the controllers."""

from __future__ import annotations

import threading
import time

import pytest

from bluegreen.sandbox.clock import ScaledClock
from bluegreen.sandbox.ticker import Ticker


def test_scaled_clock_runs_speed_times_faster():
    clock = ScaledClock(speed=50)
    assert clock.now() < 1.0
    started = time.monotonic()
    clock.sleep(5)  # 5 simulated seconds = 0.1 s of real time
    real = time.monotonic() - started
    assert 0.09 <= real < 0.6
    assert clock.now() >= 5.0
    with pytest.raises(ValueError, match="speed must be > 0"):
        ScaledClock(0)


def test_ticker_calls_callbacks_with_clock_time_and_records_errors():
    clock = ScaledClock(speed=10)
    seen: list[float] = []
    calls = threading.Event()

    def record(now: float) -> None:
        seen.append(now)
        if len(seen) >= 5:
            calls.set()

    def broken(now: float) -> None:
        raise RuntimeError("controller bug")

    ticker = Ticker(clock, [record, broken], interval_s=0.005)
    ticker.start()
    assert calls.wait(2.0)
    ticker.stop()
    count = len(seen)
    time.sleep(0.03)
    assert len(seen) == count  # stopped means stopped
    assert seen == sorted(seen) and seen[0] >= 0.0
    assert ticker.errors and isinstance(ticker.errors[0].error, RuntimeError)
    assert "controller bug" in ticker.errors[0].traceback and ticker.errors[0].callback.endswith("broken")
    with pytest.raises(RuntimeError, match="already started"):
        ticker.start()
