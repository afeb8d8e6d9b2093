"""form drafts: forms being made in the form designer, from an uploaded document to a published form

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "form_drafts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("campaign_id", sa.String(length=40), nullable=False),
        sa.Column("form_id", sa.String(length=60), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("annex", sa.String(length=40), nullable=False),
        sa.Column("one_per", sa.String(length=20), nullable=False),
        sa.Column("filename", sa.String(length=400), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("document_sha256", sa.String(length=64), sa.ForeignKey("stored_files.sha256"), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("schema", sa.JSON(), nullable=False),
        sa.Column("pages", sa.JSON(), nullable=False),
        sa.Column("picture_note", sa.Text(), nullable=False),
        sa.Column("preview", sa.JSON(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("version", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(length=80), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("form_drafts")
