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


@pytest.fixture(scope="session")
def lo_profile(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("lo-profile")
