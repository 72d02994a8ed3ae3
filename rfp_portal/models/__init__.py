"""The portal's models, one module per aggregate."""

from rfp_portal.models.claim import Claim, ClaimPolicy, ClaimStatus, ProgressUpdate
from rfp_portal.models.comment import Comment, Notification, NotificationKind
from rfp_portal.models.jam import Jam, Presentation
from rfp_portal.models.moderation import ModerationAction, ModerationKind
from rfp_portal.models.plot import Plot, PlotKind
from rfp_portal.models.rfp import Compute, Difficulty, Rfp, RfpState, Tag, rfp_tags, wants
from rfp_portal.models.site import SiteState
from rfp_portal.models.user import Role, User

__all__ = [
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
    "SiteState",
    "Tag",
    "User",
    "rfp_tags",
    "wants",
]
