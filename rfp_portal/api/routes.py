"""JSON API v1, read-only: RFPs and Research Jams, described by /api/v1/openapi.json.

No log-in and no CSRF (nothing here changes anything). Every view loads what it shows in a
fixed number of queries. Errors, including unknown addresses under ``/api/``, answer as
``{"error": {"status": …, "message": …}}`` (see :mod:`rfp_portal.api.errors`).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import Blueprint, jsonify, request, url_for
from sqlalchemy.orm import selectinload

from rfp_portal.api import serialize
from rfp_portal.api.openapi import openapi_document
from rfp_portal.api.params import jam_listing_args, rfp_listing_args
from rfp_portal.db import get_session
from rfp_portal.models import Claim, Jam, Presentation, Rfp
from rfp_portal.models.jam import with_agenda
from rfp_portal.models.rfp import PUBLISHED
from rfp_portal.pagination import Page
from rfp_portal.rfps.pages import listing_page
from rfp_portal.rfps.queries import rfp_listing
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


def _ends_at_or_after(moment: datetime) -> sa.ColumnElement[bool]:
    """SQL for :meth:`Jam.is_upcoming`: the Jam ends at ``moment`` or later.

    Compared in seconds since the epoch, which both databases compute: SQLAlchemy turns
    ``extract('epoch', …)`` into ``strftime('%s', …)`` on SQLite, which drops fractions of a
    second, and a Jam starts on the minute.
    """
    return sa.extract("epoch", Jam.starts_at) + Jam.duration_minutes * 60 >= moment.timestamp()


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


@bp.get("/openapi.json")
def openapi():
    """This API described in OpenAPI 3.1."""
    return jsonify(openapi_document())
