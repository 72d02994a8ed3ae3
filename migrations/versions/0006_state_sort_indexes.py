"""indexes for the updated and wanted sorts within one state

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 05:30:00

Without them, ``state=open&sort=wanted`` (the home page's "most wanted") sorted every open RFP.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rfps", schema=None) as batch_op:
        batch_op.create_index("ix_rfps_state_updated_at_id", ["state", "updated_at", "id"])
        batch_op.create_index("ix_rfps_state_want_count_id", ["state", "want_count", "id"])


def downgrade() -> None:
    with op.batch_alter_table("rfps", schema=None) as batch_op:
        batch_op.drop_index("ix_rfps_state_want_count_id")
        batch_op.drop_index("ix_rfps_state_updated_at_id")
