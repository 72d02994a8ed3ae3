"""Log-in sessions: one row per log-in, so that one can be ended for good (issue 15)."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rfp_portal import clock
from rfp_portal.db import Base, UtcDateTime
from rfp_portal.models.user import User

DEVICE_MAX = 120
# Seeing a session again sooner than this does not write its last_seen_at: reads stay reads.
SEEN_EVERY = timedelta(minutes=1)


def hash_token(token: str) -> str:
    """What the database keeps of a session's token: a leaked table logs nobody in."""
    return hashlib.sha256(token.encode()).hexdigest()


_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
             ("Safari/", "Safari"), ("curl/", "curl"))  # fmt: skip
_SYSTEMS = (("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"), ("Windows", "Windows"),
            ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))  # fmt: skip


def describe_device(user_agent: str) -> str:
    """A short description of a browser ("Firefox on Linux") from its User-Agent header."""
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), None)
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), None)
    if browser and system:
        return f"{browser} on {system}"
    if browser or system:
        return browser or system
    # Something else: its first word, without anything that is not plainly printable.
    first = re.sub(r"[^\w./ -]", "", user_agent.split(" ", 1)[0])[:40]
    return first or "An unknown browser"


class LoginSession(Base):
    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    device: Mapped[str] = mapped_column(sa.String(DEVICE_MAX))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    user: Mapped[User] = relationship()

    @property
    def is_active(self) -> bool:
        return self.ended_at is None

    def can_be_ended_by(self, user) -> bool:
        """Only its own person ends a session (an admin ends them all by deactivating)."""
        return user is not None and user.is_authenticated and user.id == self.user_id

    def is_due_a_sighting(self, now: datetime) -> bool:
        return now - self.last_seen_at >= SEEN_EVERY

    def __repr__(self) -> str:
        return f"<LoginSession {self.id} of user {self.user_id}>"
