"""A Jam's agenda, built from slots members offer and organisers accept, order and time.

A member offers "present an RFP" (one of their own, published or a draft) or "a small update"
(a title, a line, an optional link) with the minutes they need, until the Jam stops taking
offers. Organisers accept (the slot goes after the last one), move slots up and down, set a
slot's time within the Jam, or decline with a reason the offerer reads. An accepted RFP slot
is the RFP's "presented at" link (a draft's link is made when it is published). The presenter
(or an organiser) adds slides and a recording afterwards.

Times of accepted slots are kept as minutes after the Jam's start, never overlapping, in the
order they are held; moving the Jam moves its agenda with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rfp_portal.models import AgendaSlot, Jam, Presentation, Rfp, SlotKind, SlotState, User
from rfp_portal.models.rfp import RfpState
from rfp_portal.services import DomainError, NotAllowed
from rfp_portal.services.jams import to_utc

OPEN_OFFERS_PER_PERSON = 3  # per Jam: enough for an RFP and an update or two, not a flood
MIN_SLOT_MINUTES = 1


@dataclass(frozen=True)
class SlotOffer:
    kind: SlotKind
    minutes: int
    rfp: Rfp | None = None
    title: str = ""
    line: str = ""
    link_url: str | None = None


def _clock(moment: datetime, jam: Jam) -> str:
    """A time as the Jam's organisers announce it: "2021-08-04 16:00 PDT"."""
    local = moment.astimezone(jam.local_start.tzinfo)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def offerable_rfps(session: Session, *, jam: Jam, person: User) -> list[Rfp]:
    """The person's own RFPs they may offer to present at ``jam``: open or completed ones and
    drafts, not those already on its agenda or offered to it."""
    taken = sa.select(AgendaSlot.rfp_id).where(
        AgendaSlot.jam_id == jam.id,
        AgendaSlot.rfp_id.is_not(None),
        AgendaSlot.state != SlotState.DECLINED,
    )
    linked = sa.select(Presentation.rfp_id).where(Presentation.jam_id == jam.id)
    return list(
        session.scalars(
            sa.select(Rfp)
            .where(
                Rfp.author_id == person.id,
                Rfp.state.in_((RfpState.DRAFT, RfpState.OPEN, RfpState.COMPLETED)),
                Rfp.id.not_in(taken),
                Rfp.id.not_in(linked),
            )
            .order_by(Rfp.updated_at.desc(), Rfp.id.desc())
        )
    )


def offers_refusal(jam: Jam, now: datetime) -> str | None:
    """Why ``jam`` takes no offers at ``now`` (None: it does)."""
    if jam.has_started(now):
        return f"{jam.name} has already begun or taken place; it takes no more offers."
    if not jam.takes_offers(now):
        return (
            f"Offers for {jam.name} closed at {_clock(jam.offers_close, jam)}. "
            "Ask an organiser if you would still like a slot."
        )
    return None


