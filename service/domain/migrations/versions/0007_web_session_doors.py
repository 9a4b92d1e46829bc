"""session doors: a device session opens either the API (bearer token) or the pages (cookie), never both

Sessions made before this revision were the API's (the pages' cookie carried
an API token): they stay API sessions, and a browser signed in before it
signs in again.

Revision ID: 0007_web_session_doors
Revises: 0006
Create Date: 2026-12-05 03:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0007_web_session_doors'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('door', sa.String(length=8), nullable=False, server_default='api'))


def downgrade() -> None:
    op.execute("DELETE FROM sessions WHERE door <> 'api'")
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_column('door')
