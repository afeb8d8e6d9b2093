"""The notices pages: "通知（N）" in every page's header, the list with mark-as-read, and the staff's settings page
that says whether e-mail is sent and shows the sends that failed."""

from __future__ import annotations

import datetime as dt
import re
import socket

import pytest
from sqlalchemy import select

from service import create_app
from service.actions.actor import Actor
from service.actions.intake import receive
from service.actions.return_for_changes import return_for_changes
from service.jobs.mail import mail_settings, send_due
from service.render.form import render
from service.store.auth import create_user
from service.store.models import AuditEntry, Notice
from tests.support.samples import sample

PASSWORD = "notice-pages-password-1"
USERS = {"liaoning": ("recommender", "edu-ln", "ln@example.cn"), "tianjin": ("recommender", "edu-tj", ""),
         "admin": ("admin", None, "staff@example.cn")}


def _app(store, **config):
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False, "DATABASE_URL": store.url,
                      "FILE_STORE": str(store.files.root), **config})
    app.extensions["jth_store"] = store
    return app


@pytest.fixture
def returned(store) -> int:
    """辽宁's letter, returned for changes by staff: 辽宁 has one unread notice."""
    with store.session.begin() as s:
        for name, (role, unit, mail) in USERS.items():
            create_user(s, name, PASSWORD, role, unit).email = mail
    data = render("jth-2020", "recommendation_letter", sample("recommendation_letter")).content
    sub = receive(store, data, "推荐书.docx", campaign_id="jth-2020", recommender_id="edu-ln", uploader="liaoning",
                  received_at=dt.datetime(2020, 11, 20, tzinfo=dt.UTC)).submission_id
    return_for_changes(store, sub, Actor("admin", "admin"), "请补充成员单位的联系人。")
    return sub


def _signed_in(app, name: str):
    client = app.test_client()
    assert client.post("/login", data={"username": name, "password": PASSWORD}).status_code == 302
    return client


def _header_count(html: str) -> int:
    found = re.search(r'<a href="/notices"[^>]*>通知（(\d+)）</a>', html)
    assert found, "the header links 通知（N） to /notices"
    return int(found.group(1))


def test_the_header_counts_unread_notices_and_the_list_marks_them_read(store, returned):
    app = _app(store)
    assert "通知（" not in app.test_client().get("/login").get_data(as_text=True)  # signed out: no notices
    unit = _signed_in(app, "liaoning")
    page = unit.get("/r/").get_data(as_text=True)
    assert _header_count(page) == 1

    listed = unit.get("/notices").get_data(as_text=True)
    assert "您报送的材料被退回修改" in listed and "请补充成员单位的联系人。" in listed
    assert f'href="/r/submissions/{returned}"' in listed and "未读" in listed
    [notice] = unit.get("/notices?format=json").get_json()["notices"]
    assert notice["read"] is False and notice["mail_state"] == "pending"

    other = _signed_in(app, "tianjin")
    assert other.get("/notices?format=json").get_json()["notices"] == []  # only one's own
    assert other.post("/notices/read", data={"id": notice["id"]}).status_code == 404  # another's looks absent
    assert _header_count(other.get("/notices").get_data(as_text=True)) == 0

    response = unit.post("/notices/read", data={"id": notice["id"]})
    assert response.status_code == 303 and response.headers["Location"] == "/notices"
    assert _header_count(unit.get("/notices").get_data(as_text=True)) == 0
    assert unit.get("/notices?format=json").get_json()["notices"][0]["read"] is True  # read, still listed


def test_the_lists_are_for_signed_in_people_and_the_settings_for_staff(store, returned):
    app = _app(store)
    anonymous = app.test_client()
    assert anonymous.get("/notices").status_code == 302
    assert anonymous.post("/notices/read").status_code == 401
    assert anonymous.get("/admin/settings").status_code == 302
    assert _signed_in(app, "liaoning").get("/admin/settings").status_code == 403
    assert _signed_in(app, "admin").get("/admin/settings").status_code == 200


def test_without_a_mail_server_the_settings_page_says_notices_stay_in_the_app(store, returned):
    staff = _signed_in(_app(store), "admin")
    page = staff.get("/admin/settings").get_data(as_text=True)
    assert "未配置邮件服务器：通知只在平台内显示，不发送电子邮件。" in page and "JTH_MAIL_SERVER" in page
    assert staff.get("/admin/settings?format=json").get_json()["mail"]["configured"] is False
    assert 'href="/admin/settings"' in page  # reachable from the header


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_staff_see_a_failed_send_and_have_it_retried(store, returned):
    port = _closed_port()  # nothing listens there: the mail server is down
    app = _app(store, MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_FROM="noreply@jth.example.cn",
               MAIL_PASSWORD="s3cret-smtp")
    assert send_due(store, mail_settings(app.config)).failed == 1
    staff = _signed_in(app, "admin")
    page = staff.get("/admin/settings").get_data(as_text=True)
    assert f"127.0.0.1:{port}" in page and "s3cret-smtp" not in page  # the server, never its password
    assert "发送失败 1 封" in page and "ln@example.cn" in page and "未能发出" in page
    as_json = staff.get("/admin/settings?format=json")
    [send] = as_json.get_json()["sends"]
    assert (send["state"], send["attempts"], send["user"]) == ("failed", 1, "liaoning")
    assert "s3cret-smtp" not in as_json.get_data(as_text=True)

    assert staff.post("/admin/settings/retry").status_code == 303
    with store.session() as s:
        notice = s.scalar(select(Notice).where(Notice.mail_state == "failed"))
        due = notice.next_attempt_at.replace(tzinfo=dt.UTC)
        assert due <= dt.datetime.now(dt.UTC)  # due again at the next round, attempts kept
        assert notice.attempts == 1
        assert s.scalar(select(AuditEntry.actor).where(AuditEntry.action == "mail_retry")) == "admin"
    assert "已安排重试 1 封" in staff.get("/admin/settings").get_data(as_text=True)
