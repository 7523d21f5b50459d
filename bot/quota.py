"""Per-user limits on new summaries, so one user cannot keep the model to themselves."""

from __future__ import annotations

import time

from briefbot.bot.ratelimit import TokenBucket


class UserQuota:
    """A token bucket per user: `per_minute` new summaries, refilled evenly; 0 = no limit."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._buckets: dict[int, TokenBucket] = {}

    def take(self, user_id: int, now: float | None = None) -> float:
        """0 if the user may have one more now, else the seconds until they may."""
        if self.per_minute <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(user_id)
        if bucket is None:
            bucket = self._buckets[user_id] = TokenBucket(
                self.per_minute, self.per_minute / 60, now
            )
        return bucket.try_take(now)
