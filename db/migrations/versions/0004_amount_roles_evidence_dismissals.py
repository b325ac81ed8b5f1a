"""fact and change: amounts with their roles, the time of a fact's newest evidence, the
state a change replaced, and dismissals

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 10:00:00

``fact.evidence_at`` of the facts already stored stays empty: their pages' publication
times were kept in each page's own zone, which SQLite drops, so they cannot be trusted to
the hour; the next page that tells something of a fact sets it. ``change.prior`` of the
changes already stored is their ``before``, so they can be dismissed too.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('fact', schema=None) as batch_op:
        batch_op.add_column(sa.Column('amounts', sa.JSON(), nullable=False,
                                      server_default='[]'))
        batch_op.add_column(sa.Column('evidence_at', sa.DateTime(timezone=True),
                                      nullable=True))
    with op.batch_alter_table('change', schema=None) as batch_op:
        batch_op.add_column(sa.Column('amounts', sa.JSON(), nullable=False,
                                      server_default='[]'))
        batch_op.add_column(sa.Column('prior', sa.JSON(), nullable=False,
                                      server_default='{}'))
        batch_op.add_column(sa.Column('dismissed_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('dismiss_reason',
                                      sqlmodel.sql.sqltypes.AutoString(length=500),
                                      nullable=True))
        batch_op.create_index(batch_op.f('ix_change_dismissed_at'), ['dismissed_at'],
                              unique=False)
    # A change stored before this revision: the values it replaced are its own before.
    op.execute("UPDATE change SET prior = before WHERE type = 'changed'")


def downgrade() -> None:
    with op.batch_alter_table('change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_change_dismissed_at'))
        batch_op.drop_column('dismiss_reason')
        batch_op.drop_column('dismissed_at')
        batch_op.drop_column('prior')
        batch_op.drop_column('amounts')
    with op.batch_alter_table('fact', schema=None) as batch_op:
        batch_op.drop_column('evidence_at')
        batch_op.drop_column('amounts')
