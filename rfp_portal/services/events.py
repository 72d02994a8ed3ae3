"""The community calendar: event series beside Research Jams, and their events.

Admins add a series (OpenClubHouse, conference socials, …); organisers schedule its events, as
they do Jams. ``calendar_entries`` is the one place the calendar's events are gathered, Jams and
others together, for the pages, the iCalendar feeds and the API.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from rfp_portal.models import Event, EventSeries, Jam, SeriesKind, User
from rfp_portal.models.event import (
    EVENT_SLUG_MAX,
    RESEARCH_JAM,
    RESERVED_SERIES_SLUGS,
    SERIES_SLUG_MAX,
    JamSeries,
)
from rfp_portal.models.jam import with_agenda
from rfp_portal.services import DomainError, NotAllowed
from rfp_portal.services.jams import to_utc
from rfp_portal.services.text import render_field

Series = EventSeries | JamSeries
RESERVED_EVENT_SLUGS = frozenset({"new"})  # /events/<series>/new schedules an event
CalendarEntry = Jam | Event


@dataclass(frozen=True)
class SeriesDraft:
    name: str
    slug: str
    kind: SeriesKind
    description: str


@dataclass(frozen=True)
class EventDraft:
    number: int | None
    title: str
    local_start: datetime  # naive: a wall-clock time in ``timezone``
    timezone: str
    duration_minutes: int
    join_url: str | None
    description: str
    conference: str | None = None
    link_url: str | None = None


def slugify(text: str, *, limit: int) -> str:
    """A name as it goes in an address: "ICLR 2021 Social" → "iclr-2021-social"."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:limit].rstrip("-")


def all_series(session: Session) -> list[Series]:
    """Every series, Research Jam first, then the others by name."""
    others = session.scalars(sa.select(EventSeries).order_by(EventSeries.name, EventSeries.id))
    return [RESEARCH_JAM, *others]


def find_series(session: Session, slug: str) -> Series | None:
    if slug == RESEARCH_JAM.slug:
        return RESEARCH_JAM
    if len(slug) > SERIES_SLUG_MAX:
        return None
    return session.scalar(sa.select(EventSeries).where(EventSeries.slug == slug))


def find_event(session: Session, series: EventSeries, key: str) -> Event | None:
    """The event at ``/events/<series>/<key>``: its number or its name."""
    if len(key) > EVENT_SLUG_MAX:
        return None
    return session.scalar(
        sa.select(Event)
        .where(Event.series_id == series.id, Event.slug == key)
        .options(selectinload(Event.series))
    )


#: The iCalendar feeds hold the next CALENDAR_UPCOMING events and the CALENDAR_PAST before them,
#: so a feed's size (and what a subscribed calendar fetches every few hours) does not grow with
#: the years; the pages still list every event.
CALENDAR_UPCOMING = 100
CALENDAR_PAST = 50


def calendar_entries(
    session: Session, *, series: Series | None = None, around: datetime | None = None
) -> list[CalendarEntry]:
    """The calendar's events in time order: every series', or one series'. Three queries for
    the Jams (with their agendas) and two for the others, however many there are.

    With ``around`` (the feeds): only the window of events about that moment (two more queries
    for each kind, to find its edges)."""
    entries: list[CalendarEntry] = []
    if series is None or series.is_jams:
        query = sa.select(Jam).options(*with_agenda())
        entries += session.scalars(_window(session, query, Jam.starts_at, around)).all()
    if series is None or not series.is_jams:
        query = sa.select(Event).options(selectinload(Event.series))
        if series is not None:
            query = query.where(Event.series_id == series.id)
        entries += session.scalars(_window(session, query, Event.starts_at, around)).all()
    entries.sort(key=lambda entry: (entry.starts_at, entry.calendar_uid))
    if around is None:
        return entries
    # Each kind kept its own window: the two together keep the one window.
    upcoming = [entry for entry in entries if entry.starts_at >= around][:CALENDAR_UPCOMING]
    past = [entry for entry in entries if entry.starts_at < around][-CALENDAR_PAST:]
    return past + upcoming


