"""discovery: full-text search, "I want this plot too", indexes for every filter and sort

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 05:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from rfp_portal import search

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wants",
        sa.Column("rfp_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["rfp_id"], ["rfps.id"], name=op.f("fk_wants_rfp_id_rfps"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_wants_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("rfp_id", "user_id", name=op.f("pk_wants")),
    )
    with op.batch_alter_table("wants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wants_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("rfps", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("want_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.create_check_constraint(op.f("ck_rfps_want_count_not_negative"), "want_count >= 0")
        batch_op.create_index("ix_rfps_state_created_at_id", ["state", "created_at", "id"])
        batch_op.create_index("ix_rfps_updated_at_id", ["updated_at", "id"])
        batch_op.create_index("ix_rfps_want_count_id", ["want_count", "id"])
        batch_op.create_index("ix_rfps_difficulty", ["difficulty"])
        batch_op.create_index("ix_rfps_compute", ["compute"])

    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_index("ix_claims_rfp_id_status")
        batch_op.create_index(
            "ix_claims_rfp_id_status_last_activity_at", ["rfp_id", "status", "last_activity_at"]
        )
        batch_op.create_index("ix_claims_status_ended_at", ["status", "ended_at"])

    bind = op.get_bind()
    search.create_tables(bind)
    search.rebuild_index(bind)


def downgrade() -> None:
    search.drop_tables(op.get_bind())
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_index("ix_claims_status_ended_at")
        batch_op.drop_index("ix_claims_rfp_id_status_last_activity_at")
        batch_op.create_index("ix_claims_rfp_id_status", ["rfp_id", "status"])
    with op.batch_alter_table("rfps", schema=None) as batch_op:
        batch_op.drop_index("ix_rfps_compute")
        batch_op.drop_index("ix_rfps_difficulty")
        batch_op.drop_index("ix_rfps_want_count_id")
        batch_op.drop_index("ix_rfps_updated_at_id")
        batch_op.drop_index("ix_rfps_state_created_at_id")
        batch_op.drop_constraint(op.f("ck_rfps_want_count_not_negative"), type_="check")
        batch_op.drop_column("want_count")
    with op.batch_alter_table("wants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wants_user_id"))
    op.drop_table("wants")
