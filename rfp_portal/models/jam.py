"""Research Jams, the monthly open lab meeting, and the RFPs presented at them."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload

from rfp_portal import clock
from rfp_portal.db import Base, UtcDateTime, str_enum
from rfp_portal.models.schedule import COMMUNITY_ZONE, Scheduled

if TYPE_CHECKING:
    from rfp_portal.models.rfp import Rfp
    from rfp_portal.models.user import User

JAM_TITLE_MAX = 140
JAM_DESCRIPTION_MAX = 10_000
URL_MAX = 2_000
SLOT_TITLE_MAX = 140
SLOT_LINE_MAX = 280
DECLINE_REASON_MAX = 500

__all__ = ["COMMUNITY_ZONE", "AgendaSlot", "Jam", "Presentation", "SlotKind", "SlotState"]


class Jam(Scheduled, Base):
    __tablename__ = "jams"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)
    title: Mapped[str] = mapped_column(sa.String(JAM_TITLE_MAX))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)  # stored in UTC
    # When the day-before reminders went out (presenters, the webhooks' agenda); never twice.
    reminded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The zone it was announced in, so the page can say "4 pm PT" as the community does.
    timezone: Mapped[str] = mapped_column(sa.String(64), default=COMMUNITY_ZONE)
    duration_minutes: Mapped[int] = mapped_column(default=90)
    # Until when members may offer agenda slots; unset, until the Jam starts.
    offers_close_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    join_url: Mapped[str | None] = mapped_column(sa.String(URL_MAX))
    description_md: Mapped[str] = mapped_column(sa.Text, default="")
    description_html: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)

    presentations: Mapped[list[Presentation]] = relationship(
        back_populates="jam",
        order_by="(Presentation.position, Presentation.id)",
        cascade="all, delete-orphan",
    )

    slots: Mapped[list[AgendaSlot]] = relationship(
        back_populates="jam",
        order_by="(AgendaSlot.position, AgendaSlot.id)",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    @property
    def offers_close(self) -> datetime:
        """When offers of agenda slots close: the organiser's time, or else the start."""
        return self.offers_close_at or self.starts_at

    def takes_offers(self, now: datetime) -> bool:
        return now < self.offers_close and not self.has_started(now)

    @property
    def agenda_slots(self) -> list[AgendaSlot]:
        """The accepted slots, in the order (and so the time) they are held."""
        return [slot for slot in self.slots if slot.state is SlotState.ACCEPTED]

    @property
    def offered_slots(self) -> list[AgendaSlot]:
        """Offers waiting for an organiser, oldest first."""
        waiting = [slot for slot in self.slots if slot.state is SlotState.OFFERED]
        return sorted(waiting, key=lambda slot: (slot.created_at, slot.id))

    @property
    def unslotted_presentations(self) -> list[Presentation]:
        """RFPs linked to this Jam by hand, and not also on the agenda through a slot."""
        on_agenda = {slot.rfp_id for slot in self.agenda_slots if slot.rfp_id}
        from_slots = {slot.presentation_id for slot in self.slots if slot.presentation_id}
        return [
            p for p in self.presentations if p.id not in from_slots and p.rfp_id not in on_agenda
        ]

    @property
    def name(self) -> str:
        return f"Research Jam #{self.number}"

    @property
    def calendar_uid(self) -> str:
        """Stable through renames and host names: only the row's id (as it always was)."""
        return f"research-jam-{self.id}"

    def __repr__(self) -> str:
        return f"<Jam #{self.number} {self.starts_at:%Y-%m-%d}>"


