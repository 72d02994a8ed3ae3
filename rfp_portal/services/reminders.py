"""What the portal notices by the clock, run by the outbox sender's schedule.

Each reminder is derived from timestamps (as "check-in due" and "expired" always were) and
marked on its row when sent, so it goes out once however often the schedule runs:

- a claim whose check-in is due: its holder is told (with links to post progress or drop it);
- a claim that expired: the RFP's author is told;
- a Research Jam that starts within a day: its presenters are told, and the webhooks post its
  agenda.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, selectinload

from rfp_portal.models import (
    Claim,
    ClaimPolicy,
    Jam,
    NotificationKind,
    Presentation,
    Rfp,
    RfpState,
    WebhookEvent,
)
from rfp_portal.services.notifications import notify
from rfp_portal.services.outbox import queue_announcement

BATCH = 500  # rows per statement; the next run takes the rest

# Nobody is nudged about, or told of the expiry of, a claim on a withdrawn RFP (a draft has none).
_live_rfps = (
    sa.select(Rfp.id).where(Rfp.state.in_((RfpState.OPEN, RfpState.COMPLETED))).scalar_subquery()
)


@dataclass
class Reminded:
    checkins: int = 0
    expiries: int = 0
    jams: int = 0


def remind_checkins(session: Session, *, now: datetime, policy: ClaimPolicy) -> int:
    claims = session.scalars(
        sa.select(Claim)
        .where(Claim.needs_checkin_nudge(now, policy), Claim.rfp_id.in_(_live_rfps))
        .order_by(Claim.id)
        .limit(BATCH)
        .with_for_update(skip_locked=True, of=Claim)
    ).all()
    for claim in claims:
        notify(
            session,
            recipients=[claim.claimant_id],
            actor=None,
            kind=NotificationKind.CHECKIN_DUE,
            rfp_id=claim.rfp_id,
            claim_id=claim.id,
            now=now,
        )
        claim.checkin_nudged_at = now
    session.flush()
    return len(claims)


def notice_expiries(session: Session, *, now: datetime, policy: ClaimPolicy) -> int:
    claims = session.scalars(
        sa.select(Claim)
        .where(Claim.needs_expiry_notice(now, policy), Claim.rfp_id.in_(_live_rfps))
        .options(joinedload(Claim.rfp), joinedload(Claim.claimant))
        .order_by(Claim.id)
        .limit(BATCH)
        .with_for_update(skip_locked=True, of=Claim)
    ).all()
    for claim in claims:
        notify(
            session,
            recipients=[claim.rfp.author_id],
            actor=claim.claimant,
            kind=NotificationKind.CLAIM_EXPIRED,
            rfp_id=claim.rfp_id,
            claim_id=claim.id,
            now=now,
        )
        claim.expiry_noticed_at = now
    session.flush()
    return len(claims)


def remind_jams(session: Session, *, now: datetime) -> int:
    jams = session.scalars(
        sa.select(Jam)
        .where(
            Jam.reminded_at.is_(None),
            Jam.starts_at > now,
            Jam.starts_at <= now + timedelta(days=1),
        )
        .options(selectinload(Jam.presentations).joinedload(Presentation.rfp))
        .with_for_update(skip_locked=True, of=Jam)
    ).all()
    for jam in jams:
        for presentation in jam.presentations:
            notify(
                session,
                recipients=[presentation.presenter_id],
                actor=None,
                kind=NotificationKind.JAM_TOMORROW,
                rfp_id=presentation.rfp_id,
                jam_id=jam.id,
                now=now,
            )
        queue_announcement(
            session, event=WebhookEvent.JAM_AGENDA, params={"jam_id": jam.id}, now=now
        )
        jam.reminded_at = now
    session.flush()
    return len(jams)


def run_schedule(session: Session, *, now: datetime, policy: ClaimPolicy) -> Reminded:
    """Every reminder that is due; the caller commits."""
    return Reminded(
        checkins=remind_checkins(session, now=now, policy=policy),
        expiries=notice_expiries(session, now=now, policy=policy),
        jams=remind_jams(session, now=now),
    )
