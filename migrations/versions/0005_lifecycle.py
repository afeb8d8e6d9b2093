"""submission lifecycle: held states, reassignment, comment threads, recommenders' letter order

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 07:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("state", sa.String(length=20), nullable=False, server_default=""))
        batch.add_column(sa.Column("state_note", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("state_by", sa.String(length=80), nullable=False, server_default=""))
        batch.add_column(sa.Column("state_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("reassigned_to", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_submission_reassigned_to", "submissions", ["reassigned_to"], ["id"])
    with op.batch_alter_table("review_decisions") as batch:
        batch.add_column(sa.Column("carried_from", sa.Integer(), nullable=True))
    # Files refused for who sent them were filed as 不予受理 submissions of the unit; they are uploads.
    op.execute("UPDATE submissions SET status = 'misdirected' WHERE status = 'rejected' "
               "AND CAST(report AS TEXT) LIKE '%SUBMITTER_MISMATCH%'")
    op.create_table(
        "comments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("campaign_id", sa.String(length=40), nullable=False),
        sa.Column("recommender_id", sa.String(length=60), nullable=False),
        sa.Column("form_id", sa.String(length=60), nullable=True),
        sa.Column("entity_key", sa.String(length=300), nullable=False),
        sa.Column("submission_id", sa.Integer(), sa.ForeignKey("submissions.id"), nullable=False),
        sa.Column("author", sa.String(length=80), nullable=False),
        sa.Column("author_role", sa.String(length=20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_comment_thread", "comments", ["campaign_id", "recommender_id", "form_id", "entity_key"])
    op.create_table(
        "letter_orders",
        sa.Column("campaign_id", sa.String(length=40), primary_key=True),
        sa.Column("recommender_id", sa.String(length=60), primary_key=True),
        sa.Column("entity_keys", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("letter_orders")
    op.drop_index("ix_comment_thread", table_name="comments")
    op.drop_table("comments")
    op.execute("UPDATE submissions SET status = 'rejected' WHERE status = 'misdirected'")
    with op.batch_alter_table("review_decisions") as batch:
        batch.drop_column("carried_from")
    with op.batch_alter_table("submissions") as batch:
        batch.drop_constraint("fk_submission_reassigned_to", type_="foreignkey")
        for column in ("reassigned_to", "state_at", "state_by", "state_note", "state"):
            batch.drop_column(column)
