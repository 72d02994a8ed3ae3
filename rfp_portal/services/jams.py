"""Research Jams and presentations: organisers schedule Jams; authors link their RFPs to them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rfp_portal.models import (
    AgendaSlot,
    Jam,
    Presentation,
    Rfp,
    SlotState,
    User,
    WebhookEvent,
)
from rfp_portal.services import DomainError, NotAllowed
from rfp_portal.services.outbox import queue_announcement
from rfp_portal.services.text import render_field


@dataclass(frozen=True)
class JamDraft:
    number: int
    title: str
    local_start: datetime  # naive: a wall-clock time in ``timezone``
    timezone: str
    duration_minutes: int
    join_url: str | None
    description: str
    # When members stop offering agenda slots (a wall-clock time in ``timezone``); None: at the start.
    offers_close: datetime | None = None


def to_utc(local: datetime, zone_name: str) -> datetime:
    """A wall-clock time in a zone, as UTC.

    :raise DomainError: for an unknown zone, or a time the clocks skip (spring forward).
    """
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DomainError("Choose a time zone from the list.", field="timezone") from None
    aware = local.replace(tzinfo=zone)
    utc = aware.astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) != local:
        raise DomainError(
            "That time does not exist in this time zone (the clocks change then). Pick another.",
            field="starts_at",
        )
    return utc


def next_jam_number(session: Session) -> int:
    return (session.scalar(sa.select(sa.func.max(Jam.number))) or 0) + 1


def _apply(session: Session, jam: Jam, draft: JamDraft) -> None:
    clash = session.scalar(sa.select(Jam.id).where(Jam.number == draft.number, Jam.id != jam.id))
    if clash is not None:
        raise DomainError(f"Research Jam #{draft.number} already exists.", field="number")
    jam.number = draft.number
    jam.title = draft.title.strip()
    jam.starts_at = to_utc(draft.local_start, draft.timezone)
    jam.timezone = draft.timezone
    agenda_end = max((slot.end_offset_minutes for slot in jam.agenda_slots), default=0)
    if draft.duration_minutes < agenda_end:
        raise DomainError(
            f"The agenda runs {agenda_end} minutes; make the Jam at least that long, or take "
            "slots off the agenda first.",
            field="duration_minutes",
        )
    jam.duration_minutes = draft.duration_minutes
    jam.join_url = (draft.join_url or "").strip() or None
    jam.offers_close_at = None
    if draft.offers_close is not None:
        try:
            closes = to_utc(draft.offers_close, draft.timezone)
        except DomainError as error:
            raise DomainError(error.message, field="offers_close") from None
        if closes > jam.starts_at:
            raise DomainError(
                "Offers must close before the Jam begins (or leave it empty: at the start).",
                field="offers_close",
            )
        jam.offers_close_at = closes
    jam.description_html = render_field(draft.description.strip(), field="description")
    jam.description_md = draft.description.strip()


def create_jam(session: Session, *, organiser: User, draft: JamDraft, now: datetime) -> Jam:
    """:raise NotAllowed: unless ``organiser`` is one. :raise DomainError: on a taken number or bad time."""
    if not organiser.is_organiser:
        raise NotAllowed("Only organisers schedule Research Jams.")
    jam = Jam(created_at=now, updated_at=now)
    _apply(session, jam, draft)
    session.add(jam)
    session.flush()
    queue_announcement(
        session, event=WebhookEvent.JAM_ANNOUNCED, params={"jam_id": jam.id}, now=now
    )
    return jam


def update_jam(
    session: Session, *, jam: Jam, organiser: User, draft: JamDraft, now: datetime
) -> None:
    if not organiser.is_organiser:
        raise NotAllowed("Only organisers edit Research Jams.")
    starts_at = jam.starts_at
    _apply(session, jam, draft)
    if jam.starts_at != starts_at:
        jam.reminded_at = None  # a moved Jam is reminded of again, the day before its new date
    jam.updated_at = now
    session.flush()


def link_to_jam(
    session: Session,
    *,
    rfp: Rfp,
    jam: Jam,
    person: User,
    slides_url: str | None,
    recording_url: str | None,
    now: datetime,
) -> Presentation:
    """Say that ``rfp`` is (or was) presented at ``jam``; its author presents it.

    :raise NotAllowed: unless ``person`` is the RFP's author or an organiser.
    :raise DomainError: when the RFP is a draft or already linked to that Jam.
    """
    if not rfp.is_managed_by(person):
        raise NotAllowed("Only the RFP's author or an organiser can link it to a Research Jam.")
    if rfp.is_draft:
        raise DomainError("Publish this draft before linking it to a Research Jam.", field="jam")
    exists = sa.select(Presentation.id).where(
        Presentation.rfp_id == rfp.id, Presentation.jam_id == jam.id
    )
    if session.scalar(exists) is not None:
        raise DomainError(f"This RFP is already on the agenda of {jam.name}.", field="jam")
    offered = sa.select(AgendaSlot.id).where(
        AgendaSlot.rfp_id == rfp.id,
        AgendaSlot.jam_id == jam.id,
        AgendaSlot.state != SlotState.DECLINED,
    )
    if session.scalar(offered) is not None:
        # The slot makes the link when an organiser accepts it (and removes it if withdrawn).
        raise DomainError(
            f"This RFP is offered for the agenda of {jam.name}; it is linked once accepted.",
            field="jam",
        )
    position = session.scalar(
        sa.select(sa.func.max(Presentation.position)).where(Presentation.jam_id == jam.id)
    )
    presentation = Presentation(
        rfp_id=rfp.id,
        jam_id=jam.id,
        presenter_id=rfp.author_id,
        slides_url=(slides_url or "").strip() or None,
        recording_url=(recording_url or "").strip() or None,
        position=0 if position is None else position + 1,
        created_at=now,
    )
    session.add(presentation)
    session.flush()
    return presentation


def unlink_from_jam(session: Session, *, presentation: Presentation, person: User) -> None:
    """:raise NotAllowed: unless ``person`` is the RFP's author or an organiser."""
    if not presentation.can_remove(person):
        raise NotAllowed("Only the RFP's author or an organiser can remove this.")
    from_slot = sa.select(AgendaSlot.id).where(AgendaSlot.presentation_id == presentation.id)
    if session.scalar(from_slot) is not None:
        raise DomainError(
            "This link comes from a slot on the Jam's agenda: its presenter withdraws the slot, "
            "or an organiser takes it off the agenda, on the Jam's page."
        )
    session.delete(presentation)
    session.flush()
