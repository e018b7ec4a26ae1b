"""Which failed calls are worth repeating, and how long to wait before the next try."""

from __future__ import annotations

import random

#: HTTP statuses a Kubernetes call is retried on (throttling and server trouble), like client-go and eksctl.
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


def is_retryable(status: int) -> bool:
    """0 stands for "no HTTP answer" (connection refused/reset, timeout)."""
    return status == 0 or status in RETRYABLE_STATUSES


def backoff_delay(attempt: int, *, base_s: float = 0.1, cap_s: float = 2.0, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter: attempt 1 waits up to base_s, doubling up to cap_s."""
    ceiling = min(cap_s, base_s * (2 ** max(0, attempt - 1)))
    return (rng or random).uniform(ceiling / 2, ceiling)
