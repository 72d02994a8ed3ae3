"""State of the whole site: the content generation the page cache keys on."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from rfp_portal.db import Base


class SiteState(Base):
    """One row (id 1). ``content_generation`` grows with every committed write."""

    __tablename__ = "site_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    content_generation: Mapped[int] = mapped_column(sa.BigInteger, default=0)
