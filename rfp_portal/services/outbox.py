"""Putting messages in the outbox, and what an admin may do with them.

Nothing here sends anything: these functions add rows to the caller's transaction, so a message
exists exactly when the event that causes it is committed. The sender (``rfp_portal/outbox/``)
delivers them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rfp_portal.db import insert_for
from rfp_portal.models import (
    Channel,
    MessageKind,
    MessageState,
    OutboxMessage,
    Webhook,
    WebhookEvent,
)
from rfp_portal.services import DomainError

DIGEST_HOUR_UTC = 7
"""Digests go out at this hour (UTC): the daily one every day, the tag digest on Mondays."""


def next_daily_digest(now: datetime) -> datetime:
    """The next digest hour after ``now``."""
    moment = datetime.combine(now.date(), time(DIGEST_HOUR_UTC), tzinfo=now.tzinfo)
    return moment if moment > now else moment + timedelta(days=1)


def next_weekly_digest(now: datetime) -> datetime:
    """The next Monday's digest hour after ``now``."""
    moment = next_daily_digest(now)
    return moment + timedelta(days=(7 - moment.weekday()) % 7)


def queue_email(
    session: Session,
    *,
    kind: MessageKind,
    user_id: int | None = None,
    to_address: str | None = None,
    notification_id: int | None = None,
    params: dict | None = None,
    now: datetime,
    send_after: datetime | None = None,
    flush: bool = True,
) -> OutboxMessage:
    """Add one e-mail to the outbox, due at ``send_after`` (at once by default). ``flush``:
    written at once (its id known); else with the session's next flush or commit."""
    message = OutboxMessage(
        channel=Channel.EMAIL,
        kind=kind,
        user_id=user_id,
        to_address=to_address,
        notification_id=notification_id,
        params=params or {},
        created_at=now,
        send_after=send_after or now,
    )
    session.add(message)
    if flush:
        session.flush()
    return message


def queue_digests(
    session: Session,
    *,
    kind: MessageKind,
    user_ids: Iterable[int],
    send_after: datetime,
    params: dict,
    now: datetime,
) -> None:
    """Make sure each person has one waiting digest of ``kind``; one already waiting is kept
    as it is (with its earlier ``params``), so later events join it instead of adding mail."""
    rows = [
        {
            "channel": Channel.EMAIL.value,
            "kind": kind.value,
            "state": MessageState.WAITING.value,
            "user_id": user_id,
            "params": params,
            "created_at": now,
            "send_after": send_after,
            "attempts": 0,
        }
        for user_id in sorted(set(user_ids))
    ]
    if not rows:
        return
    statement = insert_for(session)(OutboxMessage).values(rows)
    session.execute(
        statement.on_conflict_do_nothing(
            index_elements=["user_id", "kind"],
            index_where=sa.text("state = 'waiting' AND kind IN ('daily_digest', 'tag_digest')"),
        )
    )


def queue_announcement(
    session: Session, *, event: WebhookEvent, params: dict, now: datetime
) -> int:
    """Add a post to every active webhook that carries ``event``; return how many."""
    hooks = [
        hook
        for hook in session.scalars(sa.select(Webhook).where(Webhook.active))
        if hook.posts(event)
    ]
    for hook in hooks:
        session.add(
            OutboxMessage(
                channel=Channel.WEBHOOK,
                kind=MessageKind.ANNOUNCEMENT,
                webhook_id=hook.id,
                params={"event": event.value, **params},
                created_at=now,
                send_after=now,
            )
        )
    session.flush()
    return len(hooks)


def retry_message(session: Session, *, message: OutboxMessage, now: datetime) -> None:
    """An admin sends a failed (or waiting) message again, now, with a fresh set of attempts.

    :raise DomainError: when it was sent or dropped.
    """
    if not message.can_retry:
        raise DomainError("Only a failed or waiting message can be sent again.")
    message.state = MessageState.WAITING
    message.send_after = now
    message.attempts = 0
    session.flush()
