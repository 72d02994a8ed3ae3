"""What a logged-in reader's pages depend on, in one small record read once per site change.

Most of a page is the same for every member; what differs is decided by a few facts about the
reader: their role, which RFPs they wrote, claimed, commented on, want or watch, the tags they
follow, their unread notifications. ``reader_facts`` reads them all in a fixed number of small,
indexed queries, so the page cache (``rfp_portal.page_cache.members``) can tell, without the
database, whether two members would see the same page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rfp_portal.models import (
    AgendaSlot,
    Claim,
    ClaimPolicy,
    Comment,
    Notification,
    Rfp,
    RfpState,
    Tag,
    User,
    rfp_watches,
    tag_follows,
    wants,
)


@dataclass(frozen=True)
class ReaderFacts:
    """One member's relations to the site's content, as of one site change."""

    user_id: int
    username: str
    role: str
    unread: int
    wrote: frozenset[int]  # RFPs they are the author of, drafts included
    has_drafts: bool
    claimed: frozenset[int]  # RFPs they ever claimed (any state: their page shows it)
    commented: frozenset[int]
    wanted: frozenset[int]
    watched: frozenset[int]
    told_of: frozenset[int]  # RFPs of their unread notifications (opening one reads them)
    followed_tags: tuple[str, ...]
    offered_slots: bool  # they offered a slot on a Jam's agenda
    at_claim_limit: bool  # they hold as many active claims as allowed

    @property
    def is_member(self) -> bool:
        """A member without an organiser's or an admin's powers."""
        return self.role == "member"

    def relates_to(self, rfp_id: int) -> bool:
        """Whether the RFP's page shows this reader anything of their own beyond the want and
        watch buttons (their claim, their comments, their controls as its author)."""
        return (
            rfp_id in self.wrote
            or rfp_id in self.claimed
            or rfp_id in self.commented
            or rfp_id in self.told_of
        )


def _ids(session: Session, query) -> frozenset[int]:
    return frozenset(session.scalars(query))


def reader_facts(
    session: Session, user: User, *, now: datetime, policy: ClaimPolicy
) -> ReaderFacts:
    """The facts for ``user``, in a fixed number of queries, each on an index of the user."""
    written = session.execute(sa.select(Rfp.id, Rfp.state).where(Rfp.author_id == user.id)).all()
    told = session.execute(
        sa.select(Notification.rfp_id, sa.func.count())
        .where(Notification.recipient_id == user.id, Notification.read_at.is_(None))
        .group_by(Notification.rfp_id)
    ).all()
    active = session.scalar(
        sa.select(sa.func.count())
        .select_from(Claim)
        .where(Claim.claimant_id == user.id, Claim.counts_as_active(now, policy))
    )
    return ReaderFacts(
        user_id=user.id,
        username=user.username,
        role=user.role.value,
        unread=sum(count for _rfp, count in told),
        wrote=frozenset(rfp_id for rfp_id, _state in written),
        has_drafts=any(state is RfpState.DRAFT for _rfp, state in written),
        claimed=_ids(session, sa.select(Claim.rfp_id).where(Claim.claimant_id == user.id)),
        commented=_ids(
            session, sa.select(Comment.rfp_id).where(Comment.author_id == user.id).distinct()
        ),
        wanted=_ids(session, sa.select(wants.c.rfp_id).where(wants.c.user_id == user.id)),
        watched=_ids(
            session, sa.select(rfp_watches.c.rfp_id).where(rfp_watches.c.user_id == user.id)
        ),
        told_of=frozenset(rfp_id for rfp_id, _count in told),
        followed_tags=tuple(
            session.scalars(
                sa.select(Tag.name)
                .join(tag_follows, tag_follows.c.tag_id == Tag.id)
                .where(tag_follows.c.user_id == user.id)
                .order_by(Tag.name)
            )
        ),
        offered_slots=session.scalar(
            sa.select(sa.literal(1)).where(AgendaSlot.offered_by_id == user.id).limit(1)
        )
        is not None,
        at_claim_limit=(active or 0) >= policy.per_person,
    )
