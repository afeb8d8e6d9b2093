"""The web pages through Flask's client: who may open what, login and CSRF, the web form, reports, markup."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

import pytest
from sqlalchemy import select

from service import create_app
from service.actions.intake import receive
from service.parse.pipeline import parse
from service.render.form import render
from service.store.auth import create_user
from service.store.models import AuditEntry, Submission
from tests.support.samples import sample

PASSWORD = "correct-horse-9"
SCAN = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
USERS = {  # role name in the matrix → (role, entity)
    "school": ("school", None),
    "provincial": ("recommender", "edu-ln"),
    "planned_city": ("recommender", "city-dl"),
    "hzw": ("recommender", "hzw-jixie"),
    "other_province": ("recommender", "edu-bj"),
    "admin": ("admin", None),
}
ROLES = ["anonymous", *USERS]


@pytest.fixture
def site(store, tmp_path):
    """An app with one user per role and one 推荐书 submitted by 辽宁省教育厅 (edu-ln): submission 1."""
    with store.session.begin() as s:
        for name, (role, entity) in USERS.items():
            create_user(s, name, PASSWORD, role, entity)
    receive(store, render("jth-2020", "recommendation_letter", sample("recommendation_letter")).content, "推荐书.docx",
            campaign_id="jth-2020", recommender_id="edu-ln", uploader="provincial",
            received_at=dt.datetime(2020, 11, 20, tzinfo=dt.UTC), attachments=[("stamped_scan", "盖章页.pdf", SCAN)])
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False, "DATABASE_URL": store.url,
                      "FILE_STORE": str(store.files.root)})
    app.extensions["jth_store"] = store
    return app


def client_as(app, role: str):
    client = app.test_client()
    if role != "anonymous":
        response = client.post("/login", data={"username": role, "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)
    return client


A, S, P, C, H, X, D = ROLES  # anonymous, school, provincial, planned_city, hzw, other_province, admin
OPEN = dict.fromkeys(ROLES, 200)
RECOMMENDERS_ONLY = {A: 302, S: 403, P: 200, C: 200, H: 200, X: 200, D: 403}
OWNER_OR_ADMIN = {A: 302, S: 403, P: 200, C: 404, H: 404, X: 404, D: 200}  # another unit: as if it did not exist
ADMIN_ONLY = {A: 302, S: 403, P: 403, C: 403, H: 403, X: 403, D: 200}
MATRIX = [
    ("GET", "/", OPEN),
    ("GET", "/campaigns/jth-2020", OPEN),
    ("GET", "/campaigns/ln-2018", OPEN),
    ("GET", "/campaigns/jth-2020/forms/recommendation_letter/fill", OPEN),
    ("GET", "/campaigns/ln-2018/forms/work_summary/download?entity=ln-08", OPEN),
    ("GET", "/campaigns/nope", dict.fromkeys(ROLES, 404)),
    ("GET", "/login", OPEN),
    ("GET", "/healthz", OPEN),
    ("GET", "/r/", RECOMMENDERS_ONLY),
    ("GET", "/r/upload", RECOMMENDERS_ONLY),
    ("GET", "/r/submissions/1", OWNER_OR_ADMIN),
    ("GET", "/r/submissions/1/file", OWNER_OR_ADMIN),
    ("GET", "/r/submissions/1/marked", OWNER_OR_ADMIN),
    ("GET", "/r/submissions/1/history", OWNER_OR_ADMIN),
    ("GET", "/r/submissions/1/attachments/1", OWNER_OR_ADMIN),
    ("GET", "/r/submissions/1/attachments/2", {**OWNER_OR_ADMIN, P: 404, D: 404}),
    ("GET", "/r/submissions/1/pictures/" + "0" * 64, {**OWNER_OR_ADMIN, P: 404, D: 404}),  # no such picture
    ("GET", "/r/submissions/999", {A: 302, S: 403, P: 404, C: 404, H: 404, X: 404, D: 404}),
    ("POST", "/r/submissions/1/attachments", {A: 401, S: 403, P: 302, C: 404, H: 404, X: 404, D: 302}),
    ("GET", "/admin/", ADMIN_ONLY),
    ("GET", "/admin/review", ADMIN_ONLY),
    ("GET", "/admin/exports", ADMIN_ONLY),
    ("GET", "/admin/ingest", ADMIN_ONLY),
    ("GET", "/admin/jobs/999", {**ADMIN_ONLY, D: 404}),
    ("GET", "/admin/jobs/999/result", {**ADMIN_ONLY, D: 404}),
    ("GET", "/account/password", {**dict.fromkeys(ROLES, 200), A: 302}),
    ("POST", "/account/password", {**dict.fromkeys(ROLES, 400), A: 401}),
    ("POST", "/admin/compile", {A: 401, S: 403, P: 403, C: 403, H: 403, X: 403, D: 400}),
    ("POST", "/admin/review/1", {A: 401, S: 403, P: 403, C: 403, H: 403, X: 403, D: 302}),
    ("GET", "/r/?format=json", {A: 401, S: 403, P: 200, C: 200, H: 200, X: 200, D: 403}),
    ("GET", "/r/uploads?u=1", {**RECOMMENDERS_ONLY, D: 200}),
    ("POST", "/r/submissions/1/comments", {A: 401, S: 403, P: 303, C: 404, H: 404, X: 404, D: 303}),
    ("POST", "/r/submissions/1/state", {A: 401, S: 403, P: 400, C: 404, H: 404, X: 404, D: 400}),
    ("GET", "/admin/uploads", ADMIN_ONLY),
    ("GET", "/help/", OPEN),
    ("GET", "/help/units", OPEN),
    ("GET", "/help/schools", OPEN),
    ("GET", "/help/staff", OPEN),
    ("GET", "/help/nope", dict.fromkeys(ROLES, 404)),
    ("GET", "/r/campaigns/ln-2018/overview", {A: 302, S: 403, P: 200, C: 403, H: 403, X: 403, D: 200}),
    ("GET", "/r/campaigns/jth-2020/overview", {A: 302, S: 403, P: 403, C: 403, H: 403, X: 403, D: 200}),
    ("GET", "/admin/accounts/", ADMIN_ONLY),
    ("POST", "/admin/accounts/", {A: 401, S: 403, P: 403, C: 403, H: 403, X: 403, D: 400}),
    ("POST", "/admin/accounts/campaign", {A: 401, S: 403, P: 403, C: 403, H: 403, X: 403, D: 404}),
    ("POST", "/admin/accounts/nobody/unlock", {A: 401, S: 403, P: 403, C: 403, H: 403, X: 403, D: 404}),
    ("GET", "/r/campaigns/jth-2020/order", RECOMMENDERS_ONLY),
    ("POST", "/r/campaigns/jth-2020/order", {A: 401, S: 403, P: 303, C: 303, H: 303, X: 303, D: 403}),
    ("GET", "/r/campaigns/jth-2020/summary.xlsx", RECOMMENDERS_ONLY),
    ("GET", "/r/campaigns/ln-2018/order", {A: 302, S: 403, P: 404, C: 404, H: 404, X: 404, D: 403}),
    ("POST", "/admin/confirm", {A: 401, S: 403, P: 403, C: 403, H: 403, X: 403, D: 303}),
    ("GET", "/notices", {**dict.fromkeys(ROLES, 200), A: 302}),
    ("POST", "/notices/read", {**dict.fromkeys(ROLES, 303), A: 401}),
    ("GET", "/admin/settings", ADMIN_ONLY),
    ("POST", "/admin/settings/retry", {A: 401, S: 403, P: 403, C: 403, H: 403, X: 403, D: 303}),
    ("GET", "/admin/mail/", ADMIN_ONLY),
    ("POST", "/admin/mail/1/assign", {A: 401, S: 403, P: 403, C: 403, H: 403, X: 403, D: 400}),  # no unit chosen
    ("GET", "/admin/designer/", ADMIN_ONLY),
    ("POST", "/admin/designer/", {A: 401, S: 403, P: 403, C: 403, H: 403, X: 403, D: 422}),  # nothing uploaded
    ("GET", "/admin/designer/999", {**ADMIN_ONLY, D: 404}),
    ("POST", "/admin/designer/999", {A: 401, S: 403, P: 403, C: 403, H: 403, X: 403, D: 404}),
    ("POST", "/admin/designer/999/preview", {A: 401, S: 403, P: 403, C: 403, H: 403, X: 403, D: 404}),
    ("POST", "/admin/designer/999/publish", {A: 401, S: 403, P: 403, C: 403, H: 403, X: 403, D: 404}),
    ("GET", "/admin/designer/999/pages/1", {**ADMIN_ONLY, D: 404}),
    ("GET", "/admin/designer/999/preview-copy", {**ADMIN_ONLY, D: 404}),
    ("GET", "/admin/designer/999/document", {**ADMIN_ONLY, D: 404}),
]


@pytest.mark.parametrize("role", ROLES)
def test_every_route_for_every_role(site, role):
    client = client_as(site, role)
    failures = []
    for method, url, expected in MATRIX:
        response = client.open(url, method=method)
        if response.status_code != expected[role]:
            failures.append(f"{method} {url}: {response.status_code} (expected {expected[role]})")
    assert not failures, "\n".join(failures)


def test_every_web_route_is_in_the_matrix(site):
    covered = {re.sub(r"\?.*", "", url) for _m, url, _e in MATRIX}
    rules = {str(r) for r in site.url_map.iter_rules() if not str(r).startswith(("/api/", "/static/"))}
    concrete = {re.sub(r"<[^>]+>", "X", r) for r in rules}
    seen = {re.sub(r"/(\d+|jth-2020|ln-2018|nope|recommendation_letter|work_summary|nobody|unlock|units|schools|staff|nope)(?=/|$)", "/X", u)
            for u in covered}
    missing = {r for r in concrete if r not in seen and r not in ("/logout", "/admin/exports/X/X")}
    assert not missing, missing


def test_logout_and_exports_need_admin(site):
    assert client_as(site, "provincial").get("/admin/exports/jth-2020/json").status_code == 403
    client = client_as(site, "admin")
    response = client.get("/admin/exports/jth-2020/json")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/json")
    assert client.post("/logout").status_code == 302
    assert client.get("/admin/").status_code == 302


def test_session_cookie_is_httponly_and_samesite(site):
    response = site.test_client().post("/login", data={"username": "provincial", "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_session_cookie_is_secure_over_https(store):
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "WTF_CSRF_ENABLED": False, "HTTPS": True,
                      "DATABASE_URL": store.url, "FILE_STORE": str(store.files.root)})
    app.extensions["jth_store"] = store
    with store.session.begin() as s:
        create_user(s, "u1", PASSWORD, "admin")
    response = app.test_client().post("/login", data={"username": "u1", "password": PASSWORD})
    assert "Secure" in response.headers["Set-Cookie"]


def test_forms_without_a_csrf_token_are_refused(store):
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": store.url, "FILE_STORE": str(store.files.root)})
    app.extensions["jth_store"] = store
    client = app.test_client()
    assert client.post("/login", data={"username": "x", "password": "y"}).status_code == 400
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"username": "x", "password": "y", "csrf_token": token}).status_code == 401


def test_wrong_passwords_slow_strangers_down_but_never_lock_the_owner_out(site, store):
    owner = client_as(site, "provincial")  # this browser has signed in to the account before
    owner.post("/logout")
    stranger = site.test_client()
    for _ in range(5):
        assert stranger.post("/login", data={"username": "provincial", "password": "wrong"}).status_code == 401
    slowed = stranger.post("/login", data={"username": "provincial", "password": PASSWORD})
    assert slowed.status_code == 429 and "2 秒后再试" in slowed.get_data(as_text=True)
    # The account's own browser, at the same address, signs in at once with the right password.
    assert owner.post("/login", data={"username": "provincial", "password": PASSWORD}).status_code == 302
    # Failures from one address do not slow down another.
    other = site.test_client()
    assert other.post("/login", data={"username": "provincial", "password": PASSWORD},
                      environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 302
    # The wait grows with each failure after it (2 s, then 4 s …), instead of a hard lock.
    with store.session.begin() as s:
        for entry in s.scalars(select(AuditEntry).where(AuditEntry.action == "login_failed")):
            entry.at -= dt.timedelta(seconds=3)  # the 2 s have passed
    assert stranger.post("/login", data={"username": "provincial", "password": "wrong"}).status_code == 401
    slower = stranger.post("/login", data={"username": "provincial", "password": PASSWORD})
    assert slower.status_code == 429 and "4 秒后再试" in slower.get_data(as_text=True)


def test_logging_out_ends_the_session_on_the_server(site):
    client = client_as(site, "provincial")
    cookie = client.get_cookie("session").value
    assert client.get("/r/").status_code == 200
    client.post("/logout")
    replay = site.test_client()
    replay.set_cookie("session", cookie)  # the cookie as it was before logging out, copied elsewhere
    assert replay.get("/r/").status_code == 302


def test_the_login_redirects_only_to_this_site(site):
    for target in ("/%09/evil.example/", "//evil.example/", "/\\evil.example", "https://evil.example/",
                   "/\\/evil.example", "/%0d%0a/evil.example", "javascript:alert(1)"):
        response = site.test_client().post(f"/login?next={target}", data={"username": "provincial",
                                                                          "password": PASSWORD})
        assert response.status_code == 302 and response.headers["Location"] == "/r/", target
    response = site.test_client().post("/login?next=/r/submissions", data={"username": "provincial",
                                                                           "password": PASSWORD})
    assert response.headers["Location"] == "/r/submissions"


def test_changing_the_password_ends_the_other_sessions(site):
    here, elsewhere = client_as(site, "provincial"), client_as(site, "provincial")
    new = "辽宁-报送-2020-new"
    cases = [({"current": "wrong-password", "new": new, "confirm": new}, "当前密码不正确"),
             ({"current": PASSWORD, "new": "short", "confirm": "short"}, "至少 10 位"),
             ({"current": PASSWORD, "new": "provincial-2020", "confirm": "provincial-2020"}, "不能包含用户名"),
             ({"current": PASSWORD, "new": new, "confirm": new + "x"}, "两次输入的新密码不一致")]
    for data, message in cases:
        response = here.post("/account/password", data=data)
        assert response.status_code == 400 and message in response.get_data(as_text=True), message
    assert elsewhere.get("/r/").status_code == 200  # nothing changed yet

    response = here.post("/account/password", data={"current": PASSWORD, "new": new, "confirm": new},
                         follow_redirects=True)
    assert response.status_code == 200 and "密码已修改" in response.get_data(as_text=True)
    assert here.get("/r/").status_code == 200  # this session stays
    assert elsewhere.get("/r/").status_code == 302  # the other one is logged out
    fresh = site.test_client()
    assert fresh.post("/login", data={"username": "provincial", "password": PASSWORD}).status_code == 401
    assert fresh.post("/login", data={"username": "provincial", "password": new}).status_code == 302


def test_guessing_the_current_password_is_rate_limited_like_a_login(site):
    client = client_as(site, "planned_city")
    for _ in range(5):
        assert client.post("/account/password", data={"current": "guess", "new": "x" * 12 + "abcd",
                                                      "confirm": "x" * 12 + "abcd"}).status_code == 400
    locked = client.post("/account/password", data={"current": PASSWORD, "new": "大连-新密码-2020",
                                                     "confirm": "大连-新密码-2020"})
    assert locked.status_code == 429


def test_pages_are_also_json(site):
    data = site.test_client().get("/campaigns/jth-2020?format=json").get_json()
    assert data["deadline"] == "2020-11-23" and [q["quota"] for q in data["quotas"]] == [5, 3, 3]
    assert data["submit_to"]["mailing_address"] == "北京市朝阳区慧忠路5号远大中心"
    ln = site.test_client().get("/campaigns/ln-2018", headers={"Accept": "application/json"}).get_json()
    assert len(ln["groups"]) == 14


def test_web_form_errors_sit_next_to_their_fields(site):
    client = site.test_client()
    response = client.post("/campaigns/jth-2020/forms/summary_table/fill", data={
        "recommender": "辽宁省教育厅", "filler_phone": "12345", "rows-count": "2",
        "rows-0-rank": "1", "rows-0-group_name": "北京现代制造业职业教育集团", "rows-0-founded": "2015年13月"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    phone = html[html.index('id="field-filler_phone"'):]
    assert "联系方式" in phone[:2000] and "格式不正确" in phone[:2000]
    assert "成立时间" in html and "field-error" in html


def test_web_form_produces_the_document_that_parses_back(site):
    record = sample("summary_table")
    data = {k: v for k, v in record.items() if not isinstance(v, list)}
    data["rows-count"] = str(len(record["rows"]))
    for i, row in enumerate(record["rows"]):
        data.update({f"rows-{i}-{k}": str(v) for k, v in row.items()})
    response = site.test_client().post("/campaigns/jth-2020/forms/summary_table/fill", data=data)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    parsed = parse(response.data, "汇总表.xlsx", received_at=dt.datetime(2020, 11, 20, tzinfo=dt.UTC))
    assert parsed.record == record


def test_adding_a_row_without_javascript(site):
    response = site.test_client().post("/campaigns/jth-2020/forms/recommendation_letter/fill",
                                       data={"members-count": "10", "add_row": "members"})
    assert response.status_code == 200
    assert 'name="members-10-name"' in response.get_data(as_text=True)


def test_upload_report_and_marked_up_download(site):
    client = client_as(site, "provincial")
    bad = render("jth-2020", "recommendation_letter",
                 dict(sample("recommendation_letter"), contact_mobile="1390416", group_name="辽宁冶金职业教育集团")).content
    response = client.post("/r/upload", data={"campaign": "jth-2020", "files": (io.BytesIO(bad), "推荐书-冶金.docx")},
                           content_type="multipart/form-data")
    # Post/Redirect/Get: the upload answers with the way to its report, so a refresh never posts it again.
    assert response.status_code == 303
    link = re.match(r"(/r/submissions/\d+)\?new=1$", response.headers["Location"]).group(1)
    report = client.get(link).get_data(as_text=True)
    assert "联系人手机" in report and "第4个表格第2行第4格" in report and "FIELD_PATTERN" in report
    marked = client.get(link + "/marked")
    assert marked.status_code == 200
    with zipfile.ZipFile(io.BytesIO(marked.data)) as zf:
        assert "FIELD_PATTERN" in zf.read("word/comments.xml").decode()
    dashboard = client.get("/r/?format=json").get_json()["campaigns"][0]
    assert dashboard["quota"] == {"used": 2, "limit": 5, "label": "省级教育行政部门"}
    # A letter that names another recommender (rejected as not this unit's) does not use up a place.
    other = render("jth-2020", "recommendation_letter", dict(sample("recommendation_letter"), recommender="大连市教育局",
                   recommender_type="计划单列市教育行政部门", group_name="大连装备制造职业教育集团")).content
    client.post("/r/upload", data={"campaign": "jth-2020", "files": (io.BytesIO(other), "大连的推荐书.docx")},
                content_type="multipart/form-data")
    assert client.get("/r/?format=json").get_json()["campaigns"][0]["quota"]["used"] == 2


def test_an_installation_signs_sessions_with_its_own_secret(tmp_path):
    """The key in the source would let anyone forge an administrator's session."""
    from service import DEV_SECRET, instance_secret

    first = instance_secret(tmp_path)
    assert first != DEV_SECRET and len(first) == 64
    assert instance_secret(tmp_path) == first  # every worker process reads the same key
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert create_app().config["SECRET_KEY"] not in (DEV_SECRET, "", None)


