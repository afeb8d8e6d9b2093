"""The account commands an operator runs: users create / ensure-admin / set-password, tokens create / list / revoke."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from service import create_app
from service.store.auth import check_password
from service.store.models import AuditEntry, User


@pytest.fixture
def app(store):
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": store.url,
                      "FILE_STORE": str(store.files.root)})
    app.extensions["jth_store"] = store
    return app


def run(app, *args: str, stdin: str | None = None):
    """The command; a ``--password X`` in a test becomes ``--password-stdin`` with X on stdin, as people use it."""
    args = list(args)
    if "--password" in args:
        i = args.index("--password")
        stdin = args[i + 1] + "\n"
        args[i:i + 2] = ["--password-stdin"]
    return app.test_cli_runner().invoke(args=args, input=stdin)


def can_log_in(store, username: str, password: str) -> bool:
    with store.session() as s:
        return check_password(s, username, password) is not None


def test_first_administrator_password_is_shown_once(app, store):
    first = run(app, "users", "ensure-admin")
    assert first.exit_code == 0, first.output
    password = re.search(r"初始密码：(\S+)（只显示这一次", first.output).group(1)
    with store.session() as s:  # the first administrator's one-time password must be changed too
        assert s.query(User).filter_by(username="admin").one().must_change_password
    assert can_log_in(store, "admin", password)
    again = run(app, "users", "ensure-admin")
    assert again.exit_code == 0 and password not in again.output and "users set-password" in again.output


def test_users_create_refuses_weak_passwords_and_unknown_units(app, store):
    weak = run(app, "users", "create", "辽宁", "--role", "recommender", "--entity", "edu-ln", "--password", "12345678")
    assert weak.exit_code != 0 and "至少 10 位" in weak.output
    unknown = run(app, "users", "create", "xy", "--role", "recommender", "--entity", "edu-zz", "--password", "a-b-c-d-e-f")
    assert unknown.exit_code != 0 and "edu-zz" in unknown.output
    ok = run(app, "users", "create", "辽宁", "--role", "recommender", "--entity", "edu-ln", "--password", "省厅职教处-2020-ok")
    assert ok.exit_code == 0 and can_log_in(store, "辽宁", "省厅职教处-2020-ok")
    twice = run(app, "users", "create", "辽宁", "--role", "school", "--password", "另一个密码-2020")
    assert twice.exit_code != 0 and "ACCOUNT_EXISTS" in twice.output and "已被使用" in twice.output


def test_set_password_replaces_the_old_one_and_is_audited(app, store):
    run(app, "users", "create", "大连", "--role", "recommender", "--entity", "city-dl", "--password", "市局职教处-2020-ok")
    reset = run(app, "users", "set-password", "大连")
    assert reset.exit_code == 0, reset.output
    password = re.search(r"密码：(\S+)（只显示这一次", reset.output).group(1)
    assert can_log_in(store, "大连", password) and not can_log_in(store, "大连", "市局职教处-2020-ok")
    assert run(app, "users", "set-password", "nobody").exit_code != 0
    assert "至少 10 位" in run(app, "users", "set-password", "大连", "--password", "short").output
    with store.session() as s:
        assert s.scalars(select(AuditEntry.action).where(AuditEntry.action == "password_reset")).all() == [
            "password_reset"]


def test_a_revoked_token_stops_working_at_once(app, store):
    run(app, "users", "create", "平台", "--role", "admin", "--password", "管理员-口令-2020-ok")
    token = run(app, "tokens", "create", "平台", "--name", "技术平台同步").output.strip()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200

    listed = run(app, "tokens", "list")
    assert listed.exit_code == 0 and "技术平台同步" in listed.output and "有效" in listed.output
    assert token not in listed.output  # only its digest is kept
    token_id = listed.output.split("\t", 1)[0]
    revoked = run(app, "tokens", "revoke", token_id)
    assert revoked.exit_code == 0 and f"已吊销令牌 {token_id}" in revoked.output
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401 and response.get_json()["error"]["message"]
    assert "已吊销" in run(app, "tokens", "list", "平台").output
    missing = run(app, "tokens", "revoke", "999")
    assert missing.exit_code != 0 and "没有编号为 999 的令牌" in missing.output


def test_a_password_is_never_an_argument(app):
    result = run(app, "users", "create", "x1", "--role", "admin", "--password=秘密-口令-2020-ok")
    assert result.exit_code != 0 and "--password" in result.output


def test_accounts_for_a_whole_campaign_with_a_sheet_of_one_time_passwords(app, store, tmp_path):
    import openpyxl

    sheet = tmp_path / "账号.xlsx"
    made = run(app, "users", "create-for-campaign", "ln-2018", "-o", str(sheet))
    assert made.exit_code == 0 and "已创建 14 个账号" in made.output, made.output
    rows = list(openpyxl.load_workbook(sheet).active.iter_rows(min_row=4, values_only=True))
    assert len(rows) == 14 and all(isinstance(r[3], str) and len(r[3]) == 14 for r in rows)
    unit, username, password = rows[0][1], rows[0][2], rows[0][3]
    assert can_log_in(store, username, password)
    with store.session() as s:
        user = s.query(User).filter_by(username=username).one()
        assert user.must_change_password and user.display_name == unit and user.entity_id == username
    again = run(app, "users", "create-for-campaign", "ln-2018")
    assert again.exit_code == 0 and "已创建 0 个账号" in again.output  # nobody gets a second account
