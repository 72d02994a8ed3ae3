"""Outgoing webhooks, kept by admins."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from rfp_portal.models import User, Webhook, WebhookEvent, WebhookFormat
from rfp_portal.outbox.transports import UnsafeTarget, check_target
from rfp_portal.services import DomainError, NotAllowed


def add_webhook(
    session: Session,
    *,
    actor: User,
    name: str,
    format: WebhookFormat,
    url: str,
    events: Iterable[WebhookEvent],
    allow_loopback: bool,
    now: datetime,
) -> Webhook:
    """:raise NotAllowed: unless ``actor`` is an admin. :raise DomainError: for an unsafe URL
    (not https, or a name that resolves to a private, loopback or link-local address) or no
    events."""
    if not actor.is_admin:
        raise NotAllowed("Only admins add webhooks.")
    events = sorted({WebhookEvent(e) for e in events})
    if not events:
        raise DomainError("Choose at least one thing to post.", field="events")
    try:
        check_target(url.strip(), allow_loopback=allow_loopback)
    except UnsafeTarget as error:
        raise DomainError(str(error), field="url") from error
    hook = Webhook(
        name=name.strip(),
        format=format,
        url=url.strip(),
        events=",".join(e.value for e in events),
        created_at=now,
    )
    session.add(hook)
    session.flush()
    return hook


def remove_webhook(session: Session, *, actor: User, hook: Webhook) -> None:
    """Delete a webhook and whatever it had waiting. :raise NotAllowed: unless an admin."""
    if not actor.is_admin:
        raise NotAllowed("Only admins remove webhooks.")
    session.delete(hook)
    session.flush()
