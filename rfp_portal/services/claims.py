"""Claiming RFPs, reporting progress, dropping, delivering results and accepting them.

The rules live here (and in the models' predicates); they hold under concurrency because a claim
locks its RFP and its claimant before counting: SELECT … FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE
on SQLite (which lets one writer in at a time).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rfp_portal.models import (
    Claim,
    ClaimPolicy,
    ClaimStatus,
    NotificationKind,
    Plot,
    PlotKind,
    ProgressUpdate,
    Rfp,
    RfpState,
    User,
    WebhookEvent,
)
from rfp_portal.rendering.images import process_upload
from rfp_portal.services import DomainError, NotAllowed
from rfp_portal.services.notifications import notify, watch, watchers
from rfp_portal.services.outbox import queue_announcement
from rfp_portal.services.plots import _store
from rfp_portal.services.text import render_field
from rfp_portal.storage import ImageStore


def _lock_for_claiming(session: Session, rfp: Rfp, person: User) -> None:
    """Serialise claims on this RFP and by this person, so the counts below stay true."""
    if session.get_bind().dialect.name == "sqlite":
        connection = session.connection()
        if not connection.connection.dbapi_connection.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        session.refresh(rfp)
    else:
        session.execute(sa.select(Rfp.id).where(Rfp.id == rfp.id).with_for_update())
        session.execute(sa.select(User.id).where(User.id == person.id).with_for_update())
        session.refresh(rfp)


def active_claims_on(session: Session, rfp: Rfp, *, now: datetime, policy: ClaimPolicy) -> int:
    return session.scalar(
        sa.select(sa.func.count())
        .select_from(Claim)
        .where(Claim.rfp_id == rfp.id, Claim.counts_as_active(now, policy))
    )


def active_claims_of(
    session: Session, person: User, *, now: datetime, policy: ClaimPolicy
) -> list[Claim]:
    return list(
        session.scalars(
            sa.select(Claim).where(
                Claim.claimant_id == person.id, Claim.counts_as_active(now, policy)
            )
        )
    )


def claim_refusal(
    session: Session, rfp: Rfp, person: User, *, now: datetime, policy: ClaimPolicy
) -> str | None:
    """Why ``person`` may not claim ``rfp`` now, or None when they may."""
    if rfp.is_draft:
        return "This is a draft: it takes claims once it is published."
    if rfp.state is not RfpState.OPEN:
        return f"This RFP is {rfp.state.value}; it no longer accepts claims."
    if rfp.is_author(person):
        return "You wrote this RFP; it is for others to claim."
    mine = active_claims_of(session, person, now=now, policy=policy)
    if any(claim.rfp_id == rfp.id for claim in mine):
        return "You are already working on this RFP."
    delivered = sa.select(Claim.id).where(
        Claim.rfp_id == rfp.id,
        Claim.claimant_id == person.id,
        Claim.status == ClaimStatus.DELIVERED,
    )
    if session.scalar(delivered.limit(1)) is not None:
        return "You delivered a result here already. Thank you!"
    if len(mine) >= policy.per_person:
        return (
            f"You already hold {policy.per_person} active claims, the most at once. "
            "Deliver or drop one before claiming another."
        )
    if (
        rfp.claim_cap is not None
        and active_claims_on(session, rfp, now=now, policy=policy) >= rfp.claim_cap
    ):
        cap = rfp.claim_cap
        return f"{cap} {'person is' if cap == 1 else 'people are'} already working on this, as many as the author asked for."
    return None


def claim_rfp(
    session: Session, *, rfp: Rfp, person: User, note: str = "", now: datetime, policy: ClaimPolicy
) -> Claim:
    """``person`` starts working on ``rfp``.

    :raise DomainError: when the RFP is not open, its cap is reached, the person already works on
        it, or holds as many active claims as allowed.
    """
    _lock_for_claiming(session, rfp, person)
    refusal = claim_refusal(session, rfp, person, now=now, policy=policy)
    if refusal:
        raise DomainError(refusal)
    claim = Claim(
        rfp_id=rfp.id,
        claimant_id=person.id,
        note_md=note.strip(),
        note_html=render_field(note.strip(), field="note") if note.strip() else "",
        status=ClaimStatus.ACTIVE,
        created_at=now,
        last_activity_at=now,
    )
    session.add(claim)
    session.flush()
    watch(session, user=person, rfp=rfp, now=now)
    notify(
        session,
        recipients=[rfp.author_id],
        actor=person,
        kind=NotificationKind.CLAIMED,
        rfp_id=rfp.id,
        claim_id=claim.id,
        now=now,
    )
    return claim


def post_progress(
    session: Session, *, claim: Claim, person: User, body: str, now: datetime, policy: ClaimPolicy
) -> ProgressUpdate:
    """Add a progress update; it resets the claim's check-in clock.

    :raise NotAllowed: unless ``person`` holds the claim and it is active (not expired).
    """
    if not claim.can_post_progress(person, now, policy):
        if claim.is_claimant(person) and claim.is_expired(now, policy):
            raise DomainError("This claim has expired. Claim the RFP again to pick it back up.")
        raise NotAllowed("Only the person working on this can post progress.")
    update = ProgressUpdate(
        claim=claim,
        body_md=body.strip(),
        body_html=render_field(body.strip(), field="body"),
        created_at=now,
    )
    session.add(update)
    claim.last_activity_at = now
    session.flush()
    notify(
        session,
        recipients=watchers(session, claim.rfp_id),
        actor=person,
        kind=NotificationKind.PROGRESS,
        rfp_id=claim.rfp_id,
        claim_id=claim.id,
        now=now,
    )
    return update


def drop_claim(session: Session, *, claim: Claim, person: User, now: datetime) -> None:
    """:raise NotAllowed: unless ``person`` holds the claim and it is active (or expired)."""
    if not claim.can_drop(person):
        raise NotAllowed("Only the person working on this can drop it.")
    claim.status = ClaimStatus.DROPPED
    claim.ended_at = now
    session.flush()


def deliver_result(
    session: Session,
    store: ImageStore,
    *,
    claim: Claim,
    person: User,
    result_url: str,
    write_up: str,
    image: bytes,
    caption: str,
    alt_text: str,
    now: datetime,
) -> Plot:
    """Deliver a claim: a link, a write-up and a result plot (through the plots pipeline).

    :raise NotAllowed: unless ``person`` holds the claim and it is active.
    :raise ImageRejected: when the image is not acceptable.
    """
    if not claim.can_deliver(person):
        raise NotAllowed("Only the person working on this can deliver it.")
    files = _store(store, process_upload(image))
    plot = Plot(
        rfp_id=claim.rfp_id,
        kind=PlotKind.RESULT,
        caption=caption.strip(),
        alt_text=alt_text.strip(),
        position=0,
        created_by_id=person.id,
        created_at=now,
        updated_at=now,
        **files,
    )
    session.add(plot)
    session.flush()
    claim.write_up_html = render_field(write_up.strip(), field="write_up")
    claim.write_up_md = write_up.strip()
    claim.result_url = result_url.strip()
    claim.result_plot = plot
    claim.status = ClaimStatus.DELIVERED
    claim.ended_at = claim.last_activity_at = now
    session.flush()
    notify(
        session,
        recipients=[claim.rfp.author_id, *watchers(session, claim.rfp_id)],
        actor=person,
        kind=NotificationKind.DELIVERED,
        rfp_id=claim.rfp_id,
        claim_id=claim.id,
        now=now,
    )
    queue_announcement(
        session,
        event=WebhookEvent.RESULT_DELIVERED,
        params={"rfp_id": claim.rfp_id, "claim_id": claim.id},
        now=now,
    )
    return plot


def accept_delivery(session: Session, *, claim: Claim, person: User, now: datetime) -> None:
    """The RFP's author accepts a delivered result, which completes the RFP.

    Several different results may be accepted; the RFP stays completed.

    :raise NotAllowed: unless ``person`` wrote the RFP and the claim is delivered, not yet accepted.
    """
    if not claim.can_accept(person):
        raise NotAllowed("Only the RFP's author can accept a delivered result, once.")
    claim.accepted_at = now
    if claim.rfp.state is RfpState.OPEN:
        claim.rfp.state = RfpState.COMPLETED
        claim.rfp.updated_at = now
    session.flush()
    notify(
        session,
        recipients=[claim.claimant_id],
        actor=person,
        kind=NotificationKind.ACCEPTED,
        rfp_id=claim.rfp_id,
        claim_id=claim.id,
        now=now,
    )
