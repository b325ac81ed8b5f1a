"""outbox: alert_key (realert look-ups) and route (digests, quiet hours)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 21:35:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('alert_key', sqlmodel.sql.sqltypes.AutoString(length=600),
                                      nullable=True))
        batch_op.add_column(sa.Column('route', sqlmodel.sql.sqltypes.AutoString(length=100),
                                      nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_alert_key'), ['alert_key'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_alert_key'))
        batch_op.drop_column('route')
        batch_op.drop_column('alert_key')
