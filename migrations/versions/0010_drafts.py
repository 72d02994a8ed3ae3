"""drafts: an RFP's draft state and its share link

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

OLD_STATES = ("open", "completed", "withdrawn")
NEW_STATES = ("draft", "open", "completed", "withdrawn")


def state_type(values):
    return sa.Enum(*values, name="state", native_enum=False, create_constraint=True, length=20)


revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rfps", schema=None) as batch_op:
        batch_op.alter_column(
            "state", existing_type=state_type(OLD_STATES), type_=state_type(NEW_STATES)
        )
        batch_op.add_column(sa.Column("share_token", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_rfps_share_token"), ["share_token"], unique=True)


def downgrade() -> None:
    # A schema without drafts could only publish them (their authors have not) or lose them.
    drafts = op.get_bind().scalar(sa.text("SELECT count(*) FROM rfps WHERE state = 'draft'"))
    if drafts:
        raise RuntimeError(
            f"{drafts} draft RFP(s) exist: their authors must publish or delete them before "
            "the schema can go back to one without drafts."
        )
    with op.batch_alter_table("rfps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rfps_share_token"))
        batch_op.drop_column("share_token")
        batch_op.alter_column(
            "state", existing_type=state_type(NEW_STATES), type_=state_type(OLD_STATES)
        )
