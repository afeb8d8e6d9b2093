"""Shared fixtures: the app, its client and CLI runner, the catalogue, and a LibreOffice runner."""

from __future__ import annotations

from pathlib import Path

import pytest

from service import create_app
from service.forms.catalog import catalog as load
from tests.support.samples import new_store


@pytest.fixture(scope="session")
def catalog():
    return load()


@pytest.fixture
def store(tmp_path):
    st = new_store(tmp_path)
    yield st
    st.dispose()


@pytest.fixture
def app(tmp_path, store):
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": store.url,
                      "FILE_STORE": str(store.files.root)})
    app.extensions["jth_store"] = store
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def inbox():
    """What the loopback SMTP server (``smtp``) received."""
    from tests.support.smtp import Inbox

    return Inbox()


@pytest.fixture
def smtp(inbox):
    """A real SMTP server on 127.0.0.1 at a free port (aiosmtpd), its messages in ``inbox``."""
    from tests.support.smtp import LoopbackSMTP

    server = LoopbackSMTP(inbox, hostname="127.0.0.1", port=0)
    server.start()
    yield server
    if server._thread is not None:
        server.stop()


@pytest.fixture(scope="session")
def lo_profile(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("lo-profile")


_MODULE_USES_DATABASE: dict[str, bool] = {}


def _uses_database(item) -> bool:
    """Whether a test reaches the database: through the ``store`` fixture (``app``, ``client``, ``server`` … all
    build on it), or a module-scoped store of its own (``new_store``, or a service started with DATABASE_URL)."""
    if "store" in getattr(item, "fixturenames", ()):
        return True
    path = str(item.path)
    if path not in _MODULE_USES_DATABASE:
        text = Path(path).read_text(encoding="utf-8")
        _MODULE_USES_DATABASE[path] = "new_store(" in text or "DATABASE_URL" in text
    return _MODULE_USES_DATABASE[path]


def pytest_collection_modifyitems(config, items):
    """On PostgreSQL (DATABASE_URL=postgresql…), the tests that reach the database: the rest read files and render
    documents exactly as on SQLite, where the first pass ran them. ``JTH_PG_EVERYTHING=1`` runs them all."""
    import os

    if not os.environ.get("DATABASE_URL", "").startswith("postgresql") or os.environ.get("JTH_PG_EVERYTHING"):
        return
    keep = [item for item in items if _uses_database(item)]
    dropped = [item for item in items if not _uses_database(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
