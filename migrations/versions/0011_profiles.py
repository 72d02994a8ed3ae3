"""profiles: a bio, links and mentoring flags on each person

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bio_md", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("bio_html", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("website_url", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("github_username", sa.String(length=39), nullable=True))
        batch_op.add_column(sa.Column("scholar_id", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("discord_handle", sa.String(length=37), nullable=True))
        batch_op.add_column(
            sa.Column("open_to_mentoring", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("looking_for_mentor", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    # The empty bio was only for the people already there; new rows get theirs from the model
    # (SQLite reads an empty default back in a form that never compares equal to the model's).
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("bio_md", existing_type=sa.Text(), server_default=None)
        batch_op.alter_column("bio_html", existing_type=sa.Text(), server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("looking_for_mentor")
        batch_op.drop_column("open_to_mentoring")
        batch_op.drop_column("discord_handle")
        batch_op.drop_column("scholar_id")
        batch_op.drop_column("github_username")
        batch_op.drop_column("website_url")
        batch_op.drop_column("bio_html")
        batch_op.drop_column("bio_md")