class Presentation(Base):
    """An RFP presented (or to be presented) at a Jam: one link per RFP and Jam."""

    __tablename__ = "presentations"
    __table_args__ = (sa.UniqueConstraint("rfp_id", "jam_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rfp_id: Mapped[int] = mapped_column(sa.ForeignKey("rfps.id", ondelete="CASCADE"), index=True)
    jam_id: Mapped[int] = mapped_column(sa.ForeignKey("jams.id", ondelete="CASCADE"), index=True)
    presenter_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    slides_url: Mapped[str | None] = mapped_column(sa.String(URL_MAX))
    recording_url: Mapped[str | None] = mapped_column(sa.String(URL_MAX))
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)

    jam: Mapped[Jam] = relationship(back_populates="presentations")
    rfp: Mapped[Rfp] = relationship(back_populates="presentations")
    presenter: Mapped[User] = relationship()

    def can_remove(self, user) -> bool:
        return self.rfp.is_managed_by(user)


class SlotKind(enum.StrEnum):
    RFP = "rfp"  # present an RFP (one of the offerer's own, published or a draft)
    UPDATE = "update"  # a small update on what they are working on


class SlotState(enum.StrEnum):
    OFFERED = "offered"  # waiting for an organiser
    ACCEPTED = "accepted"  # on the agenda, at a time within the Jam
    DECLINED = "declined"  # an organiser said no, with a reason the offerer sees


class AgendaSlot(Base):
    """A slot on a Jam's agenda that a member offered: an RFP to present or a small update.

    An accepted slot has a place in the order and a start, kept as minutes after the Jam's start
    so that moving the Jam moves its agenda with it.
    """

    __tablename__ = "agenda_slots"

    id: Mapped[int] = mapped_column(primary_key=True)
    jam_id: Mapped[int] = mapped_column(sa.ForeignKey("jams.id", ondelete="CASCADE"), index=True)
    offered_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    kind: Mapped[SlotKind] = mapped_column(str_enum(SlotKind, "slot_kind"))
    rfp_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("rfps.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str | None] = mapped_column(sa.String(SLOT_TITLE_MAX))
    line: Mapped[str | None] = mapped_column(sa.String(SLOT_LINE_MAX))
    link_url: Mapped[str | None] = mapped_column(sa.String(URL_MAX))
    minutes: Mapped[int]
    state: Mapped[SlotState] = mapped_column(
        str_enum(SlotState, "slot_state"), default=SlotState.OFFERED
    )
    decline_reason: Mapped[str | None] = mapped_column(sa.String(DECLINE_REASON_MAX))
    position: Mapped[int] = mapped_column(default=0)
    start_offset_minutes: Mapped[int | None]
    # The "presented at" link an accepted RFP slot made (None for updates, and for a draft
    # until it is published).
    presentation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("presentations.id", ondelete="SET NULL")
    )
    slides_url: Mapped[str | None] = mapped_column(sa.String(URL_MAX))
    recording_url: Mapped[str | None] = mapped_column(sa.String(URL_MAX))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    jam: Mapped[Jam] = relationship(back_populates="slots")
    offered_by: Mapped[User] = relationship()
    rfp: Mapped[Rfp | None] = relationship()

    @property
    def starts_at(self) -> datetime | None:
        if self.start_offset_minutes is None:
            return None
        return self.jam.starts_at + timedelta(minutes=self.start_offset_minutes)

    @property
    def ends_at(self) -> datetime | None:
        start = self.starts_at
        return None if start is None else start + timedelta(minutes=self.minutes)

    @property
    def end_offset_minutes(self) -> int:
        return (self.start_offset_minutes or 0) + self.minutes

    def public_title(self) -> str:
        """What the agenda calls it: a draft's title stays private until it is published."""
        if self.kind is SlotKind.UPDATE:
            return self.title or ""
        if self.rfp is None or self.rfp.is_draft:
            return "An RFP (to be published)"
        return self.rfp.title

    def is_offered_by(self, user) -> bool:
        return bool(getattr(user, "is_authenticated", False) and user.id == self.offered_by_id)

    def can_withdraw(self, user) -> bool:
        return self.is_offered_by(user)

    def can_attach_materials(self, user) -> bool:
        """The presenter, or an organiser, adds slides and a recording to an accepted slot."""
        if self.state is not SlotState.ACCEPTED:
            return False
        return self.is_offered_by(user) or bool(getattr(user, "is_organiser", False))

    def __repr__(self) -> str:
        return f"<AgendaSlot {self.id} {self.kind} {self.state}>"


def with_agenda() -> tuple:
    """Loader options for Jams shown with their agenda: what was presented, and by whom, and
    the slots members offered.

    e.g. ``select(Jam).options(*with_agenda())``: five more queries, however many Jams.
    """
    return (
        selectinload(Jam.presentations).selectinload(Presentation.rfp),
        selectinload(Jam.presentations).selectinload(Presentation.presenter),
        selectinload(Jam.slots).selectinload(AgendaSlot.rfp),
        selectinload(Jam.slots).selectinload(AgendaSlot.offered_by),
    )
