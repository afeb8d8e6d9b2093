"""The command line, one module per command: ``flask forms …`` (the forms), ``init-db``, ``users …``,
``tokens …``, ``ingest``, ``submissions …`` (the lifecycle's actions), and ``export`` / ``compile`` (what was submitted, taken out). Command names and options
are fixed: scripts, deployments and people call them."""

from __future__ import annotations

from typing import Any

import click
from flask import Flask

from service.cli import backup, db, export, forms, ingest, mailin, notices, submissions, tokens, users, worker
from service.forms.datafile import DataError


def _data_errors_in_words(command: click.Command) -> click.Command:
    """A mistake in the data files (campaigns, lists, schemas) ends any command with its Chinese message, naming
    the file and the place, and exit status 1: never a traceback. A group's invoke runs its subcommands, so
    wrapping the top-level commands covers them all."""
    invoke = command.invoke

    def guarded(ctx: click.Context) -> Any:
        try:
            return invoke(ctx)
        except DataError as exc:
            raise click.ClickException(f"数据文件有误，请改正后再运行：\n{exc}") from None

    command.invoke = guarded  # type: ignore[method-assign]
    return command


def init_app(app: Flask) -> None:
    """Register every command on the app's ``flask`` command line."""
    for command in (forms.forms, db.init_db, users.users, tokens.tokens, ingest.ingest, export.export,
                    export.compile_command, submissions.submissions, notices.notices, mailin.mail, worker.worker,
                    backup.backup):
        if not getattr(command, "_jth_guarded", False):  # the commands are module objects, shared by every app
            _data_errors_in_words(command)
            command._jth_guarded = True  # type: ignore[attr-defined]
        app.cli.add_command(command)
