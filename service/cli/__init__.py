"""The command line: ``flask forms …`` (the forms), the store's commands (init-db, users, tokens, ingest) and the
commands that take submissions out (export, compile)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from service.cli import export, forms, store

    forms.init_app(app)
    store.init_app(app)
    export.init_app(app)
