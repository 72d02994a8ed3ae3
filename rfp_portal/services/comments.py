"""Comments on RFPs: post, edit, delete, and hide for moderation."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rfp_portal.models import (
    Claim,
    ClaimPolicy,
    Comment,
    ModerationKind,
    NotificationKind,
    Rfp,
    User,
    rfp_watches,
)
from rfp_portal.services import DomainError, NotAllowed
from rfp_portal.services.moderation import record
from rfp_portal.services.notifications import audiences, notify
from rfp_portal.services.text import render_field


def post_comment(
    session: Session, *, rfp: Rfp, author: User, body: str, now: datetime, policy: ClaimPolicy
) -> Comment:
    """Comment on an RFP; its author and the people working on it hear of it.

    :raise DomainError: on a withdrawn RFP or a draft.
    """
    if not rfp.accepts_comments:
        raise DomainError(
            "This is a draft: it takes comments once it is published."
            if rfp.is_draft
            else "This RFP was withdrawn; it takes no new comments."
        )
    comment = Comment(
        rfp_id=rfp.id,
        author_id=author.id,
        body_md=body.strip(),
        body_html=render_field(body.strip(), field="body"),
        created_at=now,
    )
    # Everything read first: on SQLite the first write takes the database's one write lock,
    # which is then held only for the writes. Who is concerned, in one query: the claimants,
    # the watchers, and those who commented before (they hear of it as a reply).
    concerned_query = sa.union_all(
        sa.select(sa.literal(0), Claim.claimant_id).where(
            Claim.rfp_id == rfp.id, Claim.counts_as_active(now, policy)
        ),
        sa.select(sa.literal(1), rfp_watches.c.user_id).where(rfp_watches.c.rfp_id == rfp.id),
        sa.select(sa.literal(2), Comment.author_id)
        .where(Comment.rfp_id == rfp.id)
        .where(Comment.deleted_at.is_(None), Comment.hidden_at.is_(None))
        .group_by(Comment.author_id),
    )
    found = sorted(session.execute(concerned_query).all())
    concerned = [rfp.author_id, *(person for source, person in found if source < 2)]
    earlier = [person for source, person in found if source == 2 and person not in concerned]
    told, replied = audiences(
        session,
        actor=author,
        groups=[
            (NotificationKind.COMMENTED, concerned),
            (NotificationKind.REPLIED, earlier),
        ],
    )
    session.add(comment)
    session.flush()
    for kind, audience_ in (
        (NotificationKind.COMMENTED, told),
        (NotificationKind.REPLIED, replied),
    ):
        notify(
            session,
            told=audience_,
            actor=author,
            kind=kind,
            rfp_id=rfp.id,
            comment_id=comment.id,
            now=now,
        )
    return comment


def edit_comment(
    session: Session, *, comment: Comment, person: User, body: str, now: datetime
) -> None:
    """:raise NotAllowed: unless ``person`` wrote the comment and it is visible."""
    if not comment.can_edit(person):
        raise NotAllowed("Only its author can edit this comment.")
    if body.strip() != comment.body_md:
        comment.body_html = render_field(body.strip(), field="body")
        comment.body_md = body.strip()
        comment.edited_at = now
    session.flush()


def delete_comment(session: Session, *, comment: Comment, person: User, now: datetime) -> None:
    """The author deletes their comment; the thread keeps its place, marked deleted, without text.

    :raise NotAllowed: unless ``person`` wrote the comment and it is visible.
    """
    if not comment.can_edit(person):
        raise NotAllowed("Only its author can delete this comment.")
    comment.deleted_at = now
    comment.body_md = comment.body_html = ""
    session.flush()


def set_comment_hidden(
    session: Session,
    *,
    comment: Comment,
    moderator: User,
    hidden: bool,
    now: datetime,
    reason: str = "",
) -> None:
    """An organiser hides an abusive comment (or shows it again); who and when are kept.

    :raise NotAllowed: unless ``moderator`` is an organiser or admin.
    """
    if not comment.can_moderate(moderator):
        raise NotAllowed("Only organisers can hide comments.")
    if (comment.hidden_at is not None) is hidden:
        return  # already so: nothing to do or to log
    comment.hidden_at = now if hidden else None
    comment.hidden_by_id = moderator.id if hidden else None
    record(
        session,
        kind=ModerationKind.HIDE_COMMENT if hidden else ModerationKind.SHOW_COMMENT,
        actor=moderator,
        rfp_id=comment.rfp_id,
        comment_id=comment.id,
        subject=comment.author,
        reason=reason,
    )
    session.flush()
