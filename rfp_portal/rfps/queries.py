"""The query behind every list of RFPs: a fixed number of queries, whatever the page's length."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload, with_expression

from rfp_portal.models import Claim, ClaimPolicy, Presentation, Rfp


def active_claims_of_rfp(now: datetime, policy: ClaimPolicy):
    """SQL: how many claims on the outer query's RFP count as active now."""
    return (
        sa.select(sa.func.count())
        .select_from(Claim)
        .where(Claim.rfp_id == Rfp.id, Claim.counts_as_active(now, policy))
        .correlate(Rfp)
        .scalar_subquery()
    )


def is_claimed(now: datetime, policy: ClaimPolicy):
    """SQL: the RFP has at least one active claim (derived, never stored)."""
    return sa.exists().where(Claim.rfp_id == Rfp.id, Claim.counts_as_active(now, policy))


def rfp_listing(now: datetime, policy: ClaimPolicy) -> sa.Select:
    """RFPs with author, tags, plots and their active claims counted (the comments' count is a
    column of the RFP)."""
    return sa.select(Rfp).options(
        selectinload(Rfp.author),
        selectinload(Rfp.tags),
        selectinload(Rfp.plots),
        selectinload(Rfp.presentations).selectinload(Presentation.jam),
        with_expression(Rfp.active_claim_count, active_claims_of_rfp(now, policy)),
    )