def offer_slot(
    session: Session, *, jam: Jam, person: User, offer: SlotOffer, now: datetime
) -> AgendaSlot:
    """Offer a slot on ``jam``'s agenda.

    :raise DomainError: when the Jam has begun or its offers have closed, the slot is longer
        than the Jam, the RFP is someone else's (or withdrawn, or already on this agenda), an
        update lacks its title or line, or the person already has several offers waiting.
    """
    refusal = offers_refusal(jam, now)
    if refusal:
        raise DomainError(refusal)
    if offer.minutes < MIN_SLOT_MINUTES:
        raise DomainError("Ask for at least one minute.", field="minutes")
    if offer.minutes > jam.duration_minutes:
        raise DomainError(
            f"{jam.name} lasts {jam.duration_minutes} minutes; ask for "
            f"{jam.duration_minutes} minutes or fewer.",
            field="minutes",
        )
    waiting = session.scalar(
        sa.select(sa.func.count(AgendaSlot.id)).where(
            AgendaSlot.jam_id == jam.id,
            AgendaSlot.offered_by_id == person.id,
            AgendaSlot.state == SlotState.OFFERED,
        )
    )
    if waiting >= OPEN_OFFERS_PER_PERSON:
        raise DomainError(
            f"You have {waiting} offers waiting for {jam.name}; wait for an organiser's answer "
            "or withdraw one first."
        )
    slot = AgendaSlot(
        jam_id=jam.id,
        offered_by_id=person.id,
        kind=offer.kind,
        minutes=offer.minutes,
        state=SlotState.OFFERED,
        position=0,
        created_at=now,
    )
    if offer.kind is SlotKind.RFP:
        rfp = offer.rfp
        if rfp is None:
            raise DomainError("Choose the RFP you will present.", field="rfp")
        if not rfp.is_author(person):
            raise DomainError("You can only offer to present an RFP you wrote.", field="rfp")
        if rfp.state is RfpState.WITHDRAWN:
            raise DomainError("That RFP is withdrawn; it cannot be presented.", field="rfp")
        if rfp.id not in {r.id for r in offerable_rfps(session, jam=jam, person=person)}:
            raise DomainError(f"That RFP is already on the agenda of {jam.name}.", field="rfp")
        slot.rfp_id = rfp.id
    else:
        title, line = offer.title.strip(), offer.line.strip()
        if not title:
            raise DomainError("Give your update a title.", field="title")
        if not line:
            raise DomainError("Say in a line what the update is about.", field="line")
        slot.title, slot.line = title, line
        slot.link_url = (offer.link_url or "").strip() or None
    session.add(slot)
    session.flush()
    return slot


def withdraw_slot(session: Session, *, slot: AgendaSlot, person: User, now: datetime) -> None:
    """The offerer takes their slot back (an accepted one too, while the Jam is ahead).

    :raise NotAllowed: unless ``person`` offered it. :raise DomainError: once the Jam began.
    """
    if not slot.can_withdraw(person):
        raise NotAllowed("Only the person who offered a slot can withdraw it.")
    jam = _locked(session, slot.jam)
    if jam.has_started(now) and slot.state is SlotState.ACCEPTED:
        raise DomainError(f"{jam.name} has begun; this slot stays on its agenda.")
    _unlink(session, slot)
    session.delete(slot)
    session.flush()
    session.expire(jam, ["slots"])
    _renumber(session, jam)


def _organiser(person: User, verb: str) -> None:
    if not person.is_organiser:
        raise NotAllowed(f"Only organisers {verb} agenda slots.")


def _locked(session: Session, jam: Jam) -> Jam:
    """Hold the Jam's row until the commit (PostgreSQL; SQLite has one writer anyway) and read
    its slots afresh: two organisers deciding at once never give two slots the same time."""
    session.execute(sa.select(Jam.id).where(Jam.id == jam.id).with_for_update())
    fresh = sa.select(AgendaSlot).where(AgendaSlot.jam_id == jam.id)
    session.scalars(fresh.execution_options(populate_existing=True)).all()
    session.expire(jam, ["slots"])
    return jam


def _accepted(jam: Jam, *, besides: AgendaSlot | None = None) -> list[AgendaSlot]:
    return [s for s in jam.agenda_slots if besides is None or s.id != besides.id]


def _renumber(session: Session, jam: Jam) -> None:
    """The agenda's order is its time order: positions 0, 1, … by start (the link each RFP slot
    made keeps the same place)."""
    agenda = [s for s in jam.slots if s.state is SlotState.ACCEPTED]
    agenda.sort(key=lambda s: (s.start_offset_minutes or 0, s.id))
    for position, slot in enumerate(agenda):
        slot.position = position
        if slot.presentation_id is not None:
            presentation = session.get(Presentation, slot.presentation_id)
            if presentation is not None:
                presentation.position = position
    session.flush()


def _link(session: Session, slot: AgendaSlot) -> None:
    """Make an accepted RFP slot the RFP's "presented at" link, once the RFP is public. A link
    someone made by hand stays theirs: the slot neither takes it over nor removes it later."""
    rfp = slot.rfp
    if slot.kind is not SlotKind.RFP or rfp is None or rfp.is_draft or slot.presentation_id:
        return
    existing = session.scalar(
        sa.select(Presentation.id).where(
            Presentation.rfp_id == rfp.id, Presentation.jam_id == slot.jam_id
        )
    )
    if existing is not None:
        return
    presentation = Presentation(
        rfp_id=rfp.id,
        jam_id=slot.jam_id,
        presenter_id=slot.offered_by_id,
        position=slot.position,
        slides_url=slot.slides_url,
        recording_url=slot.recording_url,
        created_at=slot.decided_at or slot.created_at,
    )
    session.add(presentation)
    session.flush()
    slot.presentation_id = presentation.id


