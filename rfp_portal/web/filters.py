"""Template filters: times as the community reads them, text fit for XML, search highlights."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Flask
from markupsafe import Markup

from rfp_portal import search
from rfp_portal.models.jam import COMMUNITY_ZONE


def _time_element(value: datetime, zone: str, *, announced: bool) -> Markup:
    """<time datetime="UTC">wall time in ``zone`` / UTC</time>; static/localtime.js shows the
    reader's own time zone, and without JavaScript the text reads correctly as it is."""
    local = value.astimezone(ZoneInfo(zone))
    utc = value.astimezone(UTC)
    utc_text = f"{utc:%H:%M}" if local.date() == utc.date() else f"{utc:%Y-%m-%d %H:%M}"
    text = f"{local:%Y-%m-%d %H:%M} {local.tzname()} / {utc_text} UTC"
    return Markup('<time class="local-time" datetime="{}"{}>{}</time>').format(
        utc.isoformat(timespec="seconds"), Markup(" data-announced") if announced else "", text
    )


def time_tag(value: datetime | None) -> Markup:
    """Any timestamp, in Pacific time (as the community speaks) and UTC."""
    return Markup("") if value is None else _time_element(value, COMMUNITY_ZONE, announced=False)


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
    app.jinja_env.filters["highlight"] = search.highlight
    app.jinja_env.filters["excerpt"] = search.excerpt
    app.jinja_env.filters["xml_text"] = xml_text
    app.jinja_env.filters["rfc3339"] = rfc3339
