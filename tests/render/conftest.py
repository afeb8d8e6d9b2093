"""Fixtures shared by the template tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    """The ``flask`` command line of an app on a store of its own, one per module (the template tests run many
    commands against folders of their own, never against the store)."""
    from service import create_app
    from tests.support.samples import new_store

    store = new_store(tmp_path_factory.mktemp("store"))
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": store.url,
                      "FILE_STORE": str(store.files.root)})
    app.extensions["jth_store"] = store
    yield app.test_cli_runner()
    store.dispose()