def _unlink(session: Session, slot: AgendaSlot) -> None:
    """Remove the "presented at" link this slot made (only that one)."""
    if slot.presentation_id is None:
        return
    presentation = session.get(Presentation, slot.presentation_id)
    slot.presentation_id = None
    if presentation is not None:
        session.delete(presentation)
    session.flush()


def accept_slot(session: Session, *, slot: AgendaSlot, organiser: User, now: datetime) -> None:
    """Put an offered (or declined) slot on the agenda, after the last accepted one.

    :raise NotAllowed: unless ``organiser`` is one. :raise DomainError: for a past Jam, an RFP
        withdrawn or already on the agenda, or when the rest of the Jam is too short for it.
    """
    _organiser(organiser, "accept")
    jam = _locked(session, slot.jam)
    if not jam.is_upcoming(now):
        raise DomainError(f"{jam.name} is over; its agenda can no longer change.")
    if slot.state is SlotState.ACCEPTED:
        raise DomainError("This slot is already on the agenda.")
    if slot.kind is SlotKind.RFP:
        if slot.rfp is None or slot.rfp.state is RfpState.WITHDRAWN:
            raise DomainError("Its RFP was withdrawn; decline the offer instead.")
        if any(other.rfp_id == slot.rfp_id for other in _accepted(jam)):
            raise DomainError("That RFP is already on the agenda.")
    others = _accepted(jam)
    start = max((s.end_offset_minutes for s in others), default=0)
    if start + slot.minutes > jam.duration_minutes:
        left = max(jam.duration_minutes - start, 0)
        raise DomainError(
            f"Only {left} minutes are left at the end of {jam.name}, and this slot needs "
            f"{slot.minutes}. Decline or shorten another slot, or set times to make room."
        )
    slot.state = SlotState.ACCEPTED
    slot.decline_reason = None
    slot.decided_at = now
    slot.start_offset_minutes = start
    slot.position = len(others)
    _link(session, slot)
    _renumber(session, jam)


def decline_slot(
    session: Session, *, slot: AgendaSlot, organiser: User, reason: str, now: datetime
) -> None:
    """Decline an offer (or take an accepted slot off the agenda), saying why.

    :raise NotAllowed: unless ``organiser`` is one. :raise DomainError: without a reason, or
        for a past Jam.
    """
    _organiser(organiser, "decline")
    jam = _locked(session, slot.jam)
    if not jam.is_upcoming(now):
        raise DomainError(f"{jam.name} is over; its agenda can no longer change.")
    reason = reason.strip()
    if not reason:
        raise DomainError("Say why, so the person who offered it knows.", field="reason")
    if slot.state is SlotState.DECLINED:
        raise DomainError("This offer is already declined.")
    _unlink(session, slot)
    slot.state = SlotState.DECLINED
    slot.decline_reason = reason
    slot.decided_at = now
    slot.start_offset_minutes = None
    _renumber(session, jam)


def move_slot(
    session: Session, *, slot: AgendaSlot, organiser: User, up: bool, now: datetime
) -> None:
    """Swap an accepted slot with the one before (``up``) or after it; the two keep the time
    span they shared, back to back in their new order.

    :raise NotAllowed: unless ``organiser`` is one. :raise DomainError: at either end, or for a
        past Jam.
    """
    _organiser(organiser, "reorder")
    jam = _locked(session, slot.jam)
    if not jam.is_upcoming(now):
        raise DomainError(f"{jam.name} is over; its agenda can no longer change.")
    if slot.state is not SlotState.ACCEPTED:
        raise DomainError("Only slots on the agenda can be moved.")
    agenda = sorted(_accepted(jam), key=lambda s: (s.start_offset_minutes or 0, s.id))
    index = next(i for i, s in enumerate(agenda) if s.id == slot.id)
    other_index = index - 1 if up else index + 1
    if not 0 <= other_index < len(agenda):
        raise DomainError("This slot is already " + ("first." if up else "last."))
    earlier, later = agenda[min(index, other_index)], agenda[max(index, other_index)]
    start = earlier.start_offset_minutes or 0
    gap = max((later.start_offset_minutes or 0) - earlier.end_offset_minutes, 0)
    # ``later`` now opens the span at ``earlier``'s old start; the gap between them stays, and
    # both still end where ``later`` ended, so neither runs into the next slot.
    later.start_offset_minutes = start
    earlier.start_offset_minutes = start + later.minutes + gap
    _renumber(session, jam)


