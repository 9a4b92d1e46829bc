"""person pauses: every "pause all" kept as an interval (issue 18, item 9)

The worker closing an ended occurrence judges it by the person's pauses of its
own time (skipped when a pause overlapped it), also when it closes long after
(a catch-up after the clock was down, a late worker). `people.paused_until`
stays the pause in force. A pause in force at upgrade time becomes one
interval from the person's creation to its end: until now an open occurrence
before `paused_until` closed as skipped, and it still does.

Revision ID: 0014_person_pauses
Revises: 0007_together_notes
Create Date: 2026-12-05 06:30:00
"""
from alembic import op
import sqlalchemy as sa
import service.domain.models


revision = '0014_person_pauses'
down_revision = "0013_consented_at"
branch_labels = None
depends_on = None

UTC_DATETIME = service.domain.models.UTCDateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('person_pauses',
    sa.Column('id', ID, nullable=False),
    sa.Column('person_id', ID, nullable=False),
    sa.Column('starts_at', UTC_DATETIME, nullable=False),
    sa.Column('ends_at', UTC_DATETIME, nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_person_pauses_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person_pauses'))
    )
    with op.batch_alter_table('person_pauses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_pauses_person_id'), ['person_id'], unique=False)
    op.execute(
        "INSERT INTO person_pauses (person_id, starts_at, ends_at)"
        " SELECT id, created_at, paused_until FROM people WHERE paused_until IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table('person_pauses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_pauses_person_id'))
    op.drop_table('person_pauses')
