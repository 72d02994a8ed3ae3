"""The home page and the health check."""

import sqlalchemy as sa
from flask import Blueprint, render_template

from rfp_portal.db import get_session
from rfp_portal.models import Rfp, RfpState
from rfp_portal.rfps.queries import rfp_listing
from rfp_portal.web import claim_policy, now

bp = Blueprint("main", __name__)


@bp.route("/")
def index():
    newest = (
        get_session()
        .scalars(
            rfp_listing(now(), claim_policy())
            .where(Rfp.state == RfpState.OPEN)
            .order_by(Rfp.created_at.desc(), Rfp.id.desc())
            .limit(6)
        )
        .all()
    )
    return render_template("index.html", newest=newest)


@bp.route("/healthz")
def healthz():
    """200 when the app and its database answer; 503 when the database does not."""
    try:
        get_session().execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        return {"status": "database unavailable"}, 503
    return {"status": "ok"}
