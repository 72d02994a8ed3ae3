"""What every event on the calendar shares: a start in UTC, a zone it was announced in, a length.

Research Jams and the events of other series (``models.event``) both keep these columns; the
time rules (when it ends, whether it is still upcoming) live here once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

COMMUNITY_ZONE = "America/Los_Angeles"  # the community announces "4pm PT"


class Scheduled:
    """Mixin for a mapped class with ``starts_at`` (UTC), ``timezone`` and ``duration_minutes``."""

    starts_at: datetime
    timezone: str
    duration_minutes: int

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)

    @property
    def local_start(self) -> datetime:
        """The start in the zone it was announced in."""
        return self.starts_at.astimezone(ZoneInfo(self.timezone))

    def is_upcoming(self, now: datetime) -> bool:
        """Upcoming until it ends: a meeting under way is still one to join."""
        return self.ends_at >= now

    def has_started(self, now: datetime) -> bool:
        return self.starts_at <= now
