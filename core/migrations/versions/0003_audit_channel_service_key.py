"""Security review: the audit trail says through which door (api, dashboard, cli, scheduler); the
service key the dashboard uses to vouch for the browser's address to the API (core/client_address.py).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 06:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    # A database made by create_all before the migrations existed (stamped 0001) may have both already.
    inspector = sa.inspect(op.get_bind())
    if 'channel' not in {c['name'] for c in inspector.get_columns('audit_log')}:
        op.add_column('audit_log', sa.Column('channel', sa.String(length=16), nullable=True))
    if inspector.has_table('service_keys'):
        return
    op.create_table('service_keys',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('secret', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_service_keys'))
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('service_keys')
    with op.batch_alter_table('audit_log') as batch_op:
        batch_op.drop_column('channel')
