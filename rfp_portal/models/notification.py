"""The portal's own notifications (a claim, progress, a delivery, a comment … on an RFP, for the
people it concerns), how each person wants each kind delivered, and what they watch and follow."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rfp_portal import clock
from rfp_portal.db import Base, UtcDateTime, str_enum

if TYPE_CHECKING:
    from rfp_portal.models.claim import Claim
    from rfp_portal.models.comment import Comment
    from rfp_portal.models.jam import Jam
    from rfp_portal.models.rfp import Rfp
    from rfp_portal.models.user import User


class NotificationKind(enum.StrEnum):
    CLAIMED = "claimed"  # someone claimed my RFP
    PROGRESS = "progress"  # progress on a claim of an RFP I watch
    DELIVERED = "delivered"  # a result delivered on an RFP I watch
    ACCEPTED = "accepted"  # my result was accepted
    COMMENTED = "commented"  # a comment on an RFP I wrote, claimed or watch
    REPLIED = "replied"  # a comment after mine on an RFP
    CHECKIN_DUE = "checkin_due"  # my claim needs a check-in
    CLAIM_EXPIRED = "claim_expired"  # a claim on my RFP expired
    JAM_TOMORROW = "jam_tomorrow"  # a Jam I present at is tomorrow

    @property
    def label(self) -> str:
        """How the settings page names the kind."""
        return KIND_LABELS[self]


KIND_LABELS = {
    NotificationKind.CLAIMED: "Someone claims an RFP of mine",
    NotificationKind.PROGRESS: "Progress on a claim of an RFP I watch",
    NotificationKind.DELIVERED: "A result is delivered on an RFP I watch",
    NotificationKind.ACCEPTED: "My result is accepted",
    NotificationKind.COMMENTED: "A comment on an RFP I wrote, claimed or watch",
    NotificationKind.REPLIED: "A reply after my comment",
    NotificationKind.CHECKIN_DUE: "A claim of mine needs a check-in",
    NotificationKind.CLAIM_EXPIRED: "A claim on an RFP of mine expires",
    NotificationKind.JAM_TOMORROW: "A Jam I present at is tomorrow",
}


class Delivery(enum.StrEnum):
    EMAIL = "email"  # an e-mail at once
    DAILY = "daily"  # gathered into one e-mail a day
    WEEKLY = "weekly"  # the followed tags' digest only
    SITE = "site"  # on the site only, no e-mail


TAG_DIGEST = "tag_digest"
"""The settings key of the weekly digest of new RFPs with followed tags (beside the kinds)."""

DAILY_DIGEST = "daily_digest"
"""Not a settings key: unsubscribing from the daily digest moves every kind gathered there to
the site."""

DEFAULT_DELIVERY: dict[str, Delivery] = {
    NotificationKind.CLAIMED: Delivery.EMAIL,
    NotificationKind.PROGRESS: Delivery.DAILY,
    NotificationKind.DELIVERED: Delivery.EMAIL,
    NotificationKind.ACCEPTED: Delivery.EMAIL,
    NotificationKind.COMMENTED: Delivery.DAILY,
    NotificationKind.REPLIED: Delivery.DAILY,
    NotificationKind.CHECKIN_DUE: Delivery.EMAIL,
    NotificationKind.CLAIM_EXPIRED: Delivery.EMAIL,
    NotificationKind.JAM_TOMORROW: Delivery.EMAIL,
    TAG_DIGEST: Delivery.WEEKLY,
}
"""Every settings key and what it is until the person chooses otherwise."""


def choices_for(key: str) -> tuple[Delivery, ...]:
    """The deliveries a settings key may take."""
    if key == TAG_DIGEST:
        return (Delivery.WEEKLY, Delivery.SITE)
    return (Delivery.EMAIL, Delivery.DAILY, Delivery.SITE)


class NotificationSetting(Base):
    """A person's choice for one kind, stored only once they change it from the default."""

    __tablename__ = "notification_settings"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    delivery: Mapped[Delivery] = mapped_column(str_enum(Delivery, "delivery"))


rfp_watches = sa.Table(
    "rfp_watches",
    Base.metadata,
    sa.Column("rfp_id", sa.ForeignKey("rfps.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    ),
    sa.Column("created_at", UtcDateTime, nullable=False, default=clock.now),
)
"""Who watches which RFP: its progress, results and comments reach them. Submitting an RFP
and claiming one start watching it; anyone may stop (or start) on the RFP's page."""

tag_follows = sa.Table(
    "tag_follows",
    Base.metadata,
    sa.Column("tag_id", sa.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    ),
    sa.Column("created_at", UtcDateTime, nullable=False, default=clock.now),
)
"""Who follows which tag: new RFPs with it reach them in the weekly digest."""


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (sa.Index("ix_notifications_recipient_id_read_at", "recipient_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    # Who did it; none for what the portal itself notices (a check-in due, a Jam tomorrow).
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    kind: Mapped[NotificationKind] = mapped_column(str_enum(NotificationKind, "notification_kind"))
    rfp_id: Mapped[int] = mapped_column(sa.ForeignKey("rfps.id", ondelete="CASCADE"), index=True)
    claim_id: Mapped[int | None] = mapped_column(sa.ForeignKey("claims.id", ondelete="CASCADE"))
    comment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("comments.id", ondelete="CASCADE"))
    jam_id: Mapped[int | None] = mapped_column(sa.ForeignKey("jams.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # When an e-mail (at once or in a digest) carried it; a digest gathers those without one.
    mailed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    rfp: Mapped[Rfp] = relationship()
    claim: Mapped[Claim | None] = relationship()
    comment: Mapped[Comment | None] = relationship()
    jam: Mapped[Jam | None] = relationship()

    @property
    def sentence(self) -> tuple[str, str, str]:
        """What happened, around the RFP's title (plain text): who did it (empty when the
        portal noticed it itself), the words before the title, and the words after it."""
        who = self.actor.display_name if self.actor else ""
        before, after = {
            NotificationKind.CLAIMED: ("claimed", ""),
            NotificationKind.PROGRESS: ("posted progress on", ""),
            NotificationKind.DELIVERED: ("delivered a result for", ""),
            NotificationKind.ACCEPTED: ("accepted your result for", ""),
            NotificationKind.COMMENTED: ("commented on", ""),
            NotificationKind.REPLIED: ("replied after your comment on", ""),
            NotificationKind.CHECKIN_DUE: ("Your claim on", "needs a check-in"),
            NotificationKind.CLAIM_EXPIRED: ("'s claim on", "expired"),
            NotificationKind.JAM_TOMORROW: ("", "is on the agenda of tomorrow's Research Jam"),
        }[self.kind]
        if self.kind in (NotificationKind.CHECKIN_DUE, NotificationKind.JAM_TOMORROW):
            who = ""
        return who, before, after

    def headline(self, title: str | None = None) -> str:
        """The sentence in one line, with the title in quotes (an e-mail's subject)."""
        who, before, after = self.sentence
        quoted = f"\u201c{title or self.rfp.title}\u201d"
        start = (
            f"{who}{before}" if before.startswith("'") else " ".join(filter(None, (who, before)))
        )
        return " ".join(part for part in (start, quoted, after) if part)

    @property
    def anchor(self) -> str | None:
        """Where on the RFP page this notification points."""
        if self.comment_id:
            return f"comment-{self.comment_id}"
        return self.claim.anchor if self.claim else None
