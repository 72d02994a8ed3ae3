"""The outbox: every e-mail and webhook post the portal sends is first a row here.

A row is written in the same transaction as the event that causes it, so a rolled-back request
sends nothing and a committed one is never forgotten. The sender (``rfp_portal/outbox/``) turns
due rows into messages, delivers them and records what happened.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rfp_portal import clock
from rfp_portal.db import Base, UtcDateTime, str_enum

if TYPE_CHECKING:
    from rfp_portal.models.notification import Notification
    from rfp_portal.models.user import User
    from rfp_portal.models.webhook import Webhook

ERROR_MAX = 2_000


class Channel(enum.StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


class MessageKind(enum.StrEnum):
    """What a row is; the sender composes the message from it when it is due."""

    CONFIRM_ADDRESS = "confirm_address"  # account: a link that confirms a (new) address
    ADDRESS_CHANGED = "address_changed"  # account: to the old address, after a change
    PASSWORD_RESET = "password_reset"  # noqa: S105 - account: a single-use link
    NOTIFICATION = "notification"  # one notification, e-mailed at once
    DAILY_DIGEST = "daily_digest"  # the day's notifications of the kinds chosen for it
    TAG_DIGEST = "tag_digest"  # the week's new RFPs with tags the person follows
    ANNOUNCEMENT = "announcement"  # a webhook post: a new RFP, a Jam, an agenda, a result

    @property
    def is_about_the_account(self) -> bool:
        """Account mail is sent whatever the preferences, and carries no unsubscribe link."""
        return self in (self.CONFIRM_ADDRESS, self.ADDRESS_CHANGED, self.PASSWORD_RESET)


DIGESTS = (MessageKind.DAILY_DIGEST, MessageKind.TAG_DIGEST)


class MessageState(enum.StrEnum):
    WAITING = "waiting"  # due at send_after (again, after a temporary failure)
    SENT = "sent"
    FAILED = "failed"  # a permanent failure, or the last attempt failed
    DROPPED = "dropped"  # nothing to send any more: unsubscribed, or the thing is gone


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        # The sender's question: what is waiting and due, oldest first.
        sa.Index("ix_outbox_state_send_after", "state", "send_after"),
        # At most one waiting digest of each kind per person: later events join it.
        sa.Index(
            "ix_outbox_one_waiting_digest",
            "user_id",
            "kind",
            unique=True,
            sqlite_where=sa.text("state = 'waiting' AND kind IN ('daily_digest', 'tag_digest')"),
            postgresql_where=sa.text(
                "state = 'waiting' AND kind IN ('daily_digest', 'tag_digest')"
            ),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "outbox_channel"))
    kind: Mapped[MessageKind] = mapped_column(str_enum(MessageKind, "outbox_kind"))
    state: Mapped[MessageState] = mapped_column(
        str_enum(MessageState, "outbox_state"), default=MessageState.WAITING
    )
    # E-mail: the person it is for; ``to_address`` when it must go to an address that is not
    # (or no longer) theirs, such as the old address after a change.
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    to_address: Mapped[str | None] = mapped_column(sa.String(254))
    notification_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("notifications.id", ondelete="CASCADE"), index=True
    )
    webhook_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("webhooks.id", ondelete="CASCADE"), index=True
    )
    # What the composer needs besides the rows above (ids, an event name, a moment).
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    send_after: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    attempts: Mapped[int] = mapped_column(default=0)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.String(ERROR_MAX))
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    user: Mapped[User | None] = relationship()
    notification: Mapped[Notification | None] = relationship()
    webhook: Mapped[Webhook | None] = relationship()

    @property
    def can_retry(self) -> bool:
        return self.state in (MessageState.FAILED, MessageState.WAITING)

    def __repr__(self) -> str:
        return f"<OutboxMessage {self.id} {self.kind} {self.state}>"