def _window(session: Session, query: sa.Select, column, around: datetime | None) -> sa.Select:
    """``query`` cut to the CALENDAR_PAST events before ``around`` and the CALENDAR_UPCOMING
    from it on (ties at an edge are all kept; the caller trims)."""
    if around is None:
        return query
    edge = query.with_only_columns(column).options()
    earliest = session.scalar(
        edge.where(column < around).order_by(column.desc()).offset(CALENDAR_PAST - 1).limit(1)
    )
    latest = session.scalar(
        edge.where(column >= around).order_by(column).offset(CALENDAR_UPCOMING - 1).limit(1)
    )
    if earliest is not None:
        query = query.where(column >= earliest)
    if latest is not None:
        query = query.where(column <= latest)
    return query


def create_series(
    session: Session, *, admin: User, draft: SeriesDraft, now: datetime
) -> EventSeries:
    """:raise NotAllowed: unless ``admin`` is one. :raise DomainError: on a taken name."""
    if not admin.is_admin:
        raise NotAllowed("Only admins add event series.")
    return add_series(session, draft=draft, now=now)


def add_series(session: Session, *, draft: SeriesDraft, now: datetime) -> EventSeries:
    """A new series, whoever asks (the demo data's calendar). :raise DomainError: as above."""
    slug = slugify(draft.slug or draft.name, limit=SERIES_SLUG_MAX)
    if not slug:
        raise DomainError("Use letters or digits in the address.", field="slug")
    if slug in RESERVED_SERIES_SLUGS or find_series(session, slug) is not None:
        raise DomainError(f"The address “{slug}” is taken; choose another.", field="slug")
    series = EventSeries(
        slug=slug,
        name=draft.name.strip(),
        kind=draft.kind,
        description_html=render_field(draft.description.strip(), field="description"),
        description_md=draft.description.strip(),
        created_at=now,
    )
    session.add(series)
    session.flush()
    return series


def next_event_number(session: Session, series: EventSeries) -> int:
    latest = session.scalar(
        sa.select(sa.func.max(Event.number)).where(Event.series_id == series.id)
    )
    return (latest or 0) + 1


def _apply(session: Session, event: Event, series: EventSeries, draft: EventDraft) -> None:
    if series.is_numbered:
        if draft.number is None:
            raise DomainError(f"Give the {series.name} a number.", field="number")
        slug = str(draft.number)
        taken = f"{series.name} #{draft.number} already exists."
        field = "number"
    else:
        slug = slugify(draft.title, limit=EVENT_SLUG_MAX)
        if not slug:
            raise DomainError("Use some letters or digits in the title.", field="title")
        if slug in RESERVED_EVENT_SLUGS:
            raise DomainError("Give the event a longer title.", field="title")
        taken = f"An event called “{draft.title.strip()}” is already in {series.name}."
        field = "title"
    query = sa.select(Event.id).where(Event.series_id == series.id, Event.slug == slug)
    if event.id is not None:
        query = query.where(Event.id != event.id)
    clash = session.scalar(query)
    if clash is not None:
        raise DomainError(taken, field=field)
    event.series_id = series.id
    event.number = draft.number if series.is_numbered else None
    event.slug = slug
    event.title = draft.title.strip()
    event.conference = (draft.conference or "").strip() or None
    event.link_url = (draft.link_url or "").strip() or None
    event.starts_at = to_utc(draft.local_start, draft.timezone)
    event.timezone = draft.timezone
    event.duration_minutes = draft.duration_minutes
    event.join_url = (draft.join_url or "").strip() or None
    event.description_html = render_field(draft.description.strip(), field="description")
    event.description_md = draft.description.strip()


def create_event(
    session: Session, *, organiser: User, series: EventSeries, draft: EventDraft, now: datetime
) -> Event:
    """:raise NotAllowed: unless ``organiser`` is one. :raise DomainError: on a taken number or
    name, or a bad time."""
    if not organiser.is_organiser:
        raise NotAllowed("Only organisers schedule events.")
    event = Event(created_at=now, updated_at=now)
    _apply(session, event, series, draft)
    session.add(event)
    session.flush()
    return event


def update_event(
    session: Session, *, event: Event, organiser: User, draft: EventDraft, now: datetime
) -> None:
    if not organiser.is_organiser:
        raise NotAllowed("Only organisers edit events.")
    _apply(session, event, event.series, draft)
    event.updated_at = now
    session.flush()