def test_attachments_are_listed_and_come_back_as_sent(site):
    client = client_as(site, "provincial")
    page = client.get("/r/submissions/1").get_data(as_text=True)
    assert 'href="/r/submissions/1/attachments/1"' in page and "盖章页.pdf" in page
    response = client.get("/r/submissions/1/attachments/1")
    assert response.data == SCAN and "filename*=UTF-8''" in response.headers["Content-Disposition"]


def test_a_document_level_item_is_taken_in_from_the_review_queue(site, store):
    late = receive(store, render("jth-2020", "recommendation_letter", sample("recommendation_letter") | {
        "contact_title": "秘书长"}).content, "迟交的推荐书.docx", campaign_id="jth-2020",
        recommender_id="edu-ln", uploader="provincial", received_at=dt.datetime(2020, 12, 1, tzinfo=dt.UTC))
    assert late.status == "late", late.to_dict()
    admin = client_as(site, "admin")
    queue = admin.get("/admin/review?campaign=jth-2020").get_data(as_text=True)
    assert "迟交的推荐书.docx" in queue and 'value="#SUBMISSION_LATE"' in queue and "确认受理" in queue
    response = admin.post(f"/admin/review/{late.submission_id}",
                          data={"path": "#SUBMISSION_LATE", "action": "accept", "note": "经请示同意受理"})
    assert response.status_code == 302
    assert "迟交的推荐书.docx" not in admin.get("/admin/review?campaign=jth-2020").get_data(as_text=True)
    detail = client_as(site, "provincial").get(f"/r/submissions/{late.submission_id}?format=json").get_json()
    assert detail["status"] == "accepted"


