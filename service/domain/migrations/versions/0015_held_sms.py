"""held SMS: when a queued SMS was due before the recipient's quiet hours held it (issue 22)

A person who changes their quiet hours gets what those hours held re-planned at
once (off: it goes now; narrower: when they now end). Rows held before this
revision are not known as held and keep their time.

Revision ID: 0015_held_sms
Revises: 0014_person_pauses
Create Date: 2026-12-05 07:15:00
"""
from alembic import op
import sqlalchemy as sa
import service.domain.models


revision = '0015_held_sms'
down_revision = "0014_person_pauses"
branch_labels = None
depends_on = None

UTC_DATETIME = service.domain.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('outbound_sms', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held_from', UTC_DATETIME, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbound_sms', schema=None) as batch_op:
        batch_op.drop_column('held_from')
