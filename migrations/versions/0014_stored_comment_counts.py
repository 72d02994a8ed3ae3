"""stored comment counts: rfps.comment_count, the visible comments of each RFP

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-17 10:00:00

The "most discussed" sort counted every RFP's comments on each request; the count is now kept
on the RFP (after every flush that touches a comment) and sorted by an index.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rfps", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("comment_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.create_check_constraint(
            op.f("ck_rfps_comment_count_not_negative"), "comment_count >= 0"
        )
    op.execute(
        "UPDATE rfps SET comment_count = (SELECT count(*) FROM comments"
        " WHERE comments.rfp_id = rfps.id"
        " AND comments.deleted_at IS NULL AND comments.hidden_at IS NULL)"
    )
    with op.batch_alter_table("rfps", schema=None) as batch_op:
        batch_op.create_index("ix_rfps_comment_count_id", ["comment_count", "id"], unique=False)
        batch_op.create_index(
            "ix_rfps_state_comment_count_id", ["state", "comment_count", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("rfps", schema=None) as batch_op:
        batch_op.drop_index("ix_rfps_state_comment_count_id")
        batch_op.drop_index("ix_rfps_comment_count_id")
        batch_op.drop_constraint(op.f("ck_rfps_comment_count_not_negative"), type_="check")
        batch_op.drop_column("comment_count")
