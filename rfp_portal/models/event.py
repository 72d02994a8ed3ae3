"""Event series beside Research Jams (MLC OpenClubHouse, conference socials, any an admin adds)
and their events, all on one calendar with the Jams.

Research Jam is a series too, but its events are the ``jams`` table (numbered, with agendas and
their own addresses); ``RESEARCH_JAM`` describes it so the calendar can list it with the others.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rfp_portal import clock
from rfp_portal.db import Base, UtcDateTime, str_enum
from rfp_portal.models.schedule import COMMUNITY_ZONE, Scheduled

SERIES_NAME_MAX = 80
SERIES_SLUG_MAX = 40
SERIES_DESCRIPTION_MAX = 5_000
EVENT_TITLE_MAX = 140
EVENT_SLUG_MAX = 60
CONFERENCE_MAX = 80
EVENT_DESCRIPTION_MAX = 10_000
URL_MAX = 2_000


class SeriesKind(enum.StrEnum):
    NUMBERED = "numbered"  # #1, #2, … (OpenClubHouse)
    NAMED = "named"  # each has its own name, at a conference (the socials)


@dataclass(frozen=True)
class JamSeries:
    """Research Jam as a series: its events are the Jams, at ``/jams``."""

    slug: str = "research-jam"
    name: str = "Research Jam"
    kind: SeriesKind = SeriesKind.NUMBERED
    description_html: str = ""
    is_jams: bool = True


RESEARCH_JAM = JamSeries()
# Slugs a new series may not take: the Jams' own, and words in the addresses under /events.
RESERVED_SERIES_SLUGS = frozenset({RESEARCH_JAM.slug, "new-series", "new", "series", "jams"})


class EventSeries(Base):
    __tablename__ = "event_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(SERIES_SLUG_MAX), unique=True)
    name: Mapped[str] = mapped_column(sa.String(SERIES_NAME_MAX))
    kind: Mapped[SeriesKind] = mapped_column(str_enum(SeriesKind, "series_kind"))
    description_md: Mapped[str] = mapped_column(sa.Text, default="")
    description_html: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)

    events: Mapped[list[Event]] = relationship(
        back_populates="series", order_by="Event.starts_at", passive_deletes=True
    )

    is_jams = False

    @property
    def is_numbered(self) -> bool:
        return self.kind is SeriesKind.NUMBERED

    def __repr__(self) -> str:
        return f"<EventSeries {self.slug}>"


class Event(Scheduled, Base):
    """One event of a series other than Research Jam: when, how long, where, what."""

    __tablename__ = "events"
    __table_args__ = (
        sa.UniqueConstraint("series_id", "number", name="uq_events_series_id_number"),
        sa.UniqueConstraint("series_id", "slug", name="uq_events_series_id_slug"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(
        sa.ForeignKey("event_series.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int | None]  # in a numbered series
    # Its address within the series: the number, or a name made from the title.
    slug: Mapped[str] = mapped_column(sa.String(EVENT_SLUG_MAX))
    title: Mapped[str] = mapped_column(sa.String(EVENT_TITLE_MAX))
    conference: Mapped[str | None] = mapped_column(sa.String(CONFERENCE_MAX))
    link_url: Mapped[str | None] = mapped_column(sa.String(URL_MAX))  # the conference's page
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    timezone: Mapped[str] = mapped_column(sa.String(64), default=COMMUNITY_ZONE)
    duration_minutes: Mapped[int] = mapped_column(default=60)
    join_url: Mapped[str | None] = mapped_column(sa.String(URL_MAX))
    description_md: Mapped[str] = mapped_column(sa.Text, default="")
    description_html: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)

    series: Mapped[EventSeries] = relationship(back_populates="events")

    @property
    def name(self) -> str:
        """ "MLC OpenClubHouse #5"; a named event is called by its title."""
        if self.number is not None:
            return f"{self.series.name} #{self.number}"
        return self.title

    @property
    def calendar_uid(self) -> str:
        """Stable through renames and host names: only the row's id."""
        return f"event-{self.id}"

    def __repr__(self) -> str:
        return f"<Event {self.series_id}/{self.slug} {self.starts_at:%Y-%m-%d}>"