def set_slot_time(
    session: Session, *, slot: AgendaSlot, organiser: User, wall_clock: time, now: datetime
) -> None:
    """Set when an accepted slot begins: a wall-clock time in the Jam's zone, on the Jam's day
    (or the next, for a Jam that runs past midnight there); the agenda's order follows the times.

    :raise NotAllowed: unless ``organiser`` is one. :raise DomainError: outside the Jam, when it
        overlaps another slot, at a time the clocks skip, or for a past Jam.
    """
    _organiser(organiser, "time")
    jam = _locked(session, slot.jam)
    if not jam.is_upcoming(now):
        raise DomainError(f"{jam.name} is over; its agenda can no longer change.")
    if slot.state is not SlotState.ACCEPTED:
        raise DomainError("Accept the slot before you give it a time.")
    day = jam.local_start.date()
    if wall_clock < jam.local_start.time().replace(second=0, microsecond=0):
        day += timedelta(days=1)
    try:
        start = to_utc(datetime.combine(day, wall_clock), jam.timezone)
    except DomainError as error:
        raise DomainError(error.message, field="start") from None
    # In UTC, so that a clock change during the Jam counts the real minutes.
    offset = (start - jam.starts_at) / timedelta(minutes=1)
    if offset != int(offset) or offset < 0 or offset + slot.minutes > jam.duration_minutes:
        raise DomainError(
            f"Choose a time from {_clock(jam.starts_at, jam)} to "
            f"{_clock(jam.ends_at - timedelta(minutes=slot.minutes), jam)}, so that its "
            f"{slot.minutes} minutes fit within the Jam.",
            field="start",
        )
    offset = int(offset)
    for other in _accepted(jam, besides=slot):
        other_start = other.start_offset_minutes or 0
        if offset < other.end_offset_minutes and other_start < offset + slot.minutes:
            raise DomainError(
                f"That overlaps “{other.public_title()}” "
                f"({_clock(other.starts_at, jam)}, {other.minutes} minutes).",
                field="start",
            )
    slot.start_offset_minutes = offset
    _renumber(session, jam)


def attach_materials(
    session: Session,
    *,
    slot: AgendaSlot,
    person: User,
    slides_url: str | None,
    recording_url: str | None,
) -> None:
    """The presenter (or an organiser) adds slides and a recording link to an accepted slot;
    an RFP slot's "presented at" link shows them too.

    :raise NotAllowed: unless the slot is accepted and ``person`` offered it or organises.
    """
    if not slot.can_attach_materials(person):
        raise NotAllowed("Only the presenter or an organiser adds slides and a recording.")
    slot.slides_url = (slides_url or "").strip() or None
    slot.recording_url = (recording_url or "").strip() or None
    if slot.presentation_id is not None:
        presentation = session.get(Presentation, slot.presentation_id)
        if presentation is not None:
            presentation.slides_url, presentation.recording_url = (
                slot.slides_url,
                slot.recording_url,
            )
    session.flush()


def link_published_rfp(session: Session, *, rfp: Rfp) -> None:
    """A draft accepted for a Jam's agenda is published: its slots become "presented at"
    links."""
    slots = session.scalars(
        sa.select(AgendaSlot).where(
            AgendaSlot.rfp_id == rfp.id,
            AgendaSlot.state == SlotState.ACCEPTED,
            AgendaSlot.presentation_id.is_(None),
        )
    ).all()
    for slot in slots:
        _link(session, slot)
    session.flush()
