"""Requests for Plot and their tags."""

from __future__ import annotations

import enum
import hmac
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from rfp_portal import clock
from rfp_portal.db import Base, UtcDateTime, str_enum

if TYPE_CHECKING:
    from rfp_portal.models.claim import Claim
    from rfp_portal.models.comment import Comment
    from rfp_portal.models.jam import Presentation
    from rfp_portal.models.plot import Plot
    from rfp_portal.models.user import User


class RfpState(enum.StrEnum):
    DRAFT = "draft"  # saved by its author, seen by nobody else (bar admins and a share link)
    OPEN = "open"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"


class Difficulty(enum.StrEnum):
    BEGINNER = "beginner"
    INTERMEDIATE = "intermediate"
    ADVANCED = "advanced"


class Compute(enum.StrEnum):
    LAPTOP = "laptop"
    ONE_GPU = "one GPU"
    CLUSTER = "cluster"


PUBLISHED = (RfpState.OPEN, RfpState.COMPLETED, RfpState.WITHDRAWN)
"""The states the world may see: every list, feed, search and count of RFPs keeps to these."""

TITLE_MAX = 140
SUMMARY_MAX = 280
BODY_MAX = 20_000  # the big picture and the first plot together
TAG_MAX = 30
TAGS_PER_RFP = 8

