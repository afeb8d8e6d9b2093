"""Document automation for the 示范性职业教育集团（联盟） campaigns: generate, collect and check forms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then ``instance/config.py``, then the caller's overrides."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY="dev-only-change-me",
        MAX_CONTENT_LENGTH=20 * 1024 * 1024,
        JSON_AS_ASCII=False,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=8 * 3600,
        WTF_CSRF_TIME_LIMIT=8 * 3600,
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("JTH")
    else:
        app.config.from_mapping(test_config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.json.ensure_ascii = False

    from . import api, cli, export_cli, public, store_cli

    app.register_blueprint(public.bp)
    app.register_blueprint(api.bp)
    cli.init_app(app)
    store_cli.init_app(app)
    export_cli.init_app(app)
    from .web import init_web

    init_web(app)
    if app.config.get("JOBS_AUTOSTART"):
        # Under the web server (scripts/run.sh sets JTH_JOBS_AUTOSTART): a job worker thread per process that
        # resumes unfinished jobs; claims in the database keep two processes off the same job.
        from .web.admin import runner

        with app.app_context():
            runner().start()
    return app
