"""Research Jams, the monthly open lab meeting, and the RFPs presented at them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload

from rfp_portal import clock
from rfp_portal.db import Base, UtcDateTime

if TYPE_CHECKING:
    from rfp_portal.models.rfp import Rfp
    from rfp_portal.models.user import User

JAM_TITLE_MAX = 140
JAM_DESCRIPTION_MAX = 10_000
URL_MAX = 2_000
COMMUNITY_ZONE = "America/Los_Angeles"  # the community announces "4pm PT"


class Jam(Base):
    __tablename__ = "jams"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)
    title: Mapped[str] = mapped_column(sa.String(JAM_TITLE_MAX))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)  # stored in UTC
    # When the day-before reminders went out (presenters, the webhooks' agenda); never twice.
    reminded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The zone it was announced in, so the page can say "4 pm PT" as the community does.
    timezone: Mapped[str] = mapped_column(sa.String(64), default=COMMUNITY_ZONE)
    duration_minutes: Mapped[int] = mapped_column(default=90)
    join_url: Mapped[str | None] = mapped_column(sa.String(URL_MAX))
    description_md: Mapped[str] = mapped_column(sa.Text, default="")
    description_html: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)

    presentations: Mapped[list[Presentation]] = relationship(
        back_populates="jam",
        order_by="(Presentation.position, Presentation.id)",
        cascade="all, delete-orphan",
    )

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)

    @property
    def local_start(self) -> datetime:
        """The start in the zone it was announced in."""
        return self.starts_at.astimezone(ZoneInfo(self.timezone))

    def is_upcoming(self, now: datetime) -> bool:
        return self.ends_at >= now

    @property
    def name(self) -> str:
        return f"Research Jam #{self.number}"

    def __repr__(self) -> str:
        return f"<Jam #{self.number} {self.starts_at:%Y-%m-%d}>"


class Presentation(Base):
    """An RFP presented (or to be presented) at a Jam: one link per RFP and Jam."""

    __tablename__ = "presentations"
    __table_args__ = (sa.UniqueConstraint("rfp_id", "jam_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rfp_id: Mapped[int] = mapped_column(sa.ForeignKey("rfps.id", ondelete="CASCADE"), index=True)
    jam_id: Mapped[int] = mapped_column(sa.ForeignKey("jams.id", ondelete="CASCADE"), index=True)
    presenter_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    slides_url: Mapped[str | None] = mapped_column(sa.String(URL_MAX))
    recording_url: Mapped[str | None] = mapped_column(sa.String(URL_MAX))
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)

    jam: Mapped[Jam] = relationship(back_populates="presentations")
    rfp: Mapped[Rfp] = relationship(back_populates="presentations")
    presenter: Mapped[User] = relationship()

    def can_remove(self, user) -> bool:
        return self.rfp.is_managed_by(user)


def with_agenda() -> tuple:
    """Loader options for Jams shown with their agenda: what was presented, and by whom.

    e.g. ``select(Jam).options(*with_agenda())``: two more queries, however many Jams.
    """
    return (
        selectinload(Jam.presentations).selectinload(Presentation.rfp),
        selectinload(Jam.presentations).selectinload(Presentation.presenter),
    )
