"""The board's loop (api/board_models.py): analysis versions, actions with their children and history,
published board packs; and the `board` role (read-only board members) allowed in users.role.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 08:15:29.047860

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ROLES_BEFORE = "role IN ('executive', 'head_of_service', 'team_manager', 'analyst', 'admin')"
ROLES_AFTER = "role IN ('executive', 'head_of_service', 'team_manager', 'analyst', 'admin', 'board')"


def _roles(check: str) -> None:
    # batch mode copies the table on SQLite (it cannot alter a CHECK); an ALTER TABLE elsewhere
    with op.batch_alter_table('users') as batch_op:
        batch_op.drop_constraint(op.f('ck_users_role'), type_='check')
        batch_op.create_check_constraint('role', check)


def upgrade() -> None:
    """Upgrade schema."""
    if sa.inspect(op.get_bind()).has_table('board_packs'):
        return  # a database made by create_all before the migrations existed, already stamped 0001
    _roles(ROLES_AFTER)
    op.create_table('actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kpi', sa.String(length=64), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('unit', sa.String(length=200), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=True),
    sa.Column('what', sa.Text(), nullable=False),
    sa.Column('owner_user', sa.String(length=64), nullable=True),
    sa.Column('owner_name', sa.String(length=200), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_note', sa.Text(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('origin', sa.String(length=16), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("level IN ('trust', 'service', 'team')", name=op.f('ck_actions_level')),
    sa.CheckConstraint("status IN ('open', 'done', 'dropped')", name=op.f('ck_actions_status')),
    sa.CheckConstraint('(owner_user IS NULL) <> (owner_name IS NULL)', name=op.f('ck_actions_one_owner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_actions'))
    )
    op.create_index('ix_actions_kpi_level_unit', 'actions', ['kpi', 'level', 'unit'], unique=False)
    op.create_index(op.f('ix_actions_owner_user'), 'actions', ['owner_user'], unique=False)
    op.create_index('ix_actions_status_due_date', 'actions', ['status', 'due_date'], unique=False)
    op.create_table('analysis_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kpi', sa.String(length=64), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('unit', sa.String(length=200), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('author', sa.String(length=64), nullable=False),
    sa.Column('author_role', sa.String(length=32), nullable=False),
    sa.Column('written_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("level IN ('trust', 'service', 'team')", name=op.f('ck_analysis_versions_level')),
    sa.CheckConstraint('version >= 1', name=op.f('ck_analysis_versions_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analysis_versions')),
    sa.UniqueConstraint('kpi', 'level', 'unit', 'period', 'version', name=op.f('uq_analysis_versions_kpi'))
    )
    op.create_index('ix_analysis_versions_period_level_unit', 'analysis_versions', ['period', 'level', 'unit'],
                    unique=False)
    op.create_table('board_packs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('board_date', sa.Date(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('run_id', sa.String(length=40), nullable=False),
    sa.Column('extract_date', sa.Date(), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=False),
    sa.Column('published_by', sa.String(length=64), nullable=False),
    sa.Column('html_sha256', sa.String(length=64), nullable=False),
    sa.Column('pdf_sha256', sa.String(length=64), nullable=True),
    sa.Column('html_bytes', sa.Integer(), nullable=False),
    sa.Column('pdf_bytes', sa.Integer(), nullable=True),
    sa.Column('snapshot', sa.Text(), nullable=False),
    sa.Column('html', sa.LargeBinary(), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_board_packs')),
    sa.UniqueConstraint('board_date', name=op.f('uq_board_packs_board_date'))
    )
    op.create_table('action_children',
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('child_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['actions.id'], name=op.f('fk_action_children_action_id_actions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('action_id', 'child_id', name=op.f('pk_action_children'))
    )
    op.create_table('action_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('changed_by', sa.String(length=64), nullable=False),
    sa.Column('changed_by_role', sa.String(length=32), nullable=False),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.Column('change', sa.String(length=500), nullable=False),
    sa.Column('state', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['actions.id'], name=op.f('fk_action_versions_action_id_actions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_action_versions')),
    sa.UniqueConstraint('action_id', 'version', name=op.f('uq_action_versions_action_id'))
    )


def downgrade() -> None:
    """Downgrade schema (refused while a user has the board role: users are never deleted)."""
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT count(*) FROM users WHERE role = 'board'")).scalar():
        raise RuntimeError("Users with the board role exist and users are never deleted (the audit trail "
                           "names them): this revision cannot be undone on this database.")
    op.drop_table('action_versions')
    op.drop_table('action_children')
    op.drop_table('board_packs')
    op.drop_index('ix_analysis_versions_period_level_unit', table_name='analysis_versions')
    op.drop_table('analysis_versions')
    op.drop_index('ix_actions_status_due_date', table_name='actions')
    op.drop_index(op.f('ix_actions_owner_user'), table_name='actions')
    op.drop_index('ix_actions_kpi_level_unit', table_name='actions')
    op.drop_table('actions')
    _roles(ROLES_BEFORE)
