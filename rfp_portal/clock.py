"""The portal's one clock.

Every "now" in the portal comes from here: services take ``now`` from their caller, and callers
(views, commands, model defaults) ask this function. Tests move time with time-machine, which
this reads through ``datetime.now``; no setting of the portal exists for it.
"""

from datetime import UTC, datetime


def now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def timestamp() -> float:
    """Seconds since the epoch on the same clock (the page cache ages its entries by it)."""
    return now().timestamp()
