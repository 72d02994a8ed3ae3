"""JSON API v1, read-only: RFPs, Research Jams and the calendar's events, described by
/api/v1/openapi.json.

No log-in and no CSRF (nothing here changes anything). Every view loads what it shows in a
fixed number of queries. Errors, including unknown addresses under ``/api/``, answer as
``{"error": {"status": …, "message": …}}`` (see :mod:`rfp_portal.api.errors`).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import Blueprint, abort, jsonify, request, url_for
from sqlalchemy.orm import joinedload, selectinload

from rfp_portal.api import serialize
from rfp_portal.api.openapi import openapi_document
from rfp_portal.api.params import event_listing_args, jam_listing_args, rfp_listing_args
from rfp_portal.db import get_session
from rfp_portal.models import Claim, Event, Jam, Presentation, Rfp
from rfp_portal.models.jam import with_agenda
from rfp_portal.models.rfp import PUBLISHED
from rfp_portal.pagination import Page
from rfp_portal.rfps.pages import listing_page
from rfp_portal.rfps.queries import rfp_listing
from rfp_portal.services.events import Series, find_series
from rfp_portal.web.context import claim_policy, now
from rfp_portal.web.views import one_or_404

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _paginated(page: Page, items: list, endpoint: str, args: dict) -> dict:
    """The page's items and where the pages around it are (absolute URLs with the same filters)."""

    def link(number: int) -> str:
        return url_for(endpoint, **args, page=number, per_page=page.per_page, _external=True)

    return {
        "items": items,
        "page": page.number,
        "per_page": page.per_page,
        "total": page.total,
        "total_exact": page.exact,
        "pages": page.pages,
        "links": {
            "self": link(page.number),
            "next": link(page.number + 1) if page.has_next else None,
            # Past the end, "prev" leads back to the last page that has something.
            "prev": link(min(page.number - 1, page.pages)) if page.has_prev else None,
        },
    }


@bp.get("/rfps")
def rfps():
    """RFPs with the HTML listing's filters and sorts. :raise 400: on a bad parameter."""
    listing, paging = rfp_listing_args(request.args)
    page = listing_page(listing, paging.number, paging.per_page)
    items = [serialize.rfp_summary(rfp) for rfp in page.items]
    return jsonify(_paginated(page, items, "api.rfps", listing.args()))


@bp.get("/rfps/<id:rfp_id>")
def rfp(rfp_id: int):
    """One RFP with its text, plots, claims, results and presentations. :raise 404: if missing."""
    moment, policy = now(), claim_policy()
    found = one_or_404(
        rfp_listing(moment, policy)
        .where(Rfp.id == rfp_id, Rfp.state.in_(PUBLISHED))
        .options(
            selectinload(Rfp.claims).selectinload(Claim.claimant),
            selectinload(Rfp.claims).selectinload(Claim.result_plot),
            selectinload(Rfp.presentations).selectinload(Presentation.presenter),
        ),
        f"There is no RFP {rfp_id}.",
    )
    return jsonify(serialize.rfp_detail(found, now=moment, policy=policy))


def _ends_at_or_after(
    moment: datetime, scheduled: type[Jam] | type[Event] = Jam
) -> sa.ColumnElement[bool]:
    """SQL for :meth:`Scheduled.is_upcoming`: the Jam (or event) ends at ``moment`` or later.

    Compared in seconds since the epoch, which both databases compute: SQLAlchemy turns
    ``extract('epoch', …)`` into ``strftime('%s', …)`` on SQLite, which drops fractions of a
    second, and a Jam (or event) starts on the minute.
    """
    ends = sa.extract("epoch", scheduled.starts_at) + scheduled.duration_minutes * 60
    return ends >= moment.timestamp()


@bp.get("/jams")
def jams():
    """Research Jams, newest first; ``when`` keeps the upcoming or the past ones."""
    when, paging = jam_listing_args(request.args)
    moment = now()
    query = sa.select(Jam).order_by(Jam.starts_at.desc(), Jam.number.desc())
    if when == "upcoming":
        query = query.where(_ends_at_or_after(moment))
    elif when == "past":
        query = query.where(~_ends_at_or_after(moment))
    page = Page.of(get_session(), query, number=paging.number, per_page=paging.per_page)
    items = [serialize.jam_summary(jam, now=moment) for jam in page.items]
    return jsonify(_paginated(page, items, "api.jams", {"when": when} if when else {}))


