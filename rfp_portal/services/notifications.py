"""Notifications: who hears of what, and how (on the site, an e-mail at once, a daily digest).

``notify`` is the one door: it writes the in-app notifications and, in the same transaction,
the e-mails each recipient asked for. What people watch and follow, and their choices per kind,
live here too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rfp_portal.db import insert_for
from rfp_portal.models import (
    DAILY_DIGEST,
    DEFAULT_DELIVERY,
    Delivery,
    MessageKind,
    Notification,
    NotificationKind,
    NotificationSetting,
    Rfp,
    Tag,
    User,
    rfp_watches,
    tag_follows,
)
from rfp_portal.models.notification import choices_for
from rfp_portal.services import DomainError
from rfp_portal.services.outbox import next_daily_digest, queue_digests, queue_email


def deliveries(session: Session, user_ids: Iterable[int], key: str) -> dict[int, Delivery]:
    """How each person wants ``key`` delivered (their choice, else the default)."""
    user_ids = list(user_ids)
    chosen = dict(
        session.execute(
            sa.select(NotificationSetting.user_id, NotificationSetting.delivery).where(
                NotificationSetting.kind == key, NotificationSetting.user_id.in_(user_ids)
            )
        ).all()
    )
    return {user_id: chosen.get(user_id, DEFAULT_DELIVERY[key]) for user_id in user_ids}


def settings_of(session: Session, user: User) -> dict[str, Delivery]:
    """Every settings key and the person's delivery for it."""
    chosen = dict(
        session.execute(
            sa.select(NotificationSetting.kind, NotificationSetting.delivery).where(
                NotificationSetting.user_id == user.id
            )
        ).all()
    )
    return {key: chosen.get(key, default) for key, default in DEFAULT_DELIVERY.items()}


def set_delivery(session: Session, *, user: User, key: str, delivery: Delivery) -> None:
    """:raise DomainError: for an unknown key or a delivery the key does not take."""
    if key not in DEFAULT_DELIVERY or delivery not in choices_for(key):
        raise DomainError("That is not a choice for this kind of notification.")
    statement = insert_for(session)(NotificationSetting).values(
        user_id=user.id, kind=key, delivery=delivery
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["user_id", "kind"], set_={"delivery": delivery}
        )
    )


def set_deliveries(session: Session, *, user: User, choices: dict[str, Delivery]) -> None:
    """Save a person's choice for each key (the settings page).

    :raise DomainError: for an unknown key or a delivery a key does not take."""
    for key, delivery in choices.items():
        set_delivery(session, user=user, key=key, delivery=delivery)


def can_unsubscribe_from(key: str) -> bool:
    """Whether an unsubscribe link may name ``key``: a kind, the tag digest, the daily digest."""
    return key in DEFAULT_DELIVERY or key == DAILY_DIGEST


def unsubscribe(session: Session, *, user: User, key: str) -> None:
    """Turn ``key`` to the site only; for the daily digest, every kind gathered there."""
    if key == DAILY_DIGEST:
        keys = [k for k, d in settings_of(session, user).items() if d is Delivery.DAILY]
    else:
        keys = [key]
    set_deliveries(session, user=user, choices=dict.fromkeys(keys, Delivery.SITE))


def is_unsubscribed(session: Session, *, user: User, key: str) -> bool:
    """Whether ``key`` reaches the person by e-mail no more (the daily digest: none is daily)."""
    current = settings_of(session, user)
    if key == DAILY_DIGEST:
        return all(d is not Delivery.DAILY for d in current.values())
    return current[key] is Delivery.SITE


def mail_reaches() -> sa.ColumnElement[bool]:
    """SQL: whether mail reaches a person (``users`` row): address confirmed, account active."""
    return sa.and_(User.active, User.email_confirmed_at.is_not(None))


@dataclass(frozen=True)
class Audience:
    """Who hears of an event and how (read before the writes: on SQLite the write lock is
    taken by the first write, so the reads are done by then)."""

    recipients: list[int]  # once each, never the actor
    chosen: dict[int, Delivery]
    can_mail: set[int]


def audience(
    session: Session, *, recipients: Iterable[int], actor: User | None, kind: NotificationKind
) -> Audience:
    """The people of ``recipients`` to tell of ``kind`` (once, and never the actor), with how
    each wants it delivered and whether mail reaches them."""
    (told,) = audiences(session, actor=actor, groups=[(kind, recipients)])
    return told


def audiences(
    session: Session,
    *,
    actor: User | None,
    groups: Iterable[tuple[NotificationKind, Iterable[int]]],
) -> list[Audience]:
    """``audience`` for several kinds of news at once (a comment tells some people "commented"
    and others "replied"), in two queries whatever the number of kinds and people."""
    wanted: list[tuple[NotificationKind, list[int]]] = []
    for kind, recipients in groups:
        seen: list[int] = []
        for recipient_id in recipients:
            if recipient_id is None or recipient_id in seen:
                continue
            if actor is not None and recipient_id == actor.id:
                continue
            seen.append(recipient_id)
        wanted.append((kind, seen))
    everyone = {person for _, seen in wanted for person in seen}
    if not everyone:
        return [Audience([], {}, set()) for _ in wanted]
    # One query: each person, whether mail reaches them, and their choices
    # for these kinds (a row per choice made; none: the default).
    rows = session.execute(
        sa.select(
            User.id,
            mail_reaches(),
            NotificationSetting.kind,
            NotificationSetting.delivery,
        )
        .outerjoin(
            NotificationSetting,
            sa.and_(
                NotificationSetting.user_id == User.id,
                NotificationSetting.kind.in_(sorted({kind for kind, _ in wanted})),
            ),
        )
        .where(User.id.in_(sorted(everyone)))
    ).all()
    chosen = {(key, user_id): delivery for user_id, _, key, delivery in rows if key is not None}
    can_mail = {user_id for user_id, reachable, _, _ in rows if reachable}
    return [
        Audience(
            seen,
            {p: chosen.get((kind, p), DEFAULT_DELIVERY[kind]) for p in seen},
            can_mail & set(seen),
        )
        for kind, seen in wanted
    ]


