"""The home page and the health check."""

from datetime import timedelta

import sqlalchemy as sa
from flask import Blueprint, render_template
from sqlalchemy.orm import selectinload

from rfp_portal.db import get_session
from rfp_portal.models import Claim, ClaimStatus, Jam, Rfp, RfpState
from rfp_portal.models.jam import with_agenda
from rfp_portal.rfps.queries import rfp_listing
from rfp_portal.web.context import claim_policy, now

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
                Rfp.state != RfpState.WITHDRAWN,
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


@bp.route("/healthz")
def healthz():
    """200 when the app and its database answer; 503 when the database does not."""
    try:
        get_session().execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        return {"status": "database unavailable"}, 503
    return {"status": "ok"}