@bp.get("/jams/<id:number>")
def jam(number: int):
    """One Research Jam with what was presented there. :raise 404: if there is none."""
    found = one_or_404(
        sa.select(Jam).where(Jam.number == number).options(*with_agenda()),
        f"There is no Research Jam #{number}.",
    )
    return jsonify(serialize.jam_detail(found, now=now()))


def _calendar_query(series: Series | None, when: str | None, moment: datetime) -> sa.Select:
    """``(kind, id)`` of the calendar's events, newest first: the Jams and the other series'
    events in one UNION ALL, so that ordering, paging and counting happen in the database."""

    def when_filter(query: sa.Select, scheduled: type[Jam] | type[Event]) -> sa.Select:
        if when == "upcoming":
            return query.where(_ends_at_or_after(moment, scheduled))
        if when == "past":
            return query.where(~_ends_at_or_after(moment, scheduled))
        return query

    parts = []
    if series is None or series.is_jams:
        jams = sa.select(
            sa.literal_column("'jam'").label("kind"),
            Jam.id.label("id"),
            Jam.number.label("number"),
            Jam.starts_at.label("starts_at"),
        )
        parts.append(when_filter(jams, Jam))
    if series is None or not series.is_jams:
        events = sa.select(
            sa.literal_column("'event'").label("kind"),
            Event.id.label("id"),
            sa.func.coalesce(Event.number, 0).label("number"),
            Event.starts_at.label("starts_at"),
        )
        if series is not None:
            events = events.where(Event.series_id == series.id)
        parts.append(when_filter(events, Event))
    entries = (sa.union_all(*parts) if len(parts) > 1 else parts[0]).subquery("entries")
    return sa.select(entries.c.kind, entries.c.id).order_by(
        # As /jams: newest first, a later number first at the same start (Jams before others).
        entries.c.starts_at.desc(),
        entries.c.kind.desc(),
        entries.c.number.desc(),
        entries.c.id.desc(),
    )


@bp.get("/events")
def events():
    """Every event on the calendar, Research Jams and the other series', newest first;
    ``series`` keeps one series' and ``when`` the upcoming or the past ones.

    :raise 400: on a bad parameter. :raise 404: for a series there is none of.
    """
    slug, when, paging = event_listing_args(request.args)
    session, moment = get_session(), now()
    series = None
    if slug is not None:
        series = find_series(session, slug)
        if series is None:
            abort(404, description=f"There is no event series “{slug[:40]}”.")
    query = _calendar_query(series, when, moment)
    number = paging.number
    total = session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))
    rows = session.execute(
        query.limit(paging.per_page).offset((number - 1) * paging.per_page)
    ).all()
    # The page's Jams and events by id: one query for each kind the series filter lets in, run
    # even when the page happens to hold none of that kind, so the count never follows the data.
    loaded: dict[tuple[str, int], Jam | Event] = {}
    if series is None or series.is_jams:
        jam_ids = [row.id for row in rows if row.kind == "jam"]
        for found_jam in session.scalars(sa.select(Jam).where(Jam.id.in_(jam_ids))):
            loaded["jam", found_jam.id] = found_jam
    if series is None or not series.is_jams:
        event_ids = [row.id for row in rows if row.kind == "event"]
        found_events = session.scalars(
            sa.select(Event).where(Event.id.in_(event_ids)).options(joinedload(Event.series))
        )
        for found_event in found_events:
            loaded["event", found_event.id] = found_event
    # (One deleted in between is left out rather than failing the page.)
    entries = [loaded[key] for key in ((row.kind, row.id) for row in rows) if key in loaded]
    page = Page(items=entries, number=number, per_page=paging.per_page, total=total or 0)
    items = [serialize.calendar_event(entry, now=moment) for entry in entries]
    args = {key: value for key, value in (("series", slug), ("when", when)) if value}
    return jsonify(_paginated(page, items, "api.events", args))


@bp.get("/openapi.json")
def openapi():
    """This API described in OpenAPI 3.1."""
    return jsonify(openapi_document())
