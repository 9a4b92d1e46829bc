"""together rituals, follow-ups and check-in notes (issue 20)

Rituals gain `mode` ('each' by default: what every ritual did before) and
`follow_up_minutes` (null: no follow-up), promises `follow_up_minutes`;
check-ins gain a `note` and `by_id`, the participant who checked in for
this person in a together ritual.

Revision ID: 0007_together_notes
Revises: 0007_web_session_doors (re-chained after main's migration; originally 0006)
Create Date: 2026-12-05 03:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007_together_notes'
down_revision = "0007_text_setup"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('rituals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mode', sa.String(length=10), server_default='each', nullable=False))
        batch_op.add_column(sa.Column('follow_up_minutes', sa.Integer(), nullable=True))
        batch_op.create_check_constraint(op.f('ck_rituals_mode'), "mode IN ('each', 'together')")
    with op.batch_alter_table('promises', schema=None) as batch_op:
        batch_op.add_column(sa.Column('follow_up_minutes', sa.Integer(), nullable=True))
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.add_column(sa.Column('note', sa.String(length=160), nullable=True))
        batch_op.add_column(sa.Column('by_id', ID, nullable=True))
        batch_op.create_foreign_key(
            op.f('fk_checkins_by_id_people'), 'people', ['by_id'], ['id'], ondelete='SET NULL'
        )


def downgrade() -> None:
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_checkins_by_id_people'), type_='foreignkey')
        batch_op.drop_column('by_id')
        batch_op.drop_column('note')
    with op.batch_alter_table('promises', schema=None) as batch_op:
        batch_op.drop_column('follow_up_minutes')
    with op.batch_alter_table('rituals', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_rituals_mode'), type_='check')
        batch_op.drop_column('follow_up_minutes')
        batch_op.drop_column('mode')
