"""mail in: e-mails read from the mail-in mailbox, taken once by Message-ID, with the reply to their sender

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mail_messages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("message_id", sa.String(length=400), nullable=False),
        sa.Column("sender", sa.String(length=200), nullable=False),
        sa.Column("sender_name", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=400), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("raw_sha256", sa.String(length=64), sa.ForeignKey("stored_files.sha256"), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("unit", sa.String(length=60), nullable=True),
        sa.Column("assigned_by", sa.String(length=80), nullable=False),
        sa.Column("upload_ids", sa.JSON(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reply_state", sa.String(length=20), nullable=False),
        sa.Column("reply_attempts", sa.Integer(), nullable=False),
        sa.Column("reply_error", sa.Text(), nullable=False),
        sa.Column("reply_next_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("replied_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("message_id"),
    )
    op.create_index("ix_mail_state", "mail_messages", ["state"])
    op.create_index("ix_mail_reply_due", "mail_messages", ["reply_state", "reply_next_at"])


def downgrade() -> None:
    op.drop_index("ix_mail_reply_due", table_name="mail_messages")
    op.drop_index("ix_mail_state", table_name="mail_messages")
    op.drop_table("mail_messages")
