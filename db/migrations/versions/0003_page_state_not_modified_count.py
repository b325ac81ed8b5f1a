"""page_state: not_modified_count (a followed page's 304s are counted, not logged)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 22:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('page_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('not_modified_count', sa.Integer(), nullable=False,
                                      server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('page_state', schema=None) as batch_op:
        batch_op.drop_column('not_modified_count')
