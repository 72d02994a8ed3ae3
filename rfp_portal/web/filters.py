"""Template filters: times as the community reads them, text fit for XML, search highlights."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Flask
from markupsafe import Markup

from rfp_portal import clock, search
from rfp_portal.models.jam import COMMUNITY_ZONE

MINUTE, HOUR, DAY = 60, 60 * 60, 24 * 60 * 60


def _exact(value: datetime, zone: str) -> str:
    """The wall time in ``zone`` and in UTC: "2021-08-04 16:00 PDT / 23:00 UTC"."""
    local = value.astimezone(ZoneInfo(zone))
    utc = value.astimezone(UTC)
    utc_text = f"{utc:%H:%M}" if local.date() == utc.date() else f"{utc:%Y-%m-%d %H:%M}"
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} / {utc_text} UTC"


def _time_element(value: datetime, zone: str, *, announced: bool) -> Markup:
    """<time datetime="UTC">wall time in ``zone`` / UTC</time>; static/localtime.js shows the
    reader's own time zone, and without JavaScript the text reads correctly as it is."""
    return Markup('<time class="local-time" datetime="{}"{}>{}</time>').format(
        value.astimezone(UTC).isoformat(timespec="seconds"),
        Markup(" data-announced") if announced else "",
        _exact(value, zone),
    )


def slot_time(value: datetime, zone: str = COMMUNITY_ZONE) -> Markup:
    """A time on a Jam's agenda: the wall time in the Jam's zone and UTC, "16:20 PST / 00:20
    UTC" (the Jam's date is beside it), which static/localtime.js writes in the reader's zone."""
    local = value.astimezone(ZoneInfo(zone))
    utc = value.astimezone(UTC)
    return Markup('<time class="local-time slot-time" datetime="{}">{}</time>').format(
        utc.isoformat(timespec="seconds"), f"{local:%H:%M} {local.tzname()} / {utc:%H:%M} UTC"
    )


def _count(number: int, unit: str) -> str:
    return f"{number} {unit}{'' if number == 1 else 's'}"


def relative_time(value: datetime, now: datetime, zone: str = COMMUNITY_ZONE) -> str:
    """When ``value`` was, as people say it: "just now", "5 minutes ago", "3 hours ago"; from a
    day away on, its date in ``zone`` ("4 Aug 2021"). A time ahead reads "in 5 minutes".

    static/localtime.js applies the same rule in the browser (keep the two alike).
    """
    seconds = (now - value).total_seconds()
    distance = abs(seconds)
    if distance >= DAY:
        local = value.astimezone(ZoneInfo(zone))
        return f"{local.day} {local:%b %Y}"
    if distance < MINUTE:
        return "just now"
    if distance >= HOUR:
        amount = _count(int(distance // HOUR), "hour")
    else:
        amount = _count(int(distance // MINUTE), "minute")
    return f"{amount} ago" if seconds > 0 else f"in {amount}"


def time_tag(value: datetime | None, now: datetime | None = None) -> Markup:
    """When something happened: "3 hours ago", or its date once a day old; the exact time (in
    Pacific time, as the community speaks, and UTC) is the element's title.

    Visitors' pages are cached for up to PAGE_CACHE_SECONDS, so the text may be that much behind:
    static/localtime.js writes it afresh from ``datetime`` (and the title in the reader's own
    zone); without JavaScript the server's text stays.
    """
    if value is None:
        return Markup("")
    return Markup(
        '<time class="local-time relative-time" datetime="{}" title="{}">{}</time>'
    ).format(
        value.astimezone(UTC).isoformat(timespec="seconds"),
        _exact(value, COMMUNITY_ZONE),
        relative_time(value, clock.now() if now is None else now),
    )


def jam_time(value: datetime, zone: str = COMMUNITY_ZONE) -> Markup:
    """A Jam's start as announced (in its own zone) and in UTC.

    e.g. <time … datetime="2021-08-04T23:00:00+00:00" …>2021-08-04 16:00 PDT / 23:00 UTC</time>
    """
    return _time_element(value, zone, announced=True)


XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value) -> str:
    """Plain text without the characters XML 1.0 forbids (autoescaping then escapes it once)."""
    return XML_INVALID.sub("", str(value))


def rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def init_app(app: Flask) -> None:
    app.jinja_env.filters["time"] = time_tag
    app.jinja_env.filters["jam_time"] = jam_time
    app.jinja_env.filters["slot_time"] = slot_time
    app.jinja_env.filters["highlight"] = search.highlight
    app.jinja_env.filters["excerpt"] = search.excerpt
    app.jinja_env.filters["xml_text"] = xml_text
    app.jinja_env.filters["rfc3339"] = rfc3339
