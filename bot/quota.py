"""Per-user limits on new summaries, so one user cannot keep the model to themselves."""

from __future__ import annotations

import time


class UserQuota:
    """A token bucket per user: `per_minute` new summaries, refilled evenly; 0 = no limit."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._buckets: dict[int, tuple[float, float]] = {}

    def take(self, user_id: int, now: float | None = None) -> float:
        """0 if the user may have one more now, else the seconds until they may."""
        if self.per_minute <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        rate = self.per_minute / 60.0
        tokens, updated = self._buckets.get(user_id, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + (now - updated) * rate)
        if tokens >= 1:
            self._buckets[user_id] = (tokens - 1, now)
            return 0.0
        self._buckets[user_id] = (tokens, now)
        return (1 - tokens) / rate
