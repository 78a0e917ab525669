"""Retry delays: exponential backoff with "equal jitter" (half fixed, half random).

Equal jitter keeps delays growing from one attempt to the next (unlike full jitter) while
still spreading retries of many tasks apart.
"""

from __future__ import annotations

import random

from bureau.sdk.decorator import RetryPolicy


def retry_delay(policy: RetryPolicy, attempt: int, rng: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based)."""
    base = min(policy.max_delay, policy.initial_delay * policy.multiplier ** (attempt - 1))
    return base / 2 + (rng or random).uniform(0, base / 2)
