"""``flask init-db``: the database migrated to the newest schema, and the campaigns and reference lists loaded.

Run on every deployment (scripts/run.sh does); it is safe to run again.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from service.store import store_for


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """迁移数据库到最新版本，并载入征集活动与参考名单。"""
    store = store_for(current_app)
    store.migrate()
    campaigns, rows = store.load_reference()
    click.echo(f"数据库已就绪：{store.url.split('@')[-1]}；载入 {campaigns} 个征集活动、{rows} 条名单记录。")
