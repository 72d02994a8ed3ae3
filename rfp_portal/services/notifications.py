"""Notifications inside the portal (no e-mail yet)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rfp_portal.models import Notification, NotificationKind, User


def notify(
    session: Session,
    *,
    recipients,
    actor: User,
    kind: NotificationKind,
    rfp_id: int,
    claim_id: int | None = None,
    comment_id: int | None = None,
) -> None:
    """Tell each recipient (once, and never the actor) that something happened."""
    seen = set()
    for recipient_id in recipients:
        if recipient_id == actor.id or recipient_id in seen:
            continue
        seen.add(recipient_id)
        session.add(
            Notification(
                recipient_id=recipient_id,
                actor_id=actor.id,
                kind=kind,
                rfp_id=rfp_id,
                claim_id=claim_id,
                comment_id=comment_id,
            )
        )
    session.flush()


def unread_count(session: Session, user: User) -> int:
    return session.scalar(
        sa.select(sa.func.count())
        .select_from(Notification)
        .where(Notification.recipient_id == user.id, Notification.read_at.is_(None))
    )


def mark_all_read(session: Session, *, user: User, now: datetime) -> int:
    """Mark every unread notification of ``user`` read; return how many there were."""
    result = session.execute(
        sa.update(Notification)
        .where(Notification.recipient_id == user.id, Notification.read_at.is_(None))
        .values(read_at=now)
    )
    return result.rowcount