wants = sa.Table(
    "wants",
    Base.metadata,
    sa.Column("rfp_id", sa.ForeignKey("rfps.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    ),
    sa.Column("created_at", UtcDateTime, nullable=False, default=clock.now),
)
"""Who said "I want this plot too" about which RFP; ``Rfp.want_count`` counts the rows."""

rfp_tags = sa.Table(
    "rfp_tags",
    Base.metadata,
    sa.Column("rfp_id", sa.ForeignKey("rfps.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("tag_id", sa.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(TAG_MAX), unique=True)

    def __repr__(self) -> str:
        return f"<Tag {self.name}>"


class Rfp(Base):
    __tablename__ = "rfps"
    __table_args__ = (
        sa.CheckConstraint("claim_cap IS NULL OR claim_cap >= 1", name="claim_cap_positive"),
        sa.CheckConstraint("want_count >= 0", name="want_count_not_negative"),
        sa.CheckConstraint("comment_count >= 0", name="comment_count_not_negative"),
        # One index for each sort and filter of the listing (rfp_portal.rfps.listing).
        sa.Index("ix_rfps_created_at_id", "created_at", "id"),
        sa.Index("ix_rfps_state_created_at_id", "state", "created_at", "id"),
        sa.Index("ix_rfps_updated_at_id", "updated_at", "id"),
        sa.Index("ix_rfps_want_count_id", "want_count", "id"),
        # The sorts again within one state (the home page's "most wanted" open RFPs).
        sa.Index("ix_rfps_state_updated_at_id", "state", "updated_at", "id"),
        sa.Index("ix_rfps_state_want_count_id", "state", "want_count", "id"),
        sa.Index("ix_rfps_comment_count_id", "comment_count", "id"),
        sa.Index("ix_rfps_state_comment_count_id", "state", "comment_count", "id"),
        sa.Index("ix_rfps_difficulty", "difficulty"),
        sa.Index("ix_rfps_compute", "compute"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(TITLE_MAX))
    summary: Mapped[str] = mapped_column(sa.String(SUMMARY_MAX))
    # Markdown as written, and the sanitised HTML made from it once, when saved.
    big_picture_md: Mapped[str] = mapped_column(sa.Text)
    big_picture_html: Mapped[str] = mapped_column(sa.Text)
    first_plot_md: Mapped[str] = mapped_column(sa.Text)
    first_plot_html: Mapped[str] = mapped_column(sa.Text)
    difficulty: Mapped[Difficulty] = mapped_column(str_enum(Difficulty, "difficulty"))
    compute: Mapped[Compute] = mapped_column(str_enum(Compute, "compute"))
    # How many people may hold an active claim at once; None means no cap.
    claim_cap: Mapped[int | None]
    state: Mapped[RfpState] = mapped_column(str_enum(RfpState, "state"), default=RfpState.OPEN)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    # When it was published (for a draft, when it was started): publishing sets it again, so
    # "newest" means newest to the world.
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    # A draft's read-only share link carries this secret; None when no link is shared.
    share_token: Mapped[str | None] = mapped_column(sa.String(64), unique=True, index=True)
    # How many members said "I want this plot too": kept by services.wants in the same
    # statement as the row in ``wants``, so the "most wanted" sort is an index scan.
    want_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # How many of its comments are visible (neither deleted nor hidden): kept after every flush
    # that touches a comment (models.comment), so the "most discussed" sort is an index scan
    # and a listing's counts cost nothing per RFP.
    comment_count: Mapped[int] = mapped_column(default=0, server_default="0")

    author: Mapped[User] = relationship(back_populates="rfps")
    tags: Mapped[list[Tag]] = relationship(secondary=rfp_tags, order_by=Tag.name)
    # The plots that show what is requested (examples and sketches); results hang off claims.
    plots: Mapped[list[Plot]] = relationship(
        primaryjoin="and_(Rfp.id == Plot.rfp_id, Plot.kind != 'result')",
        order_by="(Plot.position, Plot.id)",
        cascade="all, delete-orphan",
        passive_deletes=True,
        overlaps="rfp",
    )
    claims: Mapped[list[Claim]] = relationship(
        back_populates="rfp", order_by="Claim.created_at", passive_deletes=True
    )
    presentations: Mapped[list[Presentation]] = relationship(
        back_populates="rfp", order_by="Presentation.created_at", passive_deletes=True
    )
    comments: Mapped[list[Comment]] = relationship(
        back_populates="rfp", order_by="(Comment.created_at, Comment.id)", passive_deletes=True
    )

    # Filled in by listing queries (rfp_portal.rfps.queries), in the same query as the RFPs.
    active_claim_count: Mapped[int | None] = query_expression()

    def is_author(self, user) -> bool:
        """Whether ``user`` wrote this RFP; False for an anonymous visitor (or None).

        The one place the rule is asked, so co-authors, when they come, are added here.
        """
        return bool(getattr(user, "is_authenticated", False) and user.id == self.author_id)

    @property
    def is_draft(self) -> bool:
        return self.state is RfpState.DRAFT

    def can_read(self, user, share_token: str | None = None) -> bool:
        """Everyone reads a published RFP; a draft only its author, admins, and whoever holds
        its share link (``share_token``, compared in constant time)."""
        if not self.is_draft:
            return True
        if self.is_author(user) or getattr(user, "is_admin", False):
            return True
        return bool(
            share_token
            and self.share_token
            and hmac.compare_digest(share_token.encode(), self.share_token.encode())
        )

    def can_publish(self, user) -> bool:
        """Only its author publishes a draft."""
        return self.is_draft and self.is_author(user)

    def is_managed_by(self, user) -> bool:
        """Its author and the organisers look after a published RFP; a draft, its author."""
        if not getattr(user, "is_authenticated", False):
            return False
        return self.is_author(user) or (user.is_organiser and not self.is_draft)

    def can_edit(self, user) -> bool:
        """Only the author edits the text and plots (nobody may write in another's name);
        organisers moderate by withdrawing. Nobody edits a withdrawn RFP."""
        return self.state is not RfpState.WITHDRAWN and self.is_author(user)

    @property
    def accepts_comments(self) -> bool:
        """Every published RFP but a withdrawn one takes comments."""
        return self.state in (RfpState.OPEN, RfpState.COMPLETED)

    def can_withdraw(self, user) -> bool:
        """The author and organisers may withdraw an RFP that is still open."""
        return self.state is RfpState.OPEN and self.is_managed_by(user)

    def can_be_wanted_by(self, user) -> bool:
        """Members other than the author may say "I want this plot too" of a published RFP
        that is not withdrawn."""
        return (
            getattr(user, "is_authenticated", False)
            and not self.is_author(user)
            and self.state in (RfpState.OPEN, RfpState.COMPLETED)
        )

    def __repr__(self) -> str:
        return f"<Rfp {self.id} {self.title!r}>"
