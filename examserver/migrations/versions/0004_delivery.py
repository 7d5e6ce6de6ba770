"""delivery: session delivery settings, attempts, the append-only answer log, latest answers, attempt events

Revision ID: 0004_delivery
Revises: 0003_administration (depends on 0002_itembank)

Branches from 0003_administration rather than 0001: with 0006_violations depending on this revision, a
``down_revision='0001'`` plus ``depends_on=('0002_itembank', '0003_administration')`` made ``alembic upgrade
heads`` fail with ``KeyError: '0001'`` on a fresh database (alembic's head bookkeeping with chained
cross-branch dependencies).
Create Date: 2026-11-25 21:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_delivery'
down_revision = '0003_administration'
branch_labels = None
depends_on = ('0002_itembank',)


def upgrade() -> None:
    op.create_table('session_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('opened_at', sa.DateTime(), nullable=True),
    sa.Column('opened_by', sa.Integer(), nullable=True),
    sa.Column('multiple_policy', sa.String(length=16), nullable=False),
    sa.Column('show_score', sa.Boolean(), nullable=False),
    sa.Column('grace_seconds', sa.Integer(), nullable=False),
    sa.CheckConstraint("multiple_policy in ('all_or_nothing','half_if_subset','proportional')", name=op.f('ck_session_delivery_multiple_policy')),
    sa.ForeignKeyConstraint(['opened_by'], ['account.id'], name=op.f('fk_session_delivery_opened_by_account')),
    sa.ForeignKeyConstraint(['session_id'], ['exam_session.id'], name=op.f('fk_session_delivery_session_id_exam_session')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_session_delivery')),
    sa.UniqueConstraint('session_id', name=op.f('uq_session_delivery_session_id'))
    )
    op.create_table('attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('room_id', sa.Integer(), nullable=False),
    sa.Column('seat_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('paper_id', sa.Integer(), nullable=True),
    sa.Column('shuffle_seed', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('duration_seconds', sa.Integer(), nullable=False),
    sa.Column('extra_seconds', sa.Integer(), nullable=False),
    sa.Column('paused_seconds', sa.Float(), nullable=False),
    sa.Column('paused_at', sa.DateTime(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.Column('submit_reason', sa.String(length=12), nullable=True),
    sa.Column('device_id', sa.String(length=64), nullable=True),
    sa.Column('device_bound_at', sa.DateTime(), nullable=True),
    sa.Column('switch_authorised_at', sa.DateTime(), nullable=True),
    sa.Column('switch_authorised_by', sa.Integer(), nullable=True),
    sa.Column('online', sa.Boolean(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=True),
    sa.Column('offline_since', sa.DateTime(), nullable=True),
    sa.Column('score_awarded', sa.Float(), nullable=True),
    sa.Column('score_max', sa.Float(), nullable=True),
    sa.Column('score_detail', sa.JSON(), nullable=True),
    sa.CheckConstraint("status in ('ready','started','submitted')", name=op.f('ck_attempt_status')),
    sa.CheckConstraint("submit_reason is null or submit_reason in ('candidate','deadline','proctor')", name=op.f('ck_attempt_submit_reason')),
    sa.ForeignKeyConstraint(['paper_id'], ['paper.id'], name=op.f('fk_attempt_paper_id_paper')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_attempt_person_id_person')),
    sa.ForeignKeyConstraint(['room_id'], ['room.id'], name=op.f('fk_attempt_room_id_room')),
    sa.ForeignKeyConstraint(['seat_id'], ['seat_assignment.id'], name=op.f('fk_attempt_seat_id_seat_assignment')),
    sa.ForeignKeyConstraint(['session_id'], ['exam_session.id'], name=op.f('fk_attempt_session_id_exam_session')),
    sa.ForeignKeyConstraint(['switch_authorised_by'], ['account.id'], name=op.f('fk_attempt_switch_authorised_by_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attempt')),
    sa.UniqueConstraint('seat_id', name=op.f('uq_attempt_seat_id'))
    )
    op.create_index(op.f('ix_attempt_person_id'), 'attempt', ['person_id'], unique=False)
    op.create_index('ix_attempt_session_room', 'attempt', ['session_id', 'room_id'], unique=False)
    op.create_table('answer',
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('paper_item_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('response', sa.JSON(), nullable=True),
    sa.Column('answered', sa.Boolean(), nullable=False),
    sa.Column('saved_at', sa.DateTime(), nullable=False),
    sa.Column('flagged', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempt.id'], name=op.f('fk_answer_attempt_id_attempt')),
    sa.PrimaryKeyConstraint('attempt_id', 'paper_item_id', name=op.f('pk_answer'))
    )
    op.create_table('answer_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('paper_item_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('response', sa.JSON(), nullable=True),
    sa.Column('client_at', sa.DateTime(), nullable=True),
    sa.Column('server_at', sa.DateTime(), nullable=False),
    sa.Column('via', sa.String(length=8), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempt.id'], name=op.f('fk_answer_change_attempt_id_attempt')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_answer_change')),
    sa.UniqueConstraint('attempt_id', 'seq', name=op.f('uq_answer_change_attempt_id_seq'))
    )
    op.create_table('attempt_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=100), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['account.id'], name=op.f('fk_attempt_event_actor_id_account')),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempt.id'], name=op.f('fk_attempt_event_attempt_id_attempt')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attempt_event'))
    )
    op.create_index(op.f('ix_attempt_event_attempt_id'), 'attempt_event', ['attempt_id'], unique=False)
    # ### end Alembic commands ###


def downgrade() -> None:
    op.drop_index(op.f('ix_attempt_event_attempt_id'), table_name='attempt_event')
    op.drop_table('attempt_event')
    op.drop_table('answer_change')
    op.drop_table('answer')
    op.drop_index('ix_attempt_session_room', table_name='attempt')
    op.drop_index(op.f('ix_attempt_person_id'), table_name='attempt')
    op.drop_table('attempt')
    op.drop_table('session_delivery')
    # ### end Alembic commands ###