def test_error_pages_are_in_chinese(site):
    anonymous = site.test_client()
    for url, status, text in (("/campaigns/nope", 404, "页面不存在"),
                              ("/campaigns/ln-2018/forms/work_summary/download?entity=ln-99", 404, "页面不存在")):
        response = anonymous.get(url)
        html = response.get_data(as_text=True)
        assert response.status_code == status and text in html and 'lang="zh-CN"' in html, url
    assert "没有权限" in client_as(site, "school").get("/r/").get_data(as_text=True)
    big = anonymous.post("/login", data={"username": "x", "password": "y" * (21 * 1024 * 1024)})
    assert big.status_code == 413 and "不能超过 20 MB" in big.get_data(as_text=True)
    data = anonymous.get("/campaigns/nope?format=json").get_json()
    assert data["error"]["status"] == 404 and data["error"]["title"] == "页面不存在"


def test_a_missing_csrf_token_is_explained_in_chinese(store, tmp_path):
    with store.session.begin() as s:
        create_user(s, "csrf-admin", PASSWORD, "admin")
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": store.url,
                      "FILE_STORE": str(store.files.root)})
    app.extensions["jth_store"] = store
    response = app.test_client().post("/login", data={"username": "csrf-admin", "password": PASSWORD})
    assert response.status_code == 400 and "刷新页面" in response.get_data(as_text=True)


