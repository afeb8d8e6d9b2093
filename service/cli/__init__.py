"""The command line, one module per command: ``flask forms …`` (the forms), ``init-db``, ``users …``,
``tokens …``, ``ingest``, ``submissions …`` (the lifecycle's actions), and ``export`` / ``compile`` (what was submitted, taken out). Command names and options
are fixed: scripts, deployments and people call them."""

from __future__ import annotations

from flask import Flask

from service.cli import backup, db, export, forms, ingest, mailin, notices, submissions, tokens, users, worker


def init_app(app: Flask) -> None:
    """Register every command on the app's ``flask`` command line."""
    for command in (forms.forms, db.init_db, users.users, tokens.tokens, ingest.ingest, export.export,
                    export.compile_command, submissions.submissions, notices.notices, mailin.mail, worker.worker,
                    backup.backup):
        app.cli.add_command(command)
