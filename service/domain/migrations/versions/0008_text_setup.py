"""texted set-up: a person's SMS draft and latest LIST (SPEC §4 "Setting up by text")

Revision ID: 0007_text_setup
Revises: 0007_web_session_doors
Create Date: 2026-12-05 04:00:00
"""

import sqlalchemy as sa
from alembic import op

import service.domain.models

revision = "0007_text_setup"
down_revision = "0007_web_session_doors"
branch_labels = None
depends_on = None

UTC_DATETIME = service.domain.models.UTCDateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "texted_setups",
        sa.Column("person_id", ID, nullable=False),
        sa.Column("draft", sa.JSON(), nullable=True),
        sa.Column("draft_until", UTC_DATETIME, nullable=True),
        sa.Column("listed", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_texted_setups_person_id_people"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_texted_setups")),
    )


def downgrade() -> None:
    op.drop_table("texted_setups")
