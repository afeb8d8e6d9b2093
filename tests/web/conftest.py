"""Browser fixtures: the service on a real port, and a chromium page (Playwright) to drive it."""

from __future__ import annotations

import threading

import pytest
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from service import create_app
from service.store.auth import create_user
from tests.support.browser import ARTIFACTS, CHROMIUM_ARGS, PASSWORD


@pytest.fixture
def live_app(store):
    """The service as it runs (not in testing mode: errors get their pages), with a recommender (``liaoning``)
    and an admin (``admin``). A test module may override it to add a route before the server starts."""
    with store.session.begin() as s:
        create_user(s, "liaoning", PASSWORD, "recommender", "edu-ln", "辽宁省教育厅")
        create_user(s, "admin", PASSWORD, "admin", None, "平台管理员")
    app = create_app({"SECRET_KEY": "browser-test", "DATABASE_URL": store.url, "FILE_STORE": str(store.files.root)})
    app.extensions["jth_store"] = store
    return app


@pytest.fixture
def server(live_app):
    """``live_app`` on 127.0.0.1 at a free port; yields its base URL."""
    httpd = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


@pytest.fixture
def browser_page():
    """A chromium page at 1280×900, Chinese locale, downloads allowed."""
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}, accept_downloads=True)
        page = context.new_page()
        yield page
        context.close()
        browser.close()
