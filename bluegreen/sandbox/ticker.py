"""A daemon thread that drives the sandbox's controllers from a clock."""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from bluegreen.engine.clock import Clock


@dataclass(frozen=True)
class TickerError:
    """One exception a callback raised, kept so tests and reports can show it."""

    callback: str
    now: float
    error: BaseException
    traceback: str


class Ticker:
    """Calls each ``callback(clock.now())`` every ``interval_s`` real seconds until stopped.

    A callback that raises does not stop the ticker (the next tick may succeed);
    the exception is recorded in ``errors`` so nobody mistakes a broken
    controller for a slow one.
    """

    def __init__(self, clock: Clock, callbacks: list[Callable[[float], None]], interval_s: float = 0.02):
        self.clock = clock
        self.callbacks = list(callbacks)
        self.interval_s = interval_s
        self.errors: list[TickerError] = []
        self.ticks = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("Ticker already started; create a new Ticker to run again")
        self._thread = threading.Thread(target=self._run, name="sandbox-ticker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop ticking and wait for the thread to finish its current tick."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def tick(self) -> None:
        """Run every callback once at the clock's current time."""
        now = self.clock.now()
        for callback in self.callbacks:
            try:
                callback(now)
            except Exception as error:  # recorded, not swallowed: see ``errors``
                self.errors.append(
                    TickerError(getattr(callback, "__qualname__", repr(callback)), now, error, traceback.format_exc())
                )
        self.ticks += 1

    def _run(self) -> None:
        while not self._stop.is_set():
            self.tick()
            self._stop.wait(self.interval_s)

    def __enter__(self) -> Ticker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
