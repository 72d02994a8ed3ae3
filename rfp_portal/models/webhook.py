"""Outgoing webhooks: where the portal announces new RFPs, Jams and results."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from rfp_portal import clock
from rfp_portal.db import Base, UtcDateTime, str_enum

NAME_MAX = 80
URL_MAX = 2_000


class WebhookFormat(enum.StrEnum):
    DISCORD = "discord"  # Discord's "execute webhook": embeds with title, link, summary, image
    JSON = "json"  # the portal's own JSON, signed with HMAC-SHA256 (X-RFP-Signature-256)


class WebhookEvent(enum.StrEnum):
    RFP_PUBLISHED = "rfp_published"
    JAM_ANNOUNCED = "jam_announced"
    JAM_AGENDA = "jam_agenda"  # the day before the Jam
    RESULT_DELIVERED = "result_delivered"

    @property
    def label(self) -> str:
        return {
            "rfp_published": "A new RFP",
            "jam_announced": "A Research Jam is announced",
            "jam_agenda": "A Jam's agenda, the day before",
            "result_delivered": "A result is delivered",
        }[self.value]


def new_secret() -> str:
    return secrets.token_hex(32)


class Webhook(Base):
    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(NAME_MAX))
    format: Mapped[WebhookFormat] = mapped_column(str_enum(WebhookFormat, "webhook_format"))
    url: Mapped[str] = mapped_column(sa.String(URL_MAX))
    # The JSON format signs each body with it; Discord's URL is its own secret.
    secret: Mapped[str] = mapped_column(sa.String(64), default=new_secret)
    # The WebhookEvent values it posts, comma-separated.
    events: Mapped[str] = mapped_column(sa.String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)

    @property
    def event_set(self) -> set[WebhookEvent]:
        return {WebhookEvent(e) for e in self.events.split(",") if e}

    def posts(self, event: WebhookEvent) -> bool:
        return self.active and event in self.event_set

    def __repr__(self) -> str:
        return f"<Webhook {self.name}>"
