"""Per-user limits on new summaries, so one user cannot keep the model to themselves."""

from __future__ import annotations

import time

from briefbot.bot.ratelimit import Buckets


class UserQuota:
    """`per_minute` new summaries per user, refilled evenly; 0 means no limit."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._buckets = Buckets(per_minute, per_minute / 60)

    def take(self, user_id: int, now: float | None = None) -> float:
        """0 if the user may have one more now, else the seconds until they may."""
        if self.per_minute <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        return self._buckets.get(user_id, now).try_take(now)