def test_odd_inputs_that_used_to_fail_with_500(site):
    admin = client_as(site, "admin")
    csv = admin.get("/admin/exports/jth-2020/csv")  # the campaign has two forms: which one?
    assert csv.status_code == 400 and "CSV 每次导出一个表单" in csv.get_data(as_text=True)
    one = admin.get("/admin/exports/jth-2020/csv?form=recommendation_letter")
    assert one.status_code == 200 and one.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "CSV：示范性职业教育集团（联盟）推荐书" in admin.get("/admin/exports").get_data(as_text=True)
    form = site.test_client().post("/campaigns/jth-2020/forms/summary_table/fill", data={"rows-count": "abc"})
    assert form.status_code in (200, 422)
    # A 工作总结 sent to the national campaign: its marked copy marks it as the form it is.
    other = receive(site.extensions["jth_store"], render("ln-2018", "work_summary", sample("work_summary")).content,
                    "工作总结.docx", campaign_id="jth-2020", recommender_id="edu-ln", uploader="provincial")
    marked = client_as(site, "provincial").get(f"/r/submissions/{other.submission_id}/marked")
    assert marked.status_code == 200 and marked.data.startswith(b"PK")


def test_pages_cannot_be_framed_and_run_only_their_own_scripts(site):
    response = client_as(site, "admin").get("/admin/")
    assert response.headers["X-Frame-Options"] == "DENY" and response.headers["X-Content-Type-Options"] == "nosniff"
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy


