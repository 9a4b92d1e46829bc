"""streak figures refer to their ritual or promise by foreign key

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 14:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SUBJECT_CHECK = (
    "(subject_kind = 'ritual' AND ritual_id = subject_id AND promise_id IS NULL)"
    " OR (subject_kind = 'promise' AND promise_id = subject_id AND ritual_id IS NULL)"
)


def upgrade() -> None:
    with op.batch_alter_table("streak_figures") as batch_op:
        batch_op.add_column(sa.Column("ritual_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True))
        batch_op.add_column(sa.Column("promise_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True))
    # Figures of subjects deleted before this revision belong to nothing: they go.
    op.execute(
        "DELETE FROM streak_figures WHERE (subject_kind = 'ritual' AND subject_id NOT IN (SELECT id FROM rituals))"
        " OR (subject_kind = 'promise' AND subject_id NOT IN (SELECT id FROM promises))"
    )
    op.execute("UPDATE streak_figures SET ritual_id = subject_id WHERE subject_kind = 'ritual'")
    op.execute("UPDATE streak_figures SET promise_id = subject_id WHERE subject_kind = 'promise'")
    with op.batch_alter_table("streak_figures") as batch_op:
        batch_op.create_foreign_key(
            op.f("fk_streak_figures_ritual_id_rituals"), "rituals", ["ritual_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.create_foreign_key(
            op.f("fk_streak_figures_promise_id_promises"), "promises", ["promise_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.create_check_constraint(op.f("ck_streak_figures_subject"), SUBJECT_CHECK)
        batch_op.create_index(batch_op.f("ix_streak_figures_ritual_id"), ["ritual_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_streak_figures_promise_id"), ["promise_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("streak_figures") as batch_op:
        batch_op.drop_index(batch_op.f("ix_streak_figures_promise_id"))
        batch_op.drop_index(batch_op.f("ix_streak_figures_ritual_id"))
        batch_op.drop_constraint(op.f("ck_streak_figures_subject"), type_="check")
        batch_op.drop_constraint(op.f("fk_streak_figures_promise_id_promises"), type_="foreignkey")
        batch_op.drop_constraint(op.f("fk_streak_figures_ritual_id_rituals"), type_="foreignkey")
        batch_op.drop_column("promise_id")
        batch_op.drop_column("ritual_id")
