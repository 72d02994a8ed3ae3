"""People's pages."""

import sqlalchemy as sa
from flask import Blueprint, abort, render_template
from sqlalchemy.orm import selectinload

from rfp_portal.db import get_session
from rfp_portal.models import Claim, ClaimStatus, Rfp
from rfp_portal.rfps.queries import rfp_listing
from rfp_portal.services.accounts import find_user_by_username
from rfp_portal.web import claim_policy, now

bp = Blueprint("users", __name__)


@bp.route("/users/<username>")
def show(username: str):
    """A person's RFPs, what they are working on and what they delivered.

    :raise 404: when nobody has that username.
    """
    session = get_session()
    person = find_user_by_username(session, username)
    if person is None:
        abort(404, description="There is nobody with that username.")
    rfps = session.scalars(
        rfp_listing(now(), claim_policy())
        .where(Rfp.author_id == person.id)
        .order_by(Rfp.created_at.desc(), Rfp.id.desc())
    ).all()
    claims = session.scalars(
        sa.select(Claim)
        .where(Claim.claimant_id == person.id, Claim.status != ClaimStatus.DROPPED)
        .order_by(Claim.created_at.desc())
        .options(selectinload(Claim.rfp), selectinload(Claim.result_plot))
    ).all()
    working = [c for c in claims if c.is_active(now(), claim_policy())]
    delivered = [c for c in claims if c.status is ClaimStatus.DELIVERED]
    return render_template(
        "users/show.html", person=person, rfps=rfps, working=working, delivered=delivered
    )
