""" "I want this plot too": one per member per RFP, counted on the RFP."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rfp_portal import clock
from rfp_portal.db import insert_for
from rfp_portal.models import Rfp, User, wants
from rfp_portal.services import NotAllowed


def wants_rfp(session: Session, *, rfp: Rfp, user) -> bool:
    """Whether ``user`` has said they want this plot too."""
    if not getattr(user, "is_authenticated", False):
        return False
    return (
        session.scalar(
            sa.select(sa.literal(1)).where(wants.c.rfp_id == rfp.id, wants.c.user_id == user.id)
        )
        is not None
    )


def set_want(session: Session, *, rfp: Rfp, user: User, want: bool) -> None:
    """Say (or unsay) "I want this plot too"; saying it twice counts once.

    The row and the counter change in one transaction, and the counter only moves when a row
    was really added or removed, so two clicks racing each other cannot count twice.

    :raise NotAllowed: for the RFP's own author, and on a withdrawn RFP.
    """
    if not rfp.can_be_wanted_by(user):
        raise NotAllowed(
            "You wrote this RFP, so you want it already."
            if rfp.is_author(user)
            else "A withdrawn RFP no longer takes “I want this plot too”."
        )
    if want:
        insert = insert_for(session)
        added = session.execute(
            insert(wants)
            .values(rfp_id=rfp.id, user_id=user.id, created_at=clock.now())
            .on_conflict_do_nothing()
            .returning(wants.c.rfp_id)
        ).all()
        changed = len(added)
    else:
        removed = session.execute(
            sa.delete(wants)
            .where(wants.c.rfp_id == rfp.id, wants.c.user_id == user.id)
            .returning(wants.c.rfp_id)
        ).all()
        changed = -len(removed)
    if changed:
        session.execute(
            sa.update(Rfp)
            .where(Rfp.id == rfp.id)
            .values(want_count=Rfp.want_count + changed)
            .execution_options(synchronize_session=False)
        )
        session.expire(rfp, ["want_count"])
    session.flush()
