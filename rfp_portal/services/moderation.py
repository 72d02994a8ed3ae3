"""Recording moderation: one row per action, added in the same transaction as the action."""

from __future__ import annotations

from sqlalchemy.orm import Session

from rfp_portal.models import ModerationAction, ModerationKind, User
from rfp_portal.models.moderation import REASON_MAX


def record(
    session: Session,
    *,
    kind: ModerationKind,
    actor: User | None,
    rfp_id: int | None = None,
    comment_id: int | None = None,
    subject: User | None = None,
    detail: str = "",
    reason: str = "",
) -> ModerationAction:
    """Log ``kind`` by ``actor`` (None: from the command line); the caller commits both."""
    action = ModerationAction(
        kind=kind,
        actor_id=actor.id if actor is not None else None,
        rfp_id=rfp_id,
        comment_id=comment_id,
        subject_id=subject.id if subject is not None else None,
        detail=detail[:200],
        reason=" ".join(reason.split())[:REASON_MAX],
    )
    session.add(action)
    return action
