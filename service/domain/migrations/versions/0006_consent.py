"""consent: sign-in codes, per-device sessions, invitation counts and declines; digest tokens hashed

Person status 'pending' becomes 'invited' (SPEC §3). Each person's bearer
token moves to a session row (the same digest, so signed-in clients keep
working). Digest tokens are stored as SHA-256 digests and expire 60 days
after the digest was made; links already sent keep working until then.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 14:00:00
"""
import hashlib
from datetime import timedelta

from alembic import op
import sqlalchemy as sa
import service.domain.models


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

UTC_DATETIME = service.domain.models.UTCDateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('sessions',
    sa.Column('id', ID, nullable=False),
    sa.Column('person_id', ID, nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', UTC_DATETIME, nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_sessions_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_sessions_token_hash'))
    )
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sessions_person_id'), ['person_id'], unique=False)

    op.create_table('sign_in_codes',
    sa.Column('id', ID, nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('tries', sa.Integer(), nullable=False),
    sa.Column('expires_at', UTC_DATETIME, nullable=False),
    sa.Column('used', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTC_DATETIME, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_codes'))
    )
    with op.batch_alter_table('sign_in_codes', schema=None) as batch_op:
        batch_op.create_index('ix_sign_in_codes_phone_created_at', ['phone', 'created_at'], unique=False)

    op.create_table('invitations_sent',
    sa.Column('id', ID, nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('created_at', UTC_DATETIME, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitations_sent'))
    )
    with op.batch_alter_table('invitations_sent', schema=None) as batch_op:
        batch_op.create_index('ix_invitations_sent_phone_created_at', ['phone', 'created_at'], unique=False)

    op.create_table('declines',
    sa.Column('person_id', ID, nullable=False),
    sa.Column('inviter_id', ID, nullable=False),
    sa.Column('declined_at', UTC_DATETIME, nullable=False),
    sa.ForeignKeyConstraint(['inviter_id'], ['people.id'], name=op.f('fk_declines_inviter_id_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_declines_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', 'inviter_id', name=op.f('pk_declines'))
    )

    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('label', sa.String(length=80), nullable=True))

    # Bearer tokens: one session per person that had a token, keeping its digest.
    op.execute(
        "INSERT INTO sessions (person_id, token_hash, created_at) "
        "SELECT id, token_hash, created_at FROM people WHERE token_hash IS NOT NULL"
    )
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_people_sms_status'), type_='check')
    op.execute("UPDATE people SET sms_status = 'invited' WHERE sms_status = 'pending'")
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_people_token_hash'), type_='unique')
        batch_op.drop_column('token_hash')
        batch_op.create_check_constraint(op.f('ck_people_sms_status'), "sms_status IN ('invited', 'active', 'opted_out')")

    # Digest tokens: hashed, with an expiry 60 days after the digest was made.
    with op.batch_alter_table('digests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('expires_at', UTC_DATETIME, nullable=True))
    connection = op.get_bind()
    digests = sa.table(
        'digests',
        sa.column('id', ID),
        sa.column('token', sa.String),
        sa.column('token_hash', sa.String),
        sa.column('created_at', UTC_DATETIME),
        sa.column('expires_at', UTC_DATETIME),
    )
    for digest_id, token, created_at in connection.execute(sa.select(digests.c.id, digests.c.token, digests.c.created_at)).all():
        connection.execute(
            digests.update()
            .where(digests.c.id == digest_id)
            .values(token_hash=hashlib.sha256(token.encode()).hexdigest(), expires_at=created_at + timedelta(days=60))
        )
    with op.batch_alter_table('digests', schema=None) as batch_op:
        batch_op.alter_column('token_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('expires_at', existing_type=UTC_DATETIME, nullable=False)
        batch_op.drop_constraint(batch_op.f('uq_digests_token'), type_='unique')
        batch_op.drop_column('token')
        batch_op.create_unique_constraint(batch_op.f('uq_digests_token_hash'), ['token_hash'])


def downgrade() -> None:
    # Digest tokens were stored only as digests: their links cannot be restored, so the digests go.
    op.execute("DELETE FROM digests")
    with op.batch_alter_table('digests', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_digests_token_hash'), type_='unique')
        batch_op.drop_column('expires_at')
        batch_op.drop_column('token_hash')
        batch_op.add_column(sa.Column('token', sa.String(length=64), nullable=False))
        batch_op.create_unique_constraint(batch_op.f('uq_digests_token'), ['token'])

    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_people_sms_status'), type_='check')
        batch_op.add_column(sa.Column('token_hash', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_people_token_hash'), ['token_hash'])
    op.execute("UPDATE people SET sms_status = 'pending' WHERE sms_status = 'invited'")
    # A person keeps the token of their oldest session.
    op.execute(
        "UPDATE people SET token_hash = (SELECT s.token_hash FROM sessions s WHERE s.person_id = people.id "
        "ORDER BY s.id LIMIT 1)"
    )
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_people_sms_status'), "sms_status IN ('pending', 'active', 'opted_out')")

    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_column('label')

    op.drop_table('declines')
    with op.batch_alter_table('invitations_sent', schema=None) as batch_op:
        batch_op.drop_index('ix_invitations_sent_phone_created_at')
    op.drop_table('invitations_sent')
    with op.batch_alter_table('sign_in_codes', schema=None) as batch_op:
        batch_op.drop_index('ix_sign_in_codes_phone_created_at')
    op.drop_table('sign_in_codes')
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sessions_person_id'))
    op.drop_table('sessions')
