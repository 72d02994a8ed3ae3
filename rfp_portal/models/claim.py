"""Claims on RFPs ("I'm working on this"), their progress updates, and delivered results."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rfp_portal import clock
from rfp_portal.db import Base, UtcDateTime, str_enum
from rfp_portal.models.rfp import RfpState

if TYPE_CHECKING:
    from rfp_portal.models.plot import Plot
    from rfp_portal.models.rfp import Rfp
    from rfp_portal.models.user import User

NOTE_MAX = 2_000
UPDATE_MAX = 5_000
WRITE_UP_MAX = 10_000
URL_MAX = 2_000


@dataclass(frozen=True)
class ClaimPolicy:
    """The configurable clock and caps of claims (see the README's configuration)."""

    checkin_days: int = 21
    expire_days: int = 30
    per_person: int = 3

    @classmethod
    def from_config(cls, config) -> ClaimPolicy:
        """The policy a portal's settings (CLAIM_CHECKIN_DAYS …) describe."""
        return cls(
            checkin_days=config["CLAIM_CHECKIN_DAYS"],
            expire_days=config["CLAIM_EXPIRE_DAYS"],
            per_person=config["MAX_ACTIVE_CLAIMS"],
        )

    def expires_before(self, now: datetime) -> datetime:
        """An active claim with no activity since this moment counts as expired."""
        return now - timedelta(days=self.expire_days)

    def checkin_before(self, now: datetime) -> datetime:
        return now - timedelta(days=self.checkin_days)


class ClaimStatus(enum.StrEnum):
    """What is stored. "Expired" and "check-in due" are derived from timestamps, never stored."""

    ACTIVE = "active"
    DELIVERED = "delivered"
    DROPPED = "dropped"


class Claim(Base):
    __tablename__ = "claims"
    __table_args__ = (
        # Counting the active claims of an RFP (listing counts, "claimed", the claims sort).
        sa.Index(
            "ix_claims_rfp_id_status_last_activity_at", "rfp_id", "status", "last_activity_at"
        ),
        sa.Index("ix_claims_claimant_id_status", "claimant_id", "status"),
        sa.Index("ix_claims_status_ended_at", "status", "ended_at"),  # recent results
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rfp_id: Mapped[int] = mapped_column(sa.ForeignKey("rfps.id", ondelete="CASCADE"))
    claimant_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    note_md: Mapped[str] = mapped_column(sa.Text, default="")
    note_html: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[ClaimStatus] = mapped_column(
        str_enum(ClaimStatus, "claim_status"), default=ClaimStatus.ACTIVE
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    # Reset by every progress update; expiry and "check-in due" are measured from it.
    last_activity_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The delivery: a link to the result, a short write-up and a result plot.
    result_url: Mapped[str | None] = mapped_column(sa.String(URL_MAX))
    write_up_md: Mapped[str | None] = mapped_column(sa.Text)
    write_up_html: Mapped[str | None] = mapped_column(sa.Text)
    result_plot_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("plots.id", ondelete="SET NULL")
    )
    accepted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # When the sender told the claimant a check-in is due, and the author that it expired: each
    # at most once per stretch of silence (a progress update starts a new one).
    checkin_nudged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    expiry_noticed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    rfp: Mapped[Rfp] = relationship(back_populates="claims")
    claimant: Mapped[User] = relationship()
    result_plot: Mapped[Plot | None] = relationship(foreign_keys=[result_plot_id])
    updates: Mapped[list[ProgressUpdate]] = relationship(
        back_populates="claim", order_by="ProgressUpdate.created_at", cascade="all, delete-orphan"
    )

    @classmethod
    def counts_as_active(cls, now: datetime, policy: ClaimPolicy):
        """SQL: active and not expired — what counts toward caps and toward "claimed"."""
        return sa.and_(
            cls.status == ClaimStatus.ACTIVE, cls.last_activity_at >= policy.expires_before(now)
        )

    def is_active(self, now: datetime, policy: ClaimPolicy) -> bool:
        return self.status is ClaimStatus.ACTIVE and self.last_activity_at >= policy.expires_before(
            now
        )

    def is_expired(self, now: datetime, policy: ClaimPolicy) -> bool:
        return self.status is ClaimStatus.ACTIVE and self.last_activity_at < policy.expires_before(
            now
        )

    @classmethod
    def needs_checkin_nudge(cls, now: datetime, policy: ClaimPolicy):
        """SQL: check-in due, and its holder not yet told since their last activity."""
        return sa.and_(
            cls.counts_as_active(now, policy),
            cls.last_activity_at < policy.checkin_before(now),
            sa.or_(cls.checkin_nudged_at.is_(None), cls.checkin_nudged_at < cls.last_activity_at),
        )

    @classmethod
    def needs_expiry_notice(cls, now: datetime, policy: ClaimPolicy):
        """SQL: expired, and the RFP's author not yet told since the claim's last activity."""
        return sa.and_(
            cls.status == ClaimStatus.ACTIVE,
            cls.last_activity_at < policy.expires_before(now),
            sa.or_(cls.expiry_noticed_at.is_(None), cls.expiry_noticed_at < cls.last_activity_at),
        )

    def is_checkin_due(self, now: datetime, policy: ClaimPolicy) -> bool:
        return self.is_active(now, policy) and self.last_activity_at < policy.checkin_before(now)

    def display_state(self, now: datetime, policy: ClaimPolicy) -> str:
        """active, check-in due, expired, delivered, accepted or dropped."""
        if self.status is ClaimStatus.DELIVERED:
            return "accepted" if self.accepted_at else "delivered"
        if self.status is ClaimStatus.DROPPED:
            return "dropped"
        if self.is_expired(now, policy):
            return "expired"
        return "check-in due" if self.is_checkin_due(now, policy) else "active"

    @property
    def anchor(self) -> str:
        """Its element on the RFP page: delivered claims sit under "Delivered results"."""
        return f"delivery-{self.id}" if self.status is ClaimStatus.DELIVERED else f"claim-{self.id}"

    def is_claimant(self, user) -> bool:
        return getattr(user, "is_authenticated", False) and user.id == self.claimant_id

    def can_post_progress(self, user, now: datetime, policy: ClaimPolicy) -> bool:
        return self.is_claimant(user) and self.is_active(now, policy)

    def can_drop(self, user) -> bool:
        return self.is_claimant(user) and self.status is ClaimStatus.ACTIVE

    def can_deliver(self, user) -> bool:
        """The claimant delivers an active claim (even a late one: a result is welcome), unless
        the RFP was withdrawn."""
        return (
            self.is_claimant(user)
            and self.status is ClaimStatus.ACTIVE
            and self.rfp.state is not RfpState.WITHDRAWN
        )

    def can_accept(self, user) -> bool:
        """The RFP's author accepts a delivery, once."""
        return (
            self.rfp.is_author(user)
            and self.status is ClaimStatus.DELIVERED
            and self.accepted_at is None
        )

    def __repr__(self) -> str:
        return f"<Claim {self.id} on RFP {self.rfp_id} by {self.claimant_id}: {self.status.value}>"


class ProgressUpdate(Base):
    __tablename__ = "progress_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(
        sa.ForeignKey("claims.id", ondelete="CASCADE"), index=True
    )
    body_md: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)

    claim: Mapped[Claim] = relationship(back_populates="updates")
