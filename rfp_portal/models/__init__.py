"""The portal's models, one module per aggregate.

Importing this package puts every table of the schema on ``Base.metadata`` (Alembic and
``create_all`` rely on it), the page cache's bookkeeping table included, though that one lives
with the cache (``rfp_portal.page_cache.state``), since it is no part of the portal's content.
"""

from rfp_portal.models.claim import Claim, ClaimPolicy, ClaimStatus, ProgressUpdate
from rfp_portal.models.comment import Comment
from rfp_portal.models.event import Event, EventSeries, SeriesKind
from rfp_portal.models.jam import AgendaSlot, Jam, Presentation, SlotKind, SlotState
from rfp_portal.models.login_session import LoginSession
from rfp_portal.models.moderation import ModerationAction, ModerationKind
from rfp_portal.models.notification import (
    DAILY_DIGEST,
    DEFAULT_DELIVERY,
    TAG_DIGEST,
    Delivery,
    Notification,
    NotificationKind,
    NotificationSetting,
    rfp_watches,
    tag_follows,
)
from rfp_portal.models.outbox import Channel, MessageKind, MessageState, OutboxMessage
from rfp_portal.models.plot import Plot, PlotKind
from rfp_portal.models.rfp import Compute, Difficulty, Rfp, RfpState, Tag, rfp_tags, wants
from rfp_portal.models.user import Role, User
from rfp_portal.models.webhook import Webhook, WebhookEvent, WebhookFormat
from rfp_portal.page_cache import state as _page_cache_state  # noqa: F401 - its table

__all__ = [
    "AgendaSlot",
    "Event",
    "EventSeries",
    "SeriesKind",
    "SlotKind",
    "SlotState",
    "DAILY_DIGEST",
    "DEFAULT_DELIVERY",
    "TAG_DIGEST",
    "Channel",
    "Delivery",
    "LoginSession",
    "MessageKind",
    "MessageState",
    "NotificationSetting",
    "OutboxMessage",
    "Webhook",
    "WebhookEvent",
    "WebhookFormat",
    "rfp_watches",
    "tag_follows",
    "Claim",
    "ClaimPolicy",
    "ClaimStatus",
    "Comment",
    "Jam",
    "ModerationAction",
    "ModerationKind",
    "Presentation",
    "Notification",
    "NotificationKind",
    "ProgressUpdate",
    "Compute",
    "Difficulty",
    "Plot",
    "PlotKind",
    "Rfp",
    "RfpState",
    "Role",
    "Tag",
    "User",
    "rfp_tags",
    "wants",
]
