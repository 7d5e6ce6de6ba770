"""itembank: items and versions, reviews, blueprints and cells, assembly runs, papers

Revision ID: 0002_itembank
Revises: 0001
Create Date: 2026-11-25 20:37:17.271466
"""
from alembic import op
import sqlalchemy as sa


revision = '0002_itembank'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('exam_blueprint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('standard_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('total_points', sa.Float(), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('n_forms', sa.Integer(), nullable=False),
    sa.Column('max_overlap', sa.Integer(), nullable=False),
    sa.Column('exposure_limit', sa.Integer(), nullable=True),
    sa.Column('target_mean_p', sa.Float(), nullable=False),
    sa.Column('tolerance', sa.Float(), nullable=False),
    sa.Column('cut_theta', sa.Float(), nullable=True),
    sa.Column('target_information', sa.Float(), nullable=True),
    sa.Column('points_per_type', sa.JSON(), nullable=False),
    sa.Column('bands', sa.JSON(), nullable=False),
    sa.Column('practical_count', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_exam_blueprint_agency_id_agency')),
    sa.ForeignKeyConstraint(['created_by'], ['account.id'], name=op.f('fk_exam_blueprint_created_by_account')),
    sa.ForeignKeyConstraint(['standard_id'], ['skill_standard.id'], name=op.f('fk_exam_blueprint_standard_id_skill_standard')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exam_blueprint'))
    )
    with op.batch_alter_table('exam_blueprint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exam_blueprint_agency_id'), ['agency_id'], unique=False)

    op.create_table('item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('standard_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('item_type', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('head_version_id', sa.Integer(), nullable=True),
    sa.Column('approved_version_id', sa.Integer(), nullable=True),
    sa.Column('exposure_count', sa.Integer(), nullable=False),
    sa.Column('calibrated_p', sa.Float(), nullable=True),
    sa.Column('calibrated_a', sa.Float(), nullable=True),
    sa.Column('calibrated_b', sa.Float(), nullable=True),
    sa.Column('calibrated_c', sa.Float(), nullable=True),
    sa.Column('calibrated_n', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('retired_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_item_agency_id_agency')),
    sa.ForeignKeyConstraint(['author_id'], ['account.id'], name=op.f('fk_item_author_id_account')),
    sa.ForeignKeyConstraint(['standard_id'], ['skill_standard.id'], name=op.f('fk_item_standard_id_skill_standard')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item')),
    sa.UniqueConstraint('agency_id', 'code', name=op.f('uq_item_agency_id_code'))
    )
    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.create_index('ix_item_bank', ['standard_id', 'status'], unique=False)

    op.create_table('assembly_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('blueprint_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('blueprint_revision', sa.Integer(), nullable=False),
    sa.Column('requested_by', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('progress', sa.Float(), nullable=False),
    sa.Column('message', sa.String(length=300), nullable=False),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('time_limit', sa.Float(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_assembly_run_agency_id_agency')),
    sa.ForeignKeyConstraint(['blueprint_id'], ['exam_blueprint.id'], name=op.f('fk_assembly_run_blueprint_id_exam_blueprint')),
    sa.ForeignKeyConstraint(['requested_by'], ['account.id'], name=op.f('fk_assembly_run_requested_by_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assembly_run'))
    )
    with op.batch_alter_table('assembly_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assembly_run_blueprint_id'), ['blueprint_id'], unique=False)

    op.create_table('blueprint_cell',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('blueprint_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('element_code', sa.String(length=32), nullable=False),
    sa.Column('item_type', sa.String(length=16), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['blueprint_id'], ['exam_blueprint.id'], name=op.f('fk_blueprint_cell_blueprint_id_exam_blueprint')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_blueprint_cell')),
    sa.UniqueConstraint('blueprint_id', 'element_code', 'item_type', name=op.f('uq_blueprint_cell_blueprint_id_element_code_item_type'))
    )
    op.create_table('item_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('element_code', sa.String(length=32), nullable=False),
    sa.Column('levels', sa.JSON(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('enemy_group', sa.String(length=64), nullable=True),
    sa.Column('stem', sa.Text(), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('answer', sa.JSON(), nullable=False),
    sa.Column('explanation', sa.Text(), nullable=False),
    sa.Column('rubric', sa.JSON(), nullable=True),
    sa.Column('points', sa.Float(), nullable=True),
    sa.Column('p', sa.Float(), nullable=True),
    sa.Column('irt_a', sa.Float(), nullable=True),
    sa.Column('irt_b', sa.Float(), nullable=True),
    sa.Column('irt_c', sa.Float(), nullable=True),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.Column('reviewed_by', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(), nullable=True),
    sa.Column('review_comment', sa.String(length=1000), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['account.id'], name=op.f('fk_item_version_author_id_account')),
    sa.ForeignKeyConstraint(['item_id'], ['item.id'], name=op.f('fk_item_version_item_id_item')),
    sa.ForeignKeyConstraint(['reviewed_by'], ['account.id'], name=op.f('fk_item_version_reviewed_by_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item_version')),
    sa.UniqueConstraint('item_id', 'number', name=op.f('uq_item_version_item_id_number'))
    )
    with op.batch_alter_table('item_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_item_version_element_code'), ['element_code'], unique=False)
    # item <-> item_version reference each other: the item's two version links are added once both exist
    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_item_head_version_id_item_version'), 'item_version',
                                    ['head_version_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_item_approved_version_id_item_version'), 'item_version',
                                    ['approved_version_id'], ['id'])

    op.create_table('item_review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('comment', sa.String(length=1000), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['item.id'], name=op.f('fk_item_review_item_id_item')),
    sa.ForeignKeyConstraint(['reviewer_id'], ['account.id'], name=op.f('fk_item_review_reviewer_id_account')),
    sa.ForeignKeyConstraint(['version_id'], ['item_version.id'], name=op.f('fk_item_review_version_id_item_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item_review'))
    )
    with op.batch_alter_table('item_review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_item_review_item_id'), ['item_id'], unique=False)

    op.create_table('paper',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('blueprint_id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('form_label', sa.String(length=4), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('total_points', sa.Float(), nullable=False),
    sa.Column('practical_points', sa.Float(), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('shuffle', sa.JSON(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.Column('reviewed_by', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(), nullable=True),
    sa.Column('review_comment', sa.String(length=1000), nullable=False),
    sa.Column('sealed_by', sa.Integer(), nullable=True),
    sa.Column('sealed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_paper_agency_id_agency')),
    sa.ForeignKeyConstraint(['blueprint_id'], ['exam_blueprint.id'], name=op.f('fk_paper_blueprint_id_exam_blueprint')),
    sa.ForeignKeyConstraint(['created_by'], ['account.id'], name=op.f('fk_paper_created_by_account')),
    sa.ForeignKeyConstraint(['reviewed_by'], ['account.id'], name=op.f('fk_paper_reviewed_by_account')),
    sa.ForeignKeyConstraint(['run_id'], ['assembly_run.id'], name=op.f('fk_paper_run_id_assembly_run')),
    sa.ForeignKeyConstraint(['sealed_by'], ['account.id'], name=op.f('fk_paper_sealed_by_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_paper'))
    )
    with op.batch_alter_table('paper', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_paper_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_paper_blueprint_id'), ['blueprint_id'], unique=False)

    op.create_table('paper_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('paper_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('section', sa.String(length=16), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('item_version_id', sa.Integer(), nullable=False),
    sa.Column('points', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['item.id'], name=op.f('fk_paper_item_item_id_item')),
    sa.ForeignKeyConstraint(['item_version_id'], ['item_version.id'], name=op.f('fk_paper_item_item_version_id_item_version')),
    sa.ForeignKeyConstraint(['paper_id'], ['paper.id'], name=op.f('fk_paper_item_paper_id_paper')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_paper_item'))
    )
    with op.batch_alter_table('paper_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_paper_item_paper_id'), ['paper_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('paper_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_paper_item_paper_id'))

    op.drop_table('paper_item')
    with op.batch_alter_table('paper', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_paper_blueprint_id'))
        batch_op.drop_index(batch_op.f('ix_paper_agency_id'))

    op.drop_table('paper')
    with op.batch_alter_table('item_review', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_item_review_item_id'))

    op.drop_table('item_review')
    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_item_head_version_id_item_version'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_item_approved_version_id_item_version'), type_='foreignkey')
    with op.batch_alter_table('item_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_item_version_element_code'))

    op.drop_table('item_version')
    op.drop_table('blueprint_cell')
    with op.batch_alter_table('assembly_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assembly_run_blueprint_id'))

    op.drop_table('assembly_run')
    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.drop_index('ix_item_bank')

    op.drop_table('item')
    with op.batch_alter_table('exam_blueprint', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exam_blueprint_agency_id'))

    op.drop_table('exam_blueprint')
