"""analysis: item analysis runs, item statistics, review flags

Revision ID: 0008_analysis
Revises: 0001 (depends on 0002_itembank for item/paper tables, 0003_administration for exam_session)
Create Date: 2026-11-25 21:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008_analysis'
down_revision = '0001'
branch_labels = None
depends_on = ('0002_itembank', '0003_administration')


def upgrade() -> None:
    op.create_table('item_analysis_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('paper_id', sa.Integer(), nullable=True),
    sa.Column('occupation_id', sa.Integer(), nullable=True),
    sa.Column('level', sa.Integer(), nullable=True),
    sa.Column('model', sa.String(length=8), nullable=True),
    sa.Column('window_start', sa.DateTime(), nullable=True),
    sa.Column('window_end', sa.DateTime(), nullable=True),
    sa.Column('n_attempts', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('progress', sa.Float(), nullable=False),
    sa.Column('message', sa.String(length=300), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=True),
    sa.Column('requested_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_item_analysis_run_agency_id_agency')),
    sa.ForeignKeyConstraint(['occupation_id'], ['occupation.id'], name=op.f('fk_item_analysis_run_occupation_id_occupation')),
    sa.ForeignKeyConstraint(['paper_id'], ['paper.id'], name=op.f('fk_item_analysis_run_paper_id_paper')),
    sa.ForeignKeyConstraint(['requested_by'], ['account.id'], name=op.f('fk_item_analysis_run_requested_by_account')),
    sa.ForeignKeyConstraint(['session_id'], ['exam_session.id'], name=op.f('fk_item_analysis_run_session_id_exam_session')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item_analysis_run')),
    sa.UniqueConstraint('kind', 'session_id', 'paper_id', name=op.f('uq_item_analysis_run_kind_session_id_paper_id'))
    )
    op.create_index('ix_item_analysis_run_agency', 'item_analysis_run', ['agency_id', 'kind'], unique=False)
    op.create_table('item_review_flag',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('item_version_id', sa.Integer(), nullable=False),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('resolved_by', sa.Integer(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('resolution', sa.String(length=1000), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_item_review_flag_agency_id_agency')),
    sa.ForeignKeyConstraint(['item_id'], ['item.id'], name=op.f('fk_item_review_flag_item_id_item')),
    sa.ForeignKeyConstraint(['item_version_id'], ['item_version.id'], name=op.f('fk_item_review_flag_item_version_id_item_version')),
    sa.ForeignKeyConstraint(['resolved_by'], ['account.id'], name=op.f('fk_item_review_flag_resolved_by_account')),
    sa.ForeignKeyConstraint(['run_id'], ['item_analysis_run.id'], name=op.f('fk_item_review_flag_run_id_item_analysis_run')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item_review_flag')),
    sa.UniqueConstraint('run_id', 'item_id', name=op.f('uq_item_review_flag_run_id_item_id'))
    )
    op.create_index(op.f('ix_item_review_flag_agency_id'), 'item_review_flag', ['agency_id'], unique=False)
    op.create_index(op.f('ix_item_review_flag_item_id'), 'item_review_flag', ['item_id'], unique=False)
    op.create_table('item_statistic',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('paper_item_id', sa.Integer(), nullable=True),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('item_version_id', sa.Integer(), nullable=False),
    sa.Column('item_type', sa.String(length=16), nullable=False),
    sa.Column('points', sa.Float(), nullable=False),
    sa.Column('n_presented', sa.Integer(), nullable=False),
    sa.Column('facility', sa.Float(), nullable=True),
    sa.Column('sd', sa.Float(), nullable=True),
    sa.Column('discrimination', sa.Float(), nullable=True),
    sa.Column('efficiency', sa.Float(), nullable=True),
    sa.Column('distractors', sa.JSON(), nullable=True),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['item.id'], name=op.f('fk_item_statistic_item_id_item')),
    sa.ForeignKeyConstraint(['item_version_id'], ['item_version.id'], name=op.f('fk_item_statistic_item_version_id_item_version')),
    sa.ForeignKeyConstraint(['paper_item_id'], ['paper_item.id'], name=op.f('fk_item_statistic_paper_item_id_paper_item')),
    sa.ForeignKeyConstraint(['run_id'], ['item_analysis_run.id'], name=op.f('fk_item_statistic_run_id_item_analysis_run')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item_statistic')),
    sa.UniqueConstraint('run_id', 'item_version_id', name=op.f('uq_item_statistic_run_id_item_version_id'))
    )
    op.create_index(op.f('ix_item_statistic_item_id'), 'item_statistic', ['item_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_item_statistic_item_id'), table_name='item_statistic')
    op.drop_table('item_statistic')
    op.drop_index(op.f('ix_item_review_flag_item_id'), table_name='item_review_flag')
    op.drop_index(op.f('ix_item_review_flag_agency_id'), table_name='item_review_flag')
    op.drop_table('item_review_flag')
    op.drop_index('ix_item_analysis_run_agency', table_name='item_analysis_run')
    op.drop_table('item_analysis_run')
