"""The home page, the Markdown preview and the health check."""

from datetime import timedelta

import sqlalchemy as sa
from flask import Blueprint, render_template, request
from flask_login import current_user
from markupsafe import escape
from sqlalchemy.orm import selectinload

from rfp_portal import limits
from rfp_portal.db import get_session
from rfp_portal.forms import ConfirmForm
from rfp_portal.models import Claim, ClaimStatus, Jam, Rfp, RfpState
from rfp_portal.models.claim import NOTE_MAX, UPDATE_MAX, WRITE_UP_MAX
from rfp_portal.models.comment import COMMENT_MAX
from rfp_portal.models.event import EVENT_DESCRIPTION_MAX, SERIES_DESCRIPTION_MAX
from rfp_portal.models.jam import JAM_DESCRIPTION_MAX, with_agenda
from rfp_portal.models.rfp import BODY_MAX
from rfp_portal.models.user import BIO_MAX
from rfp_portal.rfps.queries import rfp_listing
from rfp_portal.services import DomainError
from rfp_portal.web.context import claim_policy, now
from rfp_portal.web.preview import markdown_preview

bp = Blueprint("main", __name__)


@bp.route("/")
def index():
    newest = (
        get_session()
        .scalars(
            rfp_listing(now(), claim_policy())
            .where(Rfp.state == RfpState.OPEN)
            .order_by(Rfp.created_at.desc(), Rfp.id.desc())
            .limit(4)
        )
        .all()
    )
    most_wanted = (
        get_session()
        .scalars(
            rfp_listing(now(), claim_policy())
            .where(Rfp.state == RfpState.OPEN, Rfp.want_count > 0)
            .order_by(Rfp.want_count.desc(), Rfp.id.desc())
            .limit(4)
        )
        .all()
    )
    results = (
        get_session()
        .scalars(
            sa.select(Claim)
            .join(Claim.rfp)
            .where(
                Claim.status == ClaimStatus.DELIVERED,
                Claim.result_plot_id.is_not(None),
                Rfp.state.in_((RfpState.OPEN, RfpState.COMPLETED)),
            )
            .order_by(Claim.ended_at.desc(), Claim.id.desc())
            .limit(3)
            .options(
                selectinload(Claim.rfp),
                selectinload(Claim.claimant),
                selectinload(Claim.result_plot),
            )
        )
        .all()
    )
    moment = now()
    agenda = with_agenda()
    # The next Jam (one under way counts: Jams last at most 12 hours), else the latest past one.
    soon = (
        get_session()
        .scalars(
            sa.select(Jam)
            .where(Jam.starts_at >= moment - timedelta(hours=12))
            .order_by(Jam.starts_at)
            .limit(3)
            .options(*agenda)
        )
        .all()
    )
    jam = next((j for j in soon if j.is_upcoming(moment)), None) or get_session().scalar(
        sa.select(Jam).order_by(Jam.starts_at.desc()).limit(1).options(*agenda)
    )
    return render_template(
        "index.html", newest=newest, most_wanted=most_wanted, results=results, jam=jam
    )


# What each kind of Markdown box may hold: the same bounds its form checks before saving.
PREVIEW_BOUNDS = {
    "rfp": BODY_MAX,
    "comment": COMMENT_MAX,
    "note": NOTE_MAX,
    "progress": UPDATE_MAX,
    "write_up": WRITE_UP_MAX,
    "jam": JAM_DESCRIPTION_MAX,
    "bio": BIO_MAX,
    "event": EVENT_DESCRIPTION_MAX,
    "series": SERIES_DESCRIPTION_MAX,
}


def _fragment(html, status: int = 200):
    return (
        str(html),
        status,
        {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"},
    )


@bp.route("/preview", methods=["POST"])
def preview():
    """The HTML a reader would see for ``text`` typed in a Markdown box of kind ``field``: a
    fragment that static/preview.js shows in place of the box. Saves nothing.

    Answers 401, 400, 413, 422 or 429 with a short message fit to show beside the box.
    """
    if not current_user.is_authenticated:
        return _fragment('<p class="error">Log in to preview what you write.</p>', 401)
    if not ConfirmForm().validate_on_submit():
        return _fragment(
            '<p class="error">This page is too old to preview from: reload it (copy your text '
            "first).</p>",
            400,
        )
    bound = PREVIEW_BOUNDS.get(request.form.get("field", ""))
    text = request.form.get("text", "")
    if bound is None:
        return _fragment('<p class="error">There is nothing to preview here.</p>', 400)
    if len(text) > bound:
        return _fragment(
            f'<p class="error">This can be at most {bound:,} characters; it has '
            f"{len(text):,}. Shorten it to preview it.</p>",
            413,
        )
    if not limits.preview_allowed():
        return _fragment(f'<p class="error">{escape(limits.PREVIEW_THROTTLED)}</p>', 429)
    try:
        html = markdown_preview(text, field="text")
    except DomainError as error:
        return _fragment(f'<p class="error">{escape(error.message)}</p>', 422)
    if not text.strip():
        return _fragment('<p class="muted">Nothing to preview yet.</p>')
    return _fragment(html)


@bp.route("/healthz")
def healthz():
    """200 when the app and its database answer; 503 when the database does not."""
    try:
        get_session().execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        return {"status": "database unavailable"}, 503
    return {"status": "ok"}
