"""Turning an outbox row into the message it stands for, when it is due.

Composing at send time means a message says what is true when it leaves: a person who turned a
kind off, read the notification already, or lost their account gets nothing (the row is dropped).
Every e-mail is multipart (plain text and HTML from ``templates/emails/``), with absolute links,
a stable Message-ID (the same on every attempt) and, except for account mail, one-click
unsubscribe (RFC 8058).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

import sqlalchemy as sa
from flask import current_app, render_template, url_for
from sqlalchemy.orm import Session, joinedload

from rfp_portal.models import (
    DAILY_DIGEST,
    TAG_DIGEST,
    Claim,
    Delivery,
    Jam,
    MessageKind,
    MessageState,
    Notification,
    NotificationKind,
    OutboxMessage,
    Rfp,
    RfpState,
    Tag,
    User,
    WebhookFormat,
    rfp_tags,
    tag_follows,
)
from rfp_portal.models.jam import with_agenda
from rfp_portal.services import tokens
from rfp_portal.services.notifications import deliveries, settings_of

SUBJECT_MAX = 150

# SMTP line endings; long headers (List-Unsubscribe's URL) kept whole rather than encoded.
MAIL_POLICY = policy.SMTP.clone(max_line_length=998)

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")


def one_line(text: str, limit: int = SUBJECT_MAX) -> str:
    """Text fit for a header: no line breaks or control characters (no header injection)."""
    text = " ".join(_CONTROL.sub(" ", text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


class Drop(Exception):
    """Nothing to send any more; the reason goes into the row."""


@dataclass(frozen=True)
class Composed:
    """A message, and what becomes true once it has left (nothing changes before: a failed
    attempt leaves the database as it was, so the next attempt composes the same mail)."""

    message: EmailMessage
    notifications: tuple[Notification, ...] = ()

    def sent(self, now: datetime) -> None:
        for notification in self.notifications:
            notification.mailed_at = now


@dataclass(frozen=True)
class WebhookPost:
    url: str
    body: bytes
    headers: dict[str, str]


def _link(endpoint: str, **values) -> str:
    return url_for(endpoint, _external=True, **values)


def _sender() -> Address:
    name, address = parseaddr(current_app.config["MAIL_FROM"])
    username, _, domain = address.partition("@")
    return Address(
        display_name=one_line(name or "RFP Portal", 80), username=username, domain=domain
    )


def _message_id(row: OutboxMessage) -> str:
    domain = _sender().domain or "rfp-portal.invalid"
    return f"<outbox-{row.id}-{int(row.created_at.timestamp())}@{domain}>"


def _email(
    row: OutboxMessage,
    *,
    user: User,
    subject: str,
    template: str,
    to_address: str | None = None,
    unsubscribe_key: str | None = None,
    **context,
) -> EmailMessage:
    """The e-mail for ``user`` (at their address unless ``to_address`` says otherwise), from
    ``templates/emails/<template>.txt`` and ``.html``; with unsubscribe headers for a key."""
    unsubscribe = None
    if unsubscribe_key is not None:
        token = tokens.unsubscribe_token(current_app.config["SECRET_KEY"], user, unsubscribe_key)
        unsubscribe = _link("auth.unsubscribe", token=token)
    context.update(
        user=user,
        subject=subject,
        unsubscribe_url=unsubscribe,
        settings_url=_link("auth.notification_settings"),
    )
    message = EmailMessage(policy=MAIL_POLICY)
    message["Subject"] = one_line(subject)
    message["From"] = _sender()
    username, _, domain = (to_address or user.email).partition("@")
    message["To"] = Address(
        display_name=one_line(user.display_name, 80), username=username, domain=domain
    )
    message["Date"] = format_datetime(row.created_at)  # compose_email: when it leaves
    message["Message-ID"] = _message_id(row)
    message["Auto-Submitted"] = "auto-generated"
    if unsubscribe:
        message["List-Unsubscribe"] = f"<{unsubscribe}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(render_template(f"emails/{template}.txt", **context))
    message.add_alternative(render_template(f"emails/{template}.html", **context), subtype="html")
    return message


def _person(session: Session, row: OutboxMessage, *, confirmed: bool = True) -> User:
    user = session.get(User, row.user_id) if row.user_id else None
    if user is None or not user.is_active:
        raise Drop("no such account, or it is deactivated")
    if confirmed and not user.email_confirmed:
        raise Drop("the address is not confirmed")
    return user


def compose_email(session: Session, row: OutboxMessage, *, now: datetime) -> Composed:
    """The e-mail ``row`` stands for, as it would be now; it changes nothing.

    :raise Drop: when there is nothing to send any more."""
    composed = _compose_email(session, row, now=now)
    composed.message.replace_header("Date", format_datetime(now))
    return composed


def _compose_email(session: Session, row: OutboxMessage, *, now: datetime) -> Composed:
    secret = current_app.config["SECRET_KEY"]
    kind = row.kind
    if kind is MessageKind.CONFIRM_ADDRESS:
        user = _person(session, row, confirmed=False)
        if user.email_confirmed:
            raise Drop("the address was confirmed already")
        token = tokens.confirm_token(secret, user, now=now)
        return Composed(
            _email(
                row,
                subject="Confirm your e-mail address for the RFP Portal",
                template="confirm_address",
                user=user,
                link=_link("auth.confirm_address_page", token=token),
            )
        )
    if kind is MessageKind.ADDRESS_CHANGED:
        user = _person(session, row, confirmed=False)
        return Composed(
            _email(
                row,
                to_address=row.to_address or "",
                subject="Your RFP Portal account has a new e-mail address",
                template="address_changed",
                user=user,
                new_address=row.params.get("new", ""),
                reset_url=_link("auth.forgot_password"),
            )
        )
    if kind is MessageKind.PASSWORD_RESET:
        user = _person(session, row, confirmed=False)
        requested_at = datetime.fromisoformat(row.params["requested_at"])
        if now - requested_at > tokens.RESET_LIFETIME:
            raise Drop("its link expired before the mail could leave; they can ask again")
        token = tokens.reset_token(
            secret,
            user_id=user.id,
            fingerprint=row.params.get("fingerprint", ""),
            requested_at=requested_at,
            email=user.email,
        )
        return Composed(
            _email(
                row,
                subject="Reset your RFP Portal password",
                template="password_reset",
                user=user,
                link=_link("auth.reset_password_page", token=token),
            )
        )
    if kind is MessageKind.NOTIFICATION:
        return _notification(session, row, now=now)
    if kind is MessageKind.DAILY_DIGEST:
        return _daily_digest(session, row, now=now)
    if kind is MessageKind.TAG_DIGEST:
        return _tag_digest(session, row, now=now)
    raise Drop(f"{kind} is not an e-mail")


def _rfp_url(notification: Notification) -> str:
    return _link("rfps.show", rfp_id=notification.rfp_id, _anchor=notification.anchor)


def _notification(session: Session, row: OutboxMessage, *, now: datetime) -> Composed:
    user = _person(session, row)
    notification = row.notification
    if notification is None:
        raise Drop("the notification is gone")
    if notification.read_at is not None or notification.mailed_at is not None:
        raise Drop("read on the site before the e-mail left")
    if deliveries(session, [user.id], notification.kind)[user.id] is not Delivery.EMAIL:
        raise Drop("the person no longer wants this kind by e-mail")
    message = _email(
        row,
        subject=notification.headline(),
        template="notification",
        user=user,
        unsubscribe_key=notification.kind.value,
        notification=notification,
        url=_rfp_url(notification),
        drop_url=_link("claims.drop", claim_id=notification.claim_id)
        if notification.kind is NotificationKind.CHECKIN_DUE
        else None,
    )
    return Composed(message, (notification,))


def _daily_digest(session: Session, row: OutboxMessage, *, now: datetime) -> Composed:
    user = _person(session, row)
    daily = [
        kind for kind, delivery in settings_of(session, user).items() if delivery is Delivery.DAILY
    ]
    notifications = session.scalars(
        sa.select(Notification)
        .where(
            Notification.recipient_id == user.id,
            Notification.kind.in_(daily),
            Notification.read_at.is_(None),
            Notification.mailed_at.is_(None),
            Notification.created_at <= now,
        )
        .options(joinedload(Notification.actor), joinedload(Notification.rfp))
        .order_by(Notification.created_at, Notification.id)
    ).all()
    if not notifications:
        raise Drop("nothing new that was not read on the site")
    items = [(n, _rfp_url(n)) for n in notifications]
    count = len(notifications)
    message = _email(
        row,
        subject=f"Your day on the RFP Portal: {count} {'update' if count == 1 else 'updates'}",
        template="daily_digest",
        user=user,
        unsubscribe_key=DAILY_DIGEST,
        items=items,
    )
    return Composed(message, tuple(notifications))


def _tag_digest(session: Session, row: OutboxMessage, *, now: datetime) -> Composed:
    user = _person(session, row)
    if deliveries(session, [user.id], TAG_DIGEST)[user.id] is not Delivery.WEEKLY:
        raise Drop("the person turned the tag digest off")
    since = datetime.fromisoformat(row.params.get("since", now.isoformat()))
    # From the last digest that went out, if there was one: an RFP published while that one was
    # being sent (too late for it, too early to start a new one) comes in this one.
    last_sent = session.scalar(
        sa.select(sa.func.max(OutboxMessage.sent_at)).where(
            OutboxMessage.user_id == user.id,
            OutboxMessage.kind == MessageKind.TAG_DIGEST,
            OutboxMessage.state == MessageState.SENT,
        )
    )
    if last_sent is not None and last_sent < since:
        since = last_sent + timedelta(microseconds=1)
    followed = sa.select(tag_follows.c.tag_id).where(tag_follows.c.user_id == user.id)
    tagged = sa.select(rfp_tags.c.rfp_id).where(rfp_tags.c.tag_id.in_(followed))
    rfps = session.scalars(
        sa.select(Rfp)
        .where(
            Rfp.id.in_(tagged),
            Rfp.created_at >= since,
            Rfp.created_at <= now,
            Rfp.state.in_((RfpState.OPEN, RfpState.COMPLETED)),
            Rfp.author_id != user.id,
        )
        .options(joinedload(Rfp.author))
        .order_by(Rfp.created_at, Rfp.id)
    ).all()
    if not rfps:
        raise Drop("no new RFPs with the followed tags")
    tags = session.scalars(sa.select(Tag.name).where(Tag.id.in_(followed)).order_by(Tag.name)).all()
    items = [(rfp, _link("rfps.show", rfp_id=rfp.id)) for rfp in rfps]
    count = len(rfps)
    return Composed(
        _email(
            row,
            subject=f"{count} new {'RFP' if count == 1 else 'RFPs'} with tags you follow",
            template="tag_digest",
            user=user,
            unsubscribe_key=TAG_DIGEST,
            items=items,
            tags=tags,
        )
    )


# -- webhooks ----------------------------------------------------------------------------------


def _announcement(session: Session, params: dict) -> dict:
    """What an event says: a title, a link, a summary and an image, plain text throughout."""
    event = params.get("event")
    if event in ("rfp_published", "result_delivered"):
        rfp = session.get(Rfp, params.get("rfp_id"))
        if rfp is None or rfp.state in (RfpState.WITHDRAWN, RfpState.DRAFT):
            raise Drop("the RFP is gone, withdrawn or back to a draft")
        image = None
        if event == "result_delivered":
            claim = session.get(Claim, params.get("claim_id"))
            if claim is None or claim.result_plot is None:
                raise Drop("the result is gone")
            plot = claim.result_plot
            title = f"Result delivered: {rfp.title}"
            summary = f"{claim.claimant.display_name} delivered the plot for “{rfp.title}”."
        else:
            plot = rfp.plots[0] if rfp.plots else None
            title = f"New RFP: {rfp.title}"
            summary = rfp.summary
        if plot is not None:
            image = _link("plots.thumb", plot_id=plot.id, v=plot.version)
        return {
            "event": event,
            "title": title,
            "url": _link("rfps.show", rfp_id=rfp.id),
            "summary": summary,
            "image": image,
            "author": rfp.author.display_name,
            "tags": [tag.name for tag in rfp.tags],
        }
    if event in ("jam_announced", "jam_agenda"):
        jam = session.scalars(
            sa.select(Jam).where(Jam.id == params.get("jam_id")).options(*with_agenda())
        ).first()
        if jam is None:
            raise Drop("the Jam is gone")
        # The agenda in order: accepted slots (a draft's title stays private), then RFPs linked
        # by hand; withdrawn RFPs are left out.
        agenda = [
            slot.public_title()
            for slot in jam.agenda_slots
            if slot.rfp is None or slot.rfp.state is not RfpState.WITHDRAWN
        ] + [
            p.rfp.title
            for p in jam.unslotted_presentations
            if p.rfp.state is not RfpState.WITHDRAWN
        ]
        if event == "jam_agenda":
            title = f"Tomorrow: {jam.title}"
            summary = (
                "On the agenda: " + "; ".join(agenda) if agenda else "Bring an idea or an update."
            )
        else:
            title = f"Announced: {jam.title}"
            summary = f"{jam.starts_at:%A %d %B %Y, %H:%M} UTC. Anyone may present an RFP or a small update."
        return {
            "event": event,
            "title": title,
            "url": _link("jams.show", number=jam.number),
            "summary": summary,
            "image": None,
            "starts_at": jam.starts_at.isoformat(),
            "agenda": agenda,
        }
    raise Drop(f"unknown event {event!r}")


def compose_webhook(session: Session, row: OutboxMessage) -> WebhookPost:
    """:raise Drop: when the webhook or the thing announced is gone."""
    hook = row.webhook
    if hook is None or not hook.active:
        raise Drop("the webhook is gone or paused")
    data = _announcement(session, row.params)
    if hook.format is WebhookFormat.DISCORD:
        embed = {
            "title": one_line(data["title"], 256),
            "url": data["url"],
            "description": data["summary"][:4096],
            "color": 0x3B5BDB,
        }
        if data.get("image"):
            embed["thumbnail"] = {"url": data["image"]}
        body = {"username": "RFP Portal", "embeds": [embed], "allowed_mentions": {"parse": []}}
        return WebhookPost(hook.url, json.dumps(body).encode(), {})
    body_bytes = json.dumps({"id": row.id, **data}, sort_keys=True).encode()
    signature = hmac.new(hook.secret.encode(), body_bytes, hashlib.sha256).hexdigest()
    return WebhookPost(
        hook.url,
        body_bytes,
        {
            "X-RFP-Event": data["event"],
            "X-RFP-Delivery": str(row.id),
            "X-RFP-Signature-256": f"sha256={signature}",
        },
    )
