"""the tz database version the clock last planned with; every feed renders again

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 13:45:34.258731
"""
from alembic import op
import sqlalchemy as sa
import service.domain.models


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('tz_database_seen',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=80), nullable=False),
    sa.Column('seen_at', service.domain.models.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_tz_database_seen_one_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tz_database_seen'))
    )
    # Feeds rendered before VTIMEZONEs ended in RRULEs (issue 14) render again: the clock's sweep
    # for feeds left dirty rings them.
    op.execute("UPDATE feeds SET dirty_since = CURRENT_TIMESTAMP WHERE dirty_since IS NULL")


def downgrade() -> None:
    op.drop_table('tz_database_seen')
