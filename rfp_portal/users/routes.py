"""People's pages."""

import sqlalchemy as sa
from flask import Blueprint, abort, render_template
from sqlalchemy.orm import selectinload

from rfp_portal.db import get_session
from rfp_portal.models import Rfp
from rfp_portal.services.accounts import find_user_by_username

bp = Blueprint("users", __name__)


@bp.route("/users/<username>")
def show(username: str):
    """:raise 404: when nobody has that username."""
    session = get_session()
    person = find_user_by_username(session, username)
    if person is None:
        abort(404, description="There is nobody with that username.")
    rfps = session.scalars(
        sa.select(Rfp)
        .where(Rfp.author_id == person.id)
        .order_by(Rfp.created_at.desc(), Rfp.id.desc())
        .options(selectinload(Rfp.tags), selectinload(Rfp.plots))
    ).all()
    return render_template("users/show.html", person=person, rfps=rfps)
