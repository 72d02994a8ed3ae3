"""The calendar's events (Research Jams and the other series) as iCalendar (RFC 5545) and as an
"add to Google Calendar" link."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from urllib.parse import urlencode

from flask import Response, url_for
from icalendar import Calendar
from icalendar import Event as CalendarEvent

from rfp_portal.models import Event, Jam
from rfp_portal.rendering.plain import html_to_text, printable

PRODUCT_ID = "-//ML Collective Open Collab//RFP Portal//EN"
# A UID names the event, not the address it was fetched from: the same event through two host
# names (or after a rename) is one event in a subscriber's calendar, never two.
UID_DOMAIN = "rfp-portal.mlcollective.org"
# A calendar app shows an event's description in a small box: a Jam's lists at most this many
# items of its agenda, then how many more its page has (a feed's size stays bounded too).
AGENDA_LINES = 12


def _details(entry: Jam | Event, page_url: str) -> str:
    # Calendars show no markup: the description as a reader sees it, never its Markdown.
    description = html_to_text(entry.description_html)
    lines = [description] if description else []
    if isinstance(entry, Jam):
        slots = entry.agenda_slots
        linked = entry.unslotted_presentations
        if slots or linked:
            lines.append("Agenda:")
            items = [f"- {slot.public_title()} ({slot.offered_by.display_name})" for slot in slots]
            items += [f"- {p.rfp.title} ({p.presenter.display_name})" for p in linked]
            lines += items[:AGENDA_LINES]
            if len(items) > AGENDA_LINES:
                lines.append(f"- and {len(items) - AGENDA_LINES} more (see the Jam's page)")
    elif entry.conference or entry.link_url:
        lines.append(" ".join(part for part in (entry.conference, entry.link_url) if part))
    lines.append(f"Details: {page_url}")
    return printable("\n\n".join(lines))


def _summary(entry: Jam | Event) -> str:
    # RFC 5545 allows no control characters in text, and text stored before the portal
    # cleaned what people type may hold some.
    name = entry.name if entry.name == entry.title else f"{entry.name}: {entry.title}"
    return printable(name).replace("\n", " ")


def events_calendar(
    entries: Iterable[Jam | Event], *, name: str, url_for_entry: Callable[[Jam | Event], str]
) -> bytes:
    """An iCalendar feed: stable UIDs (from each row's id, the same through any host name),
    DTSTAMP, times in UTC, plain text escaped."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    for entry in entries:
        page_url = url_for_entry(entry)
        event = CalendarEvent()
        event.add("uid", f"{entry.calendar_uid}@{UID_DOMAIN}")
        event.add("dtstamp", entry.updated_at)
        event.add("last-modified", entry.updated_at)
        event.add("dtstart", entry.starts_at)
        event.add("dtend", entry.ends_at)
        event.add("summary", _summary(entry))
        event.add("description", _details(entry, page_url))
        event.add("url", entry.join_url or page_url)
        if entry.join_url:
            event.add("location", entry.join_url)
        calendar.add_component(event)
    return calendar.to_ical()


def google_calendar_link(entry: Jam | Event, page_url: str) -> str:
    dates = f"{entry.starts_at:%Y%m%dT%H%M%SZ}/{entry.ends_at:%Y%m%dT%H%M%SZ}"
    query = {
        "action": "TEMPLATE",
        "text": _summary(entry),
        "dates": dates,
        "details": _details(entry, page_url),
    }
    if entry.join_url:
        query["location"] = entry.join_url
    return "https://calendar.google.com/calendar/render?" + urlencode(query)


def entry_url(entry: Jam | Event, **kwargs) -> str:
    """The page of a calendar event: ``/jams/<number>`` or ``/events/<series>/<key>``."""
    if isinstance(entry, Jam):
        return url_for("jams.show", number=entry.number, **kwargs)
    return url_for("events.show", series=entry.series.slug, key=entry.slug, **kwargs)


def entry_calendar_url(entry: Jam | Event, **kwargs) -> str:
    """The one-event .ics download of a calendar event."""
    if isinstance(entry, Jam):
        return url_for("jams.jam_calendar", number=entry.number, **kwargs)
    return url_for("events.event_calendar", series=entry.series.slug, key=entry.slug, **kwargs)


def calendar_response(
    entries: Iterable[Jam | Event], *, name: str, filename: str, download: bool = False
) -> Response:
    """A calendar as a response: a feed to subscribe to is served inline; one event, as a file
    to download under its own name."""
    body = events_calendar(
        entries, name=name, url_for_entry=lambda entry: entry_url(entry, _external=True)
    )
    response = Response(body, content_type="text/calendar; charset=utf-8")
    response.headers.set(
        "Content-Disposition", "attachment" if download else "inline", filename=filename
    )
    return response