def notify(
    session: Session,
    *,
    recipients: Iterable[int] = (),
    actor: User | None,
    kind: NotificationKind,
    rfp_id: int,
    now: datetime,
    claim_id: int | None = None,
    comment_id: int | None = None,
    jam_id: int | None = None,
    told: Audience | None = None,
) -> list[int]:
    """Tell each recipient (once, and never the actor) that something happened, on the site
    and by e-mail as each of them chose; the new notifications' ids. ``told``: the audience,
    read earlier (``audience``)."""
    if told is None:
        told = audience(session, recipients=recipients, actor=actor, kind=kind)
    if not told.recipients:
        return []
    # One INSERT … RETURNING for them all, not a unit of work per object.
    made = session.execute(
        sa.insert(Notification).returning(
            Notification.id, Notification.recipient_id, sort_by_parameter_order=True
        ),
        [
            {
                "recipient_id": recipient_id,
                "actor_id": actor.id if actor else None,
                "kind": kind,
                "rfp_id": rfp_id,
                "claim_id": claim_id,
                "comment_id": comment_id,
                "jam_id": jam_id,
                "created_at": now,
            }
            for recipient_id in told.recipients
        ],
    ).all()
    chosen, can_mail = told.chosen, told.can_mail
    daily = []
    for notification_id, person in made:
        if person not in can_mail:
            continue
        if chosen[person] is Delivery.EMAIL:
            queue_email(
                session,
                kind=MessageKind.NOTIFICATION,
                user_id=person,
                notification_id=notification_id,
                now=now,
                flush=False,  # the commit writes them all at once
            )
        elif chosen[person] is Delivery.DAILY:
            daily.append(person)
    if daily:
        queue_digests(
            session,
            kind=MessageKind.DAILY_DIGEST,
            user_ids=daily,
            send_after=next_daily_digest(now),
            params={},
            now=now,
        )
    return [notification_id for notification_id, _ in made]


def unread_count(session: Session, user: User) -> int:
    return session.scalar(
        sa.select(sa.func.count())
        .select_from(Notification)
        .where(Notification.recipient_id == user.id, Notification.read_at.is_(None))
    )


def mark_all_read(session: Session, *, user: User, now: datetime) -> int:
    """Mark every unread notification of ``user`` read; return how many there were."""
    result = session.execute(
        sa.update(Notification)
        .where(Notification.recipient_id == user.id, Notification.read_at.is_(None))
        .values(read_at=now)
    )
    return result.rowcount


def mark_read_for_rfp(session: Session, *, user: User, rfp_id: int, now: datetime) -> int:
    """The person opened (or acted on) an RFP: what they were told about it is read."""
    unread = sa.select(Notification.id).where(
        Notification.recipient_id == user.id,
        Notification.rfp_id == rfp_id,
        Notification.read_at.is_(None),
    )
    if session.scalar(unread.limit(1)) is None:
        return 0  # the common case reads, and writes nothing
    result = session.execute(
        sa.update(Notification)
        .where(Notification.id.in_(unread.scalar_subquery()))
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


# -- watching RFPs and following tags ---------------------------------------------------------


def watchers(session: Session, rfp_id: int) -> list[int]:
    return list(
        session.scalars(
            sa.select(rfp_watches.c.user_id)
            .where(rfp_watches.c.rfp_id == rfp_id)
            .order_by(rfp_watches.c.user_id)
        )
    )


def is_watching(session: Session, *, user: User, rfp_id: int) -> bool:
    return (
        session.scalar(
            sa.select(sa.literal(1)).where(
                rfp_watches.c.rfp_id == rfp_id, rfp_watches.c.user_id == user.id
            )
        )
        is not None
    )


def watch(session: Session, *, user: User, rfp: Rfp, now: datetime) -> None:
    """Start watching ``rfp`` (nothing happens if already watching)."""
    statement = insert_for(session)(rfp_watches).values(
        rfp_id=rfp.id, user_id=user.id, created_at=now
    )
    session.execute(statement.on_conflict_do_nothing(index_elements=["rfp_id", "user_id"]))


def unwatch(session: Session, *, user: User, rfp: Rfp) -> None:
    session.execute(
        sa.delete(rfp_watches).where(
            rfp_watches.c.rfp_id == rfp.id, rfp_watches.c.user_id == user.id
        )
    )


def followed_tags(session: Session, user: User) -> list[str]:
    return list(
        session.scalars(
            sa.select(Tag.name)
            .join(tag_follows, tag_follows.c.tag_id == Tag.id)
            .where(tag_follows.c.user_id == user.id)
            .order_by(Tag.name)
        )
    )


def follow_tag(session: Session, *, user: User, tag: Tag, now: datetime) -> None:
    statement = insert_for(session)(tag_follows).values(
        tag_id=tag.id, user_id=user.id, created_at=now
    )
    session.execute(statement.on_conflict_do_nothing(index_elements=["tag_id", "user_id"]))


def unfollow_tag(session: Session, *, user: User, tag: Tag) -> None:
    session.execute(
        sa.delete(tag_follows).where(
            tag_follows.c.tag_id == tag.id, tag_follows.c.user_id == user.id
        )
    )
