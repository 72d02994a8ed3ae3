"""event series and agenda slots: OpenClubHouse, socials and others beside the Jams; slots
members offer for a Jam's agenda; when a Jam stops taking offers

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-16 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def str_enum(name, *values):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=20)


def upgrade() -> None:
    op.create_table(
        "event_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("kind", str_enum("series_kind", "numbered", "named"), nullable=False),
        sa.Column("description_md", sa.Text(), nullable=False),
        sa.Column("description_html", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_series")),
        sa.UniqueConstraint("slug", name=op.f("uq_event_series_slug")),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=True),
        sa.Column("slug", sa.String(length=60), nullable=False),
        sa.Column("title", sa.String(length=140), nullable=False),
        sa.Column("conference", sa.String(length=80), nullable=True),
        sa.Column("link_url", sa.String(length=2000), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("join_url", sa.String(length=2000), nullable=True),
        sa.Column("description_md", sa.Text(), nullable=False),
        sa.Column("description_html", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["series_id"], ["event_series.id"], name=op.f("fk_events_series_id_event_series"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("series_id", "number", name="uq_events_series_id_number"),
        sa.UniqueConstraint("series_id", "slug", name="uq_events_series_id_slug"),
    )  # fmt: skip
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_series_id"), ["series_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_starts_at"), ["starts_at"], unique=False)
    op.create_table(
        "agenda_slots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("jam_id", sa.Integer(), nullable=False),
        sa.Column("offered_by_id", sa.Integer(), nullable=False),
        sa.Column("kind", str_enum("slot_kind", "rfp", "update"), nullable=False),
        sa.Column("rfp_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=140), nullable=True),
        sa.Column("line", sa.String(length=280), nullable=True),
        sa.Column("link_url", sa.String(length=2000), nullable=True),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column(
            "state", str_enum("slot_state", "offered", "accepted", "declined"), nullable=False
        ),
        sa.Column("decline_reason", sa.String(length=500), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("start_offset_minutes", sa.Integer(), nullable=True),
        sa.Column("presentation_id", sa.Integer(), nullable=True),
        sa.Column("slides_url", sa.String(length=2000), nullable=True),
        sa.Column("recording_url", sa.String(length=2000), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["jam_id"], ["jams.id"], name=op.f("fk_agenda_slots_jam_id_jams"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["offered_by_id"], ["users.id"], name=op.f("fk_agenda_slots_offered_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["rfp_id"], ["rfps.id"], name=op.f("fk_agenda_slots_rfp_id_rfps"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["presentation_id"], ["presentations.id"],
            name=op.f("fk_agenda_slots_presentation_id_presentations"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agenda_slots")),
    )  # fmt: skip
    with op.batch_alter_table("agenda_slots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agenda_slots_jam_id"), ["jam_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_agenda_slots_offered_by_id"), ["offered_by_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_agenda_slots_rfp_id"), ["rfp_id"], unique=False)
    with op.batch_alter_table("jams", schema=None) as batch_op:
        batch_op.add_column(sa.Column("offers_close_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jams", schema=None) as batch_op:
        batch_op.drop_column("offers_close_at")
    op.drop_table("agenda_slots")
    op.drop_table("events")
    op.drop_table("event_series")
