"""Every action × every surface that offers it (the pages, the API, the CLI): the same effect and the same audit
entry, because each surface only translates a request into the one use case in ``service.actions``.

Each row of ACTIONS prepares a submission, names the effect a user cares about and the audit entries the action
must leave (actor, action, target); each surface runs it on a fresh store. Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from service import create_app
from service.actions.intake import receive
from service.actions.shapes import detail_of
from service.render.form import render
from service.store.auth import create_token, create_user
from service.store.models import AuditEntry, Comment, Submission
from tests.support import docx_edit as de
from tests.support.samples import sample

PASSWORD = "parity-password-9"
ON_TIME = dt.datetime(2020, 11, 20, 8, tzinfo=dt.UTC)
LATE = dt.datetime(2020, 11, 26, 8, tzinfo=dt.UTC)


def _letter(**changes) -> bytes:
    return render("jth-2020", "recommendation_letter", {**sample("recommendation_letter"), **changes}).content


def _send(store, data: bytes, who: str = "edu-ln", at: dt.datetime = ON_TIME, name: str = "推荐书.docx") -> int:
    return receive(store, data, name, campaign_id="jth-2020", recommender_id=who, uploader=who,
                   received_at=at).submission_id


def plain(store) -> int:
    return _send(store, _letter())


def late(store) -> int:
    return _send(store, _letter(), at=LATE)


def unreadable(store) -> int:
    return _send(store, b"PK\x03\x04 broken", name="坏文件.docx")


def misdirected(store) -> int:
    return _send(store, _letter(), who="edu-tj")  # 辽宁's letter ingested under 天津


def withdrawn(store) -> int:
    from service.actions.actor import Actor
    from service.actions.withdraw import withdraw

    sub_id = plain(store)
    withdraw(store, sub_id, Actor("setup", "admin"))
    return sub_id


def both_ticked(store) -> int:
    return _send(store, de.edit(_letter(), lambda r: de.set_text(de.right_of(r, "是否具有法人资格"), "☑是　☑否")))


def _status(store, sub_id: int) -> str:
    with store.session() as s:
        return s.get(Submission, sub_id).status


@dataclass
class Case:
    name: str
    setup: Callable[[Any], int]
    page: Callable[[Any, int], Any] | None
    api: Callable[[Any, dict[str, str], int], Any] | None
    cli: Callable[[int, Any], list[str]] | None
    effect: Callable[[Any, int], None]
    audit: list[str]  # the audit actions the acting user leaves, in order
    user: str = "admin"  # who acts (the audit's actor)


def _state_page(action: str, **form):
    return lambda client, sub_id: client.post(f"/r/submissions/{sub_id}/state", data={"action": action, **form})


def _state_api(action: str, **body):
    return lambda client, headers, sub_id: client.post(f"/api/v1/submissions/{sub_id}/{action}", json=body,
                                                       headers=headers)


def _returned(store, sub_id):
    detail = detail_of(store, sub_id)
    assert detail["status"] == "returned" and detail["state_note"] == "请补充联系人" and detail["state_by"] == "admin"


def _reassigned(store, sub_id):
    detail = detail_of(store, sub_id)
    assert detail["status"] == "reassigned"
    moved = detail_of(store, detail["reassigned_to"])
    assert moved["recommender"] == "edu-ln" and moved["status"] != "misdirected"


def _commented(store, sub_id):
    with store.session() as s:
        assert [(c.author, c.author_role, c.body) for c in s.scalars(select(Comment))] == [("admin", "staff", "请核对")]


def _confirmed(store, sub_id):
    detail = detail_of(store, sub_id)
    assert detail["status"] != "late" and [d["path"] for d in detail["decisions"]] == ["#SUBMISSION_LATE"]
    assert detail["decisions"][0]["note"] == "经批准延期" and detail["decisions"][0]["user"] == "admin"


def _decided(store, sub_id):
    detail = detail_of(store, sub_id)
    assert detail["record"]["legal_person"] == "否"
    assert [(d["path"], d["value"], d["user"]) for d in detail["decisions"]] == [("legal_person", "否", "admin")]


def two_letters(store) -> int:
    first = plain(store)
    _send(store, _letter(group_name="辽宁海洋经济职业教育集团"), name="推荐书2.docx")
    return first


def _reordered(store, sub_id):
    from service.actions.actor import Actor
    from service.actions.letter_order import letter_order

    letters = letter_order(store, "jth-2020", Actor("x", "admin"), "edu-ln")["letters"]
    assert [x["rank"] for x in letters if x["id"] == sub_id] == [2]


def _nothing_changed(store, sub_id):
    assert _status(store, sub_id) in ("accepted", "needs_review")


CASES = [
    Case("return", plain, _state_page("return", note="请补充联系人"), _state_api("return", message="请补充联系人"),
         lambda i, tmp: ["submissions", "return", str(i), "--message", "请补充联系人", "--by", "admin"],
         _returned, ["return"]),
    Case("withdraw", plain, _state_page("withdraw", note="重复推荐"), _state_api("withdraw", reason="重复推荐"),
         lambda i, tmp: ["submissions", "withdraw", str(i), "--reason", "重复推荐", "--by", "admin"],
         lambda store, i: _status(store, i) == "withdrawn" or pytest.fail("not withdrawn"), ["withdraw"]),
    Case("restore", withdrawn, _state_page("restore"), _state_api("restore"),
         lambda i, tmp: ["submissions", "restore", str(i), "--by", "admin"],
         lambda store, i: _status(store, i) in ("accepted", "needs_review") or pytest.fail("not restored"),
         ["restore"]),
    Case("dismiss", unreadable, _state_page("dismiss", note="传错"), _state_api("dismiss", reason="传错"),
         lambda i, tmp: ["submissions", "dismiss", str(i), "--reason", "传错", "--by", "admin"],
         lambda store, i: _status(store, i) == "dismissed" or pytest.fail("not dismissed"), ["dismiss"]),
    Case("reassign", misdirected, _state_page("reassign", to="edu-ln"), _state_api("reassign", to="edu-ln"),
         lambda i, tmp: ["submissions", "reassign", str(i), "--to", "edu-ln", "--by", "admin"],
         _reassigned, ["submit", "reassign"]),
    Case("comment", plain, lambda c, i: c.post(f"/r/submissions/{i}/comments", data={"body": "请核对"}),
         lambda c, h, i: c.post(f"/api/v1/submissions/{i}/comments", json={"body": "请核对"}, headers=h),
         lambda i, tmp: ["submissions", "comment", str(i), "--body", "请核对", "--by", "admin"],
         _commented, ["comment"]),
    Case("confirm", late,
         lambda c, i: c.post("/admin/confirm", data={"campaign": "jth-2020", "code": "SUBMISSION_LATE",
                                                     "reason": "经批准延期"}),
         lambda c, h, i: c.post("/api/v1/campaigns/jth-2020/confirm", headers=h,
                                json={"code": "SUBMISSION_LATE", "reason": "经批准延期"}),
         lambda i, tmp: ["submissions", "confirm", "--campaign", "jth-2020", "--code", "SUBMISSION_LATE",
                         "--reason", "经批准延期", "--by", "admin"],
         _confirmed, ["confirm"]),
    Case("review", both_ticked,
         lambda c, i: c.post(f"/admin/review/{i}", data={"path": "legal_person", "action": "accept", "value": "否"}),
         lambda c, h, i: c.post(f"/api/v1/submissions/{i}/review", headers=h,
                                json={"path": "legal_person", "action": "accept", "value": "否"}),
         None, _decided, ["review"]),
    Case("download", plain, lambda c, i: c.get(f"/r/submissions/{i}/file"),
         lambda c, h, i: c.get(f"/api/v1/submissions/{i}/file", headers=h), None, _nothing_changed, ["download"]),
    Case("export", plain, lambda c, i: c.get("/admin/exports/jth-2020/json"),
         lambda c, h, i: c.get("/api/v1/campaigns/jth-2020/export?format=json", headers=h),
         lambda i, tmp: ["export", "--campaign", "jth-2020", "--format", "json", "-o", str(tmp / "out.json"),
                         "--by", "admin"],
         _nothing_changed, ["export"]),
]
CASES += [
    Case("order_letters", two_letters,
         lambda c, i: c.post("/r/campaigns/jth-2020/order", data={f"rank-{i}": "2", f"rank-{i + 1}": "1"}),
         lambda c, h, i: c.put("/api/v1/campaigns/jth-2020/letter-order", headers=h, json={"submissions": [i + 1, i]}),
         None, _reordered, ["order_letters"], user="liaoning"),
    Case("prefilled_summary", two_letters, lambda c, i: c.get("/r/campaigns/jth-2020/summary.xlsx"),
         lambda c, h, i: c.get("/api/v1/campaigns/jth-2020/prefilled-summary.xlsx", headers=h),
         None, _nothing_changed, ["download_prefilled_summary"], user="liaoning"),
]
SURFACES = ("page", "api", "cli")
MATRIX = [pytest.param(case, surface, id=f"{case.name}-{surface}")
          for case in CASES for surface in SURFACES if getattr(case, surface) is not None]


@pytest.fixture
def site(store):
    with store.session.begin() as s:
        tokens = {}
        for name, role, unit in (("admin", "admin", None), ("liaoning", "recommender", "edu-ln")):
            user = create_user(s, name, PASSWORD, role, unit, name)
            tokens[name] = {"Authorization": f"Bearer {create_token(s, user, 'parity')}"}
    app = create_app({"TESTING": True, "SECRET_KEY": "parity", "WTF_CSRF_ENABLED": False, "DATABASE_URL": store.url,
                      "FILE_STORE": str(store.files.root)})
    app.extensions["jth_store"] = store
    return app, tokens


@pytest.mark.parametrize(("case", "surface"), MATRIX)
def test_same_effect_and_audit_on_every_surface(site, store, tmp_path, case: Case, surface: str):
    app, tokens = site
    headers = tokens[case.user]
    sub_id = case.setup(store)
    client = app.test_client()
    if surface == "page":
        assert client.post("/login", data={"username": case.user, "password": PASSWORD}).status_code == 302
    with store.session() as s:
        before = s.scalar(select(func.max(AuditEntry.id))) or 0
    if surface == "page":
        response = case.page(client, sub_id)
        assert response.status_code in (200, 302, 303), response.data[:500]
        if response.status_code == 303:  # the page it leads to says what happened, and it is no refusal
            shown = client.get(response.headers["Location"]).get_data(as_text=True)
            assert "不能" not in shown and "无权" not in shown, shown
    elif surface == "api":
        response = case.api(client, headers, sub_id)
        assert response.status_code in (200, 201), response.get_data(as_text=True)[:500]
    else:
        result = app.test_cli_runner().invoke(args=case.cli(sub_id, tmp_path))
        assert result.exit_code == 0, result.output
    case.effect(store, sub_id)
    with store.session() as s:
        entries = list(s.scalars(select(AuditEntry).where(AuditEntry.id > before, AuditEntry.actor == case.user)
                                 .order_by(AuditEntry.id)))
    assert [e.action for e in entries if e.action not in ("login",)] == case.audit, [
        (e.action, e.target, e.detail) for e in entries]


def test_the_table_covers_every_lifecycle_action_on_every_surface():
    """A new action in data/lifecycle/states.json must get a row here, with the page, the API and the CLI."""
    from service.store.lifecycle import transitions

    covered = {c.name for c in CASES if c.page and c.api and c.cli}
    assert set(transitions()) <= covered, set(transitions()) - covered


def test_the_page_json_and_the_api_give_one_shape(site, store):
    app, tokens = site
    headers = tokens["admin"]
    sub_id = plain(store)
    client = app.test_client()
    client.post("/login", data={"username": "admin", "password": PASSWORD})
    page = client.get(f"/r/submissions/{sub_id}?format=json").get_json()
    api = client.get(f"/api/v1/submissions/{sub_id}", headers=headers).get_json()
    shared = dict(api)
    assert {k: page[k] for k in shared} == shared  # the page adds page-only keys, never different values
    assert api["received_at"].endswith("+00:00") and json.dumps(api, ensure_ascii=False)


# -- accounts: the same table for the staff's account actions ----------------------------------------------------

def _unit_account(store) -> int:
    with store.session.begin() as s:
        user = create_user(s, "edu-ln", PASSWORD, "recommender", "edu-ln", "辽宁省教育厅")
        return user.id


def _user(store, username: str):
    from service.store.models import User

    with store.session() as s:
        return s.scalar(select(User).where(User.username == username))


ACCOUNT_CASES = [
    ("create", lambda store: None,
     lambda c: c.post("/admin/accounts/", data={"username": "city-dl", "role": "recommender", "entity": "city-dl"}),
     lambda c, h: c.post("/api/v1/users", headers=h, json={"username": "city-dl", "role": "recommender",
                                                          "entity": "city-dl"}),
     ["users", "create", "city-dl", "--role", "recommender", "--entity", "city-dl", "--by", "admin"],
     lambda store: _user(store, "city-dl").must_change_password, ["account_create"]),
    ("campaign", lambda store: None,
     lambda c: c.post("/admin/accounts/campaign", data={"campaign": "ln-2018"}),
     lambda c, h: c.post("/api/v1/campaigns/ln-2018/accounts", headers=h),
     ["users", "create-for-campaign", "ln-2018", "--by", "admin"],
     lambda store: _user(store, "ln-08") is not None and _user(store, "ln-08").must_change_password,
     ["accounts_create"]),
    ("reset", _unit_account, lambda c: c.post("/admin/accounts/edu-ln/reset"),
     lambda c, h: c.post("/api/v1/users/edu-ln/reset-password", headers=h),
     ["users", "set-password", "edu-ln", "--by", "admin"],
     lambda store: _user(store, "edu-ln").must_change_password, ["password_reset"]),
    ("disable", _unit_account, lambda c: c.post("/admin/accounts/edu-ln/disable"),
     lambda c, h: c.post("/api/v1/users/edu-ln/disable", headers=h), ["users", "disable", "edu-ln", "--by", "admin"],
     lambda store: _user(store, "edu-ln").disabled, ["account_disable"]),
    ("unlock", _unit_account, lambda c: c.post("/admin/accounts/edu-ln/unlock"),
     lambda c, h: c.post("/api/v1/users/edu-ln/unlock", headers=h), ["users", "unlock", "edu-ln", "--by", "admin"],
     lambda store: True, ["unlock"]),
]


@pytest.mark.parametrize(("name", "setup", "page", "api", "cli", "effect", "audit"),
                         [pytest.param(*case, id=case[0]) for case in ACCOUNT_CASES])
@pytest.mark.parametrize("surface", SURFACES)
def test_account_actions_on_every_surface(site, store, name, setup, page, api, cli, effect, audit, surface):
    app, tokens = site
    setup(store)
    client = app.test_client()
    if surface == "page":
        assert client.post("/login", data={"username": "admin", "password": PASSWORD}).status_code == 302
    with store.session() as s:
        before = s.scalar(select(func.max(AuditEntry.id))) or 0
    if surface == "page":
        response = page(client)
        assert response.status_code in (200, 303), response.data[:300]
    elif surface == "api":
        response = api(client, tokens["admin"])
        assert response.status_code in (200, 201), response.get_data(as_text=True)[:300]
    else:
        result = app.test_cli_runner().invoke(args=cli)
        assert result.exit_code == 0, result.output
    assert effect(store)
    with store.session() as s:
        entries = [e.action for e in s.scalars(select(AuditEntry).where(
            AuditEntry.id > before, AuditEntry.actor == "admin").order_by(AuditEntry.id)) if e.action != "login"]
    assert entries == audit
