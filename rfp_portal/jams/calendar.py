"""Research Jams as iCalendar (RFC 5545) and as an "add to Google Calendar" link."""

from __future__ import annotations

from urllib.parse import urlencode

from icalendar import Calendar, Event

from rfp_portal.models import Jam
from rfp_portal.rendering.plain import html_to_text, printable

PRODUCT_ID = "-//ML Collective Open Collab//RFP Portal//EN"
# A UID names the event, not the address it was fetched from: the same Jam through two host
# names (or after a rename) is one event in a subscriber's calendar, never two.
UID_DOMAIN = "rfp-portal.mlcollective.org"


def _details(jam: Jam, page_url: str) -> str:
    # Calendars show no markup: the description as a reader sees it, never its Markdown.
    description = html_to_text(jam.description_html)
    lines = [description] if description else []
    if jam.presentations:
        lines.append("Agenda:")
        lines += [f"- {p.rfp.title} ({p.presenter.display_name})" for p in jam.presentations]
    lines.append(f"Details: {page_url}")
    return printable("\n\n".join(lines))


def _summary(jam: Jam) -> str:
    # RFC 5545 allows no control characters in text, and text stored before the portal
    # cleaned what people type may hold some.
    return printable(f"{jam.name}: {jam.title}").replace("\n", " ")


def jams_calendar(jams: list[Jam], *, url_for_jam) -> bytes:
    """An iCalendar feed: stable UIDs (from the Jam's id, the same through any host name),
    DTSTAMP, times in UTC, plain text escaped."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", "Open Collab Research Jams")
    for jam in jams:
        page_url = url_for_jam(jam)
        event = Event()
        event.add("uid", f"research-jam-{jam.id}@{UID_DOMAIN}")
        event.add("dtstamp", jam.updated_at)
        event.add("last-modified", jam.updated_at)
        event.add("dtstart", jam.starts_at)
        event.add("dtend", jam.ends_at)
        event.add("summary", _summary(jam))
        event.add("description", _details(jam, page_url))
        event.add("url", jam.join_url or page_url)
        if jam.join_url:
            event.add("location", jam.join_url)
        calendar.add_component(event)
    return calendar.to_ical()


def google_calendar_link(jam: Jam, page_url: str) -> str:
    dates = f"{jam.starts_at:%Y%m%dT%H%M%SZ}/{jam.ends_at:%Y%m%dT%H%M%SZ}"
    query = {
        "action": "TEMPLATE",
        "text": _summary(jam),
        "dates": dates,
        "details": _details(jam, page_url),
    }
    if jam.join_url:
        query["location"] = jam.join_url
    return "https://calendar.google.com/calendar/render?" + urlencode(query)
