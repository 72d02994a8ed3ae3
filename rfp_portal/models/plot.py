"""Plots: the images on an RFP (example uploads, sketches drawn from a spec, delivered results)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rfp_portal import clock
from rfp_portal.db import Base, UtcDateTime, str_enum

if TYPE_CHECKING:
    from rfp_portal.models.rfp import Rfp

CAPTION_MAX = 300
ALT_TEXT_MAX = 500
PLOTS_PER_RFP = 12


class PlotKind(enum.StrEnum):
    EXAMPLE = "example"  # an image the author uploads
    SKETCH = "sketch"  # drawn by the portal from a spec the author types
    RESULT = "result"  # delivered by a claimant


class Plot(Base):
    __tablename__ = "plots"
    __table_args__ = (sa.Index("ix_plots_rfp_id_position", "rfp_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rfp_id: Mapped[int] = mapped_column(sa.ForeignKey("rfps.id", ondelete="CASCADE"))
    kind: Mapped[PlotKind] = mapped_column(str_enum(PlotKind, "plot_kind"))
    caption: Mapped[str] = mapped_column(sa.String(CAPTION_MAX))
    alt_text: Mapped[str] = mapped_column(sa.String(ALT_TEXT_MAX))
    position: Mapped[int] = mapped_column(default=0)
    # Storage keys (content hash + extension) and what to serve them as; set once, at upload.
    image_key: Mapped[str] = mapped_column(sa.String(80), index=True)
    image_type: Mapped[str] = mapped_column(sa.String(20))
    width: Mapped[int]
    height: Mapped[int]
    thumb_key: Mapped[str] = mapped_column(sa.String(80), index=True)
    thumb_type: Mapped[str] = mapped_column(sa.String(20))
    thumb_width: Mapped[int]
    thumb_height: Mapped[int]
    # A sketch's spec, kept so it can be edited and redrawn; None for uploaded images.
    spec: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)

    rfp: Mapped[Rfp] = relationship()

    @property
    def version(self) -> str:
        """Changes whenever the image does: URLs carry it, so images can be cached for a year."""
        return self.image_key[:12]

    def can_manage(self, user) -> bool:
        """Whoever may edit the RFP may re-caption, reorder, redraw and delete its plots."""
        return self.kind is not PlotKind.RESULT and self.rfp.can_edit(user)

    def __repr__(self) -> str:
        return f"<Plot {self.id} {self.kind.value} of RFP {self.rfp_id}>"
