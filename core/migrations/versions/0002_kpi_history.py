"""KPI history: each day's figures as published (scheduler/history.py).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 20:45:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    if sa.inspect(op.get_bind()).has_table('kpi_history'):
        return  # a database made by create_all before the migrations existed, already stamped 0001
    op.create_table('kpi_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reported_on', sa.Date(), nullable=False),
    sa.Column('run_id', sa.String(length=40), nullable=False),
    sa.Column('extract_date', sa.Date(), nullable=False),
    sa.Column('date_from', sa.Date(), nullable=False),
    sa.Column('date_to', sa.Date(), nullable=False),
    sa.Column('kpi', sa.String(length=64), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('unit', sa.String(length=200), nullable=False),
    sa.Column('numerator', sa.Integer(), nullable=True),
    sa.Column('denominator', sa.Float(), nullable=True),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('stored_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kpi_history')),
    sa.UniqueConstraint('reported_on', 'kpi', 'level', 'unit', name=op.f('uq_kpi_history_reported_on'))
    )
    op.create_index(op.f('ix_kpi_history_reported_on'), 'kpi_history', ['reported_on'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f('ix_kpi_history_reported_on'), table_name='kpi_history')
    op.drop_table('kpi_history')