def test_times_are_shown_in_beijing_time(site):
    client = client_as(site, "provincial")
    assert "2020-11-20 08:00（北京时间）" in client.get("/r/submissions/1").get_data(as_text=True)
    assert "2020-11-20 08:00" in client.get("/r/").get_data(as_text=True)
    assert client.get("/r/submissions/1?format=json").get_json()["received_at"].startswith("2020-11-20T00:00")


def test_the_web_form_applies_the_campaign_rules_before_download(site):
    record = sample("summary_table")
    data = {k: v for k, v in record.items() if not isinstance(v, list)}
    data["rows-count"] = "2"
    for i, row in enumerate(record["rows"]):
        for key, value in row.items():
            data[f"rows-{i}-{key}"] = str(value)
    data["rows-1-rank"] = "1"  # two groups ranked first
    data["rows-0-group_name"] = "北京现代制造业职业教育集团"  # a first-batch group
    response = site.test_client().post("/campaigns/jth-2020/forms/summary_table/fill", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "第一批" in html and "推荐排序" in html


def test_the_web_review_refuses_a_path_past_the_table_as_the_api_does(site, store):
    admin = client_as(site, "admin")
    response = admin.post("/admin/review/1", data={"path": "members.20000.name", "action": "correct",
                                                   "value": "某某公司"}, follow_redirects=True)
    assert "没有第 20001 行" in response.get_data(as_text=True)
    with store.session() as s:
        assert len(s.get(Submission, 1).record["members"]) == len(sample("recommendation_letter")["members"])


def test_behind_the_proxy_each_client_is_throttled_by_its_own_address(store):
    with store.session.begin() as s:
        create_user(s, "provincial", PASSWORD, "recommender", "edu-ln")
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False, "DATABASE_URL": store.url,
                      "FILE_STORE": str(store.files.root), "PROXY_HOPS": 1})
    app.extensions["jth_store"] = store
    proxy = {"REMOTE_ADDR": "127.0.0.1"}  # every request comes through the one proxy
    attacker, owner = app.test_client(), app.test_client()
    for _ in range(6):
        attacker.post("/login", data={"username": "provincial", "password": "guess-guess"}, environ_base=proxy,
                      headers={"X-Forwarded-For": "203.0.113.7"})
    assert attacker.post("/login", data={"username": "provincial", "password": PASSWORD}, environ_base=proxy,
                         headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 429
    assert owner.post("/login", data={"username": "provincial", "password": PASSWORD}, environ_base=proxy,
                      headers={"X-Forwarded-For": "198.51.100.20"}).status_code == 302
