"""special-ability certificates: agency special code, approved projects, certificates without a level

Revision ID: 0009_special_certificates
Revises: 0005_certificates
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa


revision = '0009_special_certificates'
down_revision = '0005_certificates'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.add_column(sa.Column('special_code', sa.String(length=8), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_agency_special_code'), ['special_code'])
    op.create_table('special_project',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('occupation_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('approved_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_special_project_agency_id_agency')),
    sa.ForeignKeyConstraint(['occupation_id'], ['occupation.id'],
                            name=op.f('fk_special_project_occupation_id_occupation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_special_project')),
    sa.UniqueConstraint('agency_id', 'name', name=op.f('uq_special_project_agency_id_name'))
    )
    with op.batch_alter_table('special_project', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_special_project_agency_id'), ['agency_id'], unique=False)
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.alter_column('level', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('special_project_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_certificate_special_project_id_special_project'),
                                    'special_project', ['special_project_id'], ['id'])
        batch_op.drop_constraint(batch_op.f('ck_certificate_scheme'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_certificate_scheme'), "scheme in ('national','henan','special')")
        batch_op.create_check_constraint(batch_op.f('ck_certificate_special_no_level'),
                                         "(scheme = 'special') = (level is null)")
    with op.batch_alter_table('certificate_serial', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_certificate_serial_level'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_certificate_serial_level'), 'level between 0 and 5')


def downgrade() -> None:
    with op.batch_alter_table('certificate_serial', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_certificate_serial_level'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_certificate_serial_level'), 'level between 1 and 5')
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_certificate_special_no_level'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_certificate_scheme'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_certificate_scheme'), "scheme in ('national','henan')")
        batch_op.drop_constraint(batch_op.f('fk_certificate_special_project_id_special_project'), type_='foreignkey')
        batch_op.drop_column('special_project_id')
        batch_op.alter_column('level', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('special_project', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_special_project_agency_id'))
    op.drop_table('special_project')
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_agency_special_code'), type_='unique')
        batch_op.drop_column('special_code')
