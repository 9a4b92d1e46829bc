"""people.consented_at: when the number's owner consented (verified a code or joined), kept through STOP

START after STOP makes `active` again only a number that had consented; one
that was only invited goes back to `invited` (SPEC §3; issue 18). Existing
people count as having consented when they are active, or, opted out, when
they hold a device session, a used code or a joined circle (the only ways to
consent); their consent is dated by their creation, the earliest it can be.

Revision ID: 0013_consented_at
Revises: 0007_together_notes
Create Date: 2026-12-05 06:30:00
"""

from alembic import op
import sqlalchemy as sa

import service.domain.models

revision = "0013_consented_at"
down_revision = "0007_together_notes"
branch_labels = None
depends_on = None

UTC_DATETIME = service.domain.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("consented_at", UTC_DATETIME, nullable=True))
    op.execute(
        """
        UPDATE people SET consented_at = created_at
        WHERE sms_status = 'active'
           OR EXISTS (SELECT 1 FROM sessions WHERE sessions.person_id = people.id)
           OR EXISTS (SELECT 1 FROM sign_in_codes WHERE sign_in_codes.phone = people.phone AND sign_in_codes.used)
           OR EXISTS (
               SELECT 1 FROM memberships WHERE memberships.person_id = people.id AND memberships.status = 'active'
           )
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("consented_at")
