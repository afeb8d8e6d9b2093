"""The token-protected API, through the Flask test client with real documents rendered from the templates."""

from __future__ import annotations

import io
import time
import zipfile

import pytest
from flask import abort
from sqlalchemy import select

from service.api.errors import HTTP_CODES
from service.problems.catalogue import entry
from service.render.form import render
from service.store.auth import create_token, create_user
from service.store.models import AuditEntry
from tests.support.samples import sample

API = "/api/v1"
JTH = f"{API}/campaigns/jth-2020"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def tokens(store):
    """Bearer headers for an admin, two provinces (辽宁 edu-ln, 北京 edu-bj) and a school."""
    out = {}
    with store.session.begin() as s:
        for username, role, entity in (("admin", "admin", None), ("liaoning", "recommender", "edu-ln"),
                                       ("beijing", "recommender", "edu-bj"), ("school", "school", None)):
            user = create_user(s, username, "password-123", role, entity)
            out[username] = {"Authorization": f"Bearer {create_token(s, user, 'test')}"}
    return out


def _letter(**changes) -> tuple[bytes, str]:
    rendered = render("jth-2020", "recommendation_letter", {**sample("recommendation_letter"), **changes})
    return rendered.content, "推荐书-辽宁石油化工职业教育集团.docx"


def _table() -> tuple[bytes, str]:
    rendered = render("jth-2020", "summary_table", sample("summary_table"))
    return rendered.content, rendered.filename


def _submit(client, headers, content: bytes, name: str, url: str = f"{JTH}/submissions", **form):
    data = {"file": (io.BytesIO(content), name), **form}
    return client.post(url, data=data, headers=headers, content_type="multipart/form-data")


def _audit(store, action: str) -> list[AuditEntry]:
    with store.session() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_tokens_are_required_and_roles_checked(client, tokens):
    r = client.get(f"{JTH}/submissions")
    assert r.status_code == 401
    assert r.get_json()["error"]["code"] == "AUTH_REQUIRED"
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    r = client.get(f"{JTH}/submissions", headers={"Authorization": "Basic YTpi"})
    assert r.get_json()["error"]["code"] == "AUTH_REQUIRED"
    r = client.get(f"{JTH}/submissions", headers={"Authorization": "Bearer jth_not-a-real-token"})
    assert (r.status_code, r.get_json()["error"]["code"]) == (401, "AUTH_INVALID")
    r = client.get(f"{JTH}/submissions", headers=tokens["school"])
    assert (r.status_code, r.get_json()["error"]["code"]) == (403, "FORBIDDEN")
    assert "学校" in r.get_json()["error"]["message"]
    assert client.get(f"{API}/me", headers=tokens["liaoning"]).get_json()["entity_id"] == "edu-ln"
    # Admin-only endpoints refuse a recommender.
    r = client.get(f"{API}/review-queue", headers=tokens["liaoning"])
    assert r.status_code == 403
    # Public endpoints stay public.
    assert client.get(f"{API}/campaigns").status_code == 200


def test_submit_letter_and_table_then_read_them_back(client, tokens, store):
    letter, name = _letter()
    r = _submit(client, tokens["liaoning"], letter, name)
    assert r.status_code == 201, r.get_json()
    got = r.get_json()
    assert got["outcome"] == "new" and got["name"] == name
    sub = got["submission"]
    assert r.headers["Location"] == f"{API}/submissions/{got['submission_id']}"
    assert sub["recommender"] == "edu-ln" and sub["form"] == "recommendation_letter"
    assert sub["report"]["form"] == "recommendation_letter"
    assert sub["record"]["group_name"] == "辽宁石油化工职业教育集团"
    assert sub["status"] == "late"  # the 2020 deadline has passed; a person decides
    assert {p["code"] for p in sub["report"]["warnings"]} == {"SUBMISSION_LATE"}

    table, table_name = _table()
    r = _submit(client, tokens["liaoning"], table, table_name)
    assert r.status_code == 201
    table_sub = r.get_json()["submission"]
    assert table_sub["form"] == "summary_table"
    # The table names a second group that has no 推荐书: a problem across submissions.
    assert "RANK_NO_LETTER" in {p["code"] for p in table_sub["cross_problems"]}

    # The same bytes again: the same submission, not counted twice.
    r = _submit(client, tokens["liaoning"], letter, "再次上传.docx")
    assert r.status_code == 200
    assert r.get_json()["outcome"] == "duplicate"
    assert r.get_json()["submission_id"] == got["submission_id"]

    listing = client.get(f"{JTH}/submissions", headers=tokens["liaoning"]).get_json()
    assert listing["total"] == 2 and {i["form"] for i in listing["items"]} == {"recommendation_letter", "summary_table"}
    only = client.get(f"{JTH}/submissions?form=summary_table&per_page=1", headers=tokens["liaoning"]).get_json()
    assert only["total"] == 1 and only["pages"] == 1 and only["items"][0]["id"] == table_sub["id"]
    records = client.get(f"{JTH}/records?form=recommendation_letter", headers=tokens["liaoning"]).get_json()
    assert records["total"] == 1 and records["items"][0]["record"]["members_total"] == 93

    detail = client.get(f"{API}/submissions/{got['submission_id']}", headers=tokens["liaoning"]).get_json()
    assert detail["report"]["fields"] and detail["attachments"] == []
    r = client.get(f"{API}/submissions/{got['submission_id']}/file", headers=tokens["liaoning"])
    assert r.status_code == 200 and r.data == letter
    assert "filename*=UTF-8''" in r.headers["Content-Disposition"]
    assert len(_audit(store, "download")) == 1
    assert len(_audit(store, "upload")) == 3  # the duplicate is recorded as an upload too

    r = client.get(f"{JTH}/submissions?status=bogus", headers=tokens["liaoning"])
    assert (r.status_code, r.get_json()["error"]["code"]) == (400, "BAD_REQUEST")
    r = client.get(f"{JTH}/submissions?page=0", headers=tokens["liaoning"])
    assert r.status_code == 400 and "page" in r.get_json()["error"]["message"]


def test_resubmission_supersedes_and_history_shows_changes(client, tokens):
    first = _submit(client, tokens["liaoning"], *_letter()).get_json()
    r = _submit(client, tokens["liaoning"], *_letter(contact_phone="0416-4198002", members_other=3, members_total=94))
    assert r.status_code == 201
    second = r.get_json()
    assert second["outcome"] == "superseded" and second["submission"]["version"] == 2
    old = client.get(f"{API}/submissions/{first['submission_id']}", headers=tokens["liaoning"]).get_json()
    assert old["is_current"] is False and old["superseded_by"] == second["submission_id"]

    hist = client.get(f"{API}/submissions/{first['submission_id']}/history", headers=tokens["liaoning"]).get_json()
    assert [v["version"] for v in hist["versions"]] == [1, 2]
    changes = {c["path"]: (c["before"], c["after"]) for c in hist["versions"][1]["changes"]}
    assert changes == {"contact_phone": ("0416-4198001", "0416-4198002"), "members_other": (2, 3),
                       "members_total": (93, 94)}

    current = client.get(f"{JTH}/submissions", headers=tokens["liaoning"]).get_json()
    assert [i["id"] for i in current["items"]] == [second["submission_id"]]
    every = client.get(f"{JTH}/submissions?current=all", headers=tokens["liaoning"]).get_json()
    assert every["total"] == 2


def test_another_province_cannot_see_or_change_it(client, tokens):
    got = _submit(client, tokens["liaoning"], *_letter()).get_json()
    sid = got["submission_id"]
    for path in (f"{API}/submissions/{sid}", f"{API}/submissions/{sid}/history", f"{API}/submissions/{sid}/file"):
        r = client.get(path, headers=tokens["beijing"])
        assert (r.status_code, r.get_json()["error"]["code"]) == (404, "SUBMISSION_NOT_FOUND"), path
    r = client.post(f"{API}/submissions/{sid}/attachments", headers=tokens["beijing"],
                    data={"attachments": (io.BytesIO(PDF), "scan.pdf"), "attachment_kind": "stamped_scan"})
    assert r.status_code == 404
    r = client.post(f"{API}/submissions/{sid}/review", headers=tokens["beijing"],
                    json={"path": "contact_email", "action": "correct", "value": "x@y.cn"})
    assert r.status_code == 403
    assert client.get(f"{JTH}/submissions", headers=tokens["beijing"]).get_json()["total"] == 0
    r = client.get(f"{JTH}/submissions?recommender=edu-ln", headers=tokens["beijing"])
    assert (r.status_code, r.get_json()["error"]["code"]) == (403, "FORBIDDEN")
    # 北京 may not submit in 辽宁's name, and a form that names 辽宁省教育厅 is refused as not its own.
    r = _submit(client, tokens["beijing"], *_letter(), recommender="edu-ln")
    assert r.status_code == 403
    r = _submit(client, tokens["beijing"], *_letter())
    assert r.status_code == 201
    assert r.get_json()["status"] == "misdirected"
    assert "SUBMITTER_MISMATCH" in {p["code"] for p in r.get_json()["submission"]["report"]["errors"]}
    # A province is not a submitter of the Liaoning work-summary campaign.
    r = _submit(client, tokens["liaoning"], *_letter(), url=f"{API}/campaigns/ln-2018/submissions")
    assert r.status_code == 403
    # The admin sees both.
    assert client.get(f"{JTH}/submissions", headers=tokens["admin"]).get_json()["total"] == 2
    assert client.get(f"{API}/submissions/{sid}", headers=tokens["admin"]).status_code == 200


def test_admin_submits_on_behalf_and_attachments_complete_a_work_summary(client, tokens, store):
    content = render("ln-2018", "work_summary", sample("work_summary")).content
    url = f"{API}/campaigns/ln-2018/submissions"
    r = _submit(client, tokens["admin"], content, "工作总结.docx", url=url)
    assert (r.status_code, r.get_json()["error"]["code"]) == (400, "RECOMMENDER_REQUIRED")
    r = _submit(client, tokens["admin"], content, "工作总结.docx", url=url, recommender="ln-99")
    assert (r.status_code, r.get_json()["error"]["code"]) == (400, "RECOMMENDER_NOT_FOUND")
    r = _submit(client, tokens["admin"], content, "工作总结.docx", url=url, recommender="ln-08")
    assert r.status_code == 201
    sub = r.get_json()["submission"]
    assert sub["recommender"] == "ln-08" and sub["status"] == "needs_review"  # 政策文件 missing

    add = f"{API}/submissions/{sub['id']}/attachments"
    r = client.post(add, headers=tokens["admin"], data={"attachments": (io.BytesIO(PDF), "scan.pdf"),
                                                        "attachment_kind": "stamped_scan"})
    assert (r.status_code, r.get_json()["error"]["code"]) == (400, "ATTACHMENT_KIND")
    r = client.post(add, headers=tokens["admin"], data={"attachments": (io.BytesIO(b"hello"), "x.txt"),
                                                        "attachment_kind": "policy_documents"})
    assert (r.status_code, r.get_json()["error"]["code"]) == (400, "ATTACHMENT_TYPE")
    r = client.post(add, headers=tokens["admin"], data={"attachments": (io.BytesIO(PDF), "x.pdf")})
    assert (r.status_code, r.get_json()["error"]["code"]) == (400, "ATTACHMENT_KIND_REQUIRED")
    form = {"attachments": [(io.BytesIO(PDF), "辽政发〔2015〕1号.pdf"), (io.BytesIO(PDF + b"2"), "文件2.pdf")],
            "attachment_kind": "policy_documents"}
    r = client.post(add, headers=tokens["admin"], data=form)
    assert r.status_code == 201
    body = r.get_json()
    assert body["added"] == 2
    assert [a["file"] for a in body["submission"]["attachments"]] == ["辽政发〔2015〕1号.pdf", "文件2.pdf"]
    assert body["submission"]["status"] == "late"  # only the deadline is left
    # The same request again adds nothing.
    form = {"attachments": [(io.BytesIO(PDF), "辽政发〔2015〕1号.pdf")], "attachment_kind": "policy_documents"}
    r = client.post(add, headers=tokens["admin"], data=form)
    assert (r.status_code, r.get_json()["added"]) == (200, 0)
    assert len(_audit(store, "attach")) == 2

    # Each attachment comes back byte for byte under its own name; the id must belong to this submission.
    first = body["submission"]["attachments"][0]
    r = client.get(f"{API}/submissions/{sub['id']}/attachments/{first['id']}", headers=tokens["admin"])
    assert r.status_code == 200 and r.data == PDF and "filename*=UTF-8''" in r.headers["Content-Disposition"]
    r = client.get(f"{API}/submissions/{sub['id']}/attachments/999", headers=tokens["admin"])
    assert (r.status_code, r.get_json()["error"]["code"]) == (404, "ATTACHMENT_NOT_FOUND")
    r = client.get(f"{API}/submissions/{sub['id']}/attachments/{first['id']}", headers=tokens["beijing"])
    assert (r.status_code, r.get_json()["error"]["code"]) == (404, "SUBMISSION_NOT_FOUND")  # another unit's
    # 辽宁省教育厅 supervises the Liaoning groups (campaign data): it reads their files, and changes nothing.
    r = client.get(f"{API}/submissions/{sub['id']}/attachments/{first['id']}", headers=tokens["liaoning"])
    assert r.status_code == 200 and r.data == PDF
    assert client.get(f"{API}/submissions/{sub['id']}", headers=tokens["liaoning"]).status_code == 200
    r = client.post(add, headers=tokens["liaoning"], data={"attachments": [(io.BytesIO(PDF), "x.pdf")],
                                                          "attachment_kind": "policy_documents"})
    assert (r.status_code, r.get_json()["error"]["code"]) == (404, "SUBMISSION_NOT_FOUND")
    r = client.post(f"{API}/submissions/{sub['id']}/withdraw", headers=tokens["liaoning"], json={})
    assert r.status_code == 404


def test_submit_with_attachment_and_duplicate_adds_only_new_attachments(client, tokens):
    letter, name = _letter()
    r = _submit(client, tokens["liaoning"], letter, name, attachments=(io.BytesIO(PDF), "盖章.pdf"),
                attachment_kind="stamped_scan")
    assert r.status_code == 201
    assert [a["kind"] for a in r.get_json()["submission"]["attachments"]] == ["stamped_scan"]
    r = _submit(client, tokens["liaoning"], letter, name, attachments=(io.BytesIO(PDF + b"v2"), "盖章2.pdf"),
                attachment_kind="stamped_scan")
    assert r.status_code == 200 and r.get_json()["outcome"] == "duplicate"
    assert [a["file"] for a in r.get_json()["submission"]["attachments"]] == ["盖章.pdf", "盖章2.pdf"]


def test_review_by_admin_changes_status_and_is_audited(client, tokens, store):
    r = _submit(client, tokens["liaoning"], *_letter(contact_email="zhangxm-at-lnpc", members_total=94))
    sub = r.get_json()["submission"]
    assert sub["status"] == "rejected"
    assert {p["path"] for p in sub["report"]["errors"]} == {"contact_email", "members_total"}

    queue = client.get(f"{API}/review-queue?campaign=jth-2020", headers=tokens["admin"]).get_json()
    assert {(i["submission_id"], i["path"]) for i in queue["items"]} == {(sub["id"], "contact_email"),
                                                                          (sub["id"], "members_total")}
    url = f"{API}/submissions/{sub['id']}/review"
    r = client.post(url, headers=tokens["liaoning"], json={"path": "contact_email", "action": "correct", "value": "a@b.cn"})
    assert r.status_code == 403
    r = client.post(url, headers=tokens["admin"], data="{not json", content_type="application/json")
    assert (r.status_code, r.get_json()["error"]["code"]) == (400, "BAD_REQUEST")
    r = client.post(url, headers=tokens["admin"], json={"path": "no_such_field", "action": "correct", "value": 1})
    assert (r.status_code, r.get_json()["error"]["code"]) == (400, "REVIEW_PATH_UNKNOWN")
    r = client.post(url, headers=tokens["admin"], json={"path": "members.999.name", "action": "correct", "value": "x"})
    assert (r.status_code, r.get_json()["error"]["code"]) == (400, "REVIEW_PATH_UNKNOWN")
    r = client.post(url, headers=tokens["admin"], json={"path": "contact_email", "action": "delete"})
    assert (r.status_code, r.get_json()["error"]["code"]) == (400, "REVIEW_ACTION")

    r = client.post(url, headers=tokens["admin"],
                    json={"path": "contact_email", "action": "correct", "value": "zhangxm@lnpc.edu.cn", "note": "电话核实"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "rejected"  # members_total is still wrong
    r = client.post(url, headers=tokens["admin"], json={"path": "members_total", "action": "correct", "value": 93})
    after = r.get_json()
    assert after["status"] == "late"
    assert after["record"]["members_total"] == 93
    assert after["report"]["record"]["members_total"] == 94  # what was read stays
    assert sorted(after["report"]["decisions"]) == ["contact_email", "members_total"]
    decisions = _audit(store, "review")
    assert [(d.actor, d.detail["path"], d.detail["after"]) for d in decisions] == [
        ("admin", "contact_email", "rejected"), ("admin", "members_total", "late")]
    queue = client.get(f"{API}/review-queue", headers=tokens["admin"]).get_json()
    assert queue["total"] == 0


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _poll(client, url: str, headers: dict, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(url, headers=headers).get_json()
        if job["state"] in ("done", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.1)


def test_bulk_ingest_of_a_zip(client, tokens, store):
    letter, _ = _letter()
    table, table_name = _table()
    archive = _zip({"辽宁/推荐书.docx": letter, f"辽宁/{table_name}": table, "../evil.docx": letter,
                    "说明.txt": "请查收".encode()})
    url = f"{JTH}/ingest"
    r = client.post(url, headers=tokens["liaoning"], data={"file": (io.BytesIO(archive), "辽宁.zip")})
    assert r.status_code == 403
    r = client.post(url, headers=tokens["admin"], data={"file": (io.BytesIO(letter), "推荐书.docx"),
                                                        "recommender": "edu-ln"})
    assert (r.status_code, r.get_json()["error"]["code"]) == (400, "ZIP_REQUIRED")
    r = client.post(url, headers=tokens["admin"], data={"file": (io.BytesIO(archive), "辽宁.zip"),
                                                        "recommender": "edu-ln"})
    assert r.status_code == 202, r.get_json()
    accepted = r.get_json()
    assert accepted["poll_url"] == r.headers["Location"] == f"{API}/jobs/{accepted['job_id']}"

    job = _poll(client, accepted["poll_url"], tokens["admin"])
    assert job["state"] == "done", job
    assert job["total"] == job["done"] == 4
    items = {i["name"]: i for i in job["items"]["items"]}
    assert items["../evil.docx"]["code"] == "ZIP_UNSAFE_PATH"
    assert items["../evil.docx"]["submission_id"] is None
    assert items["辽宁/推荐书.docx"]["result"] == "late"
    assert items["说明.txt"]["result"] == "unreadable"
    assert items[f"辽宁/{table_name}"]["submission_id"]
    assert job["counts"]["unreadable"] == 2
    # The 推荐书 now exists, so the table no longer lacks it.
    table_sub = client.get(f"{API}/submissions/{items[f'辽宁/{table_name}']['submission_id']}",
                           headers=tokens["liaoning"]).get_json()
    assert table_sub["recommender"] == "edu-ln"
    # The province sees its job; another province does not.
    assert client.get(accepted["poll_url"], headers=tokens["liaoning"]).status_code == 200
    assert client.get(accepted["poll_url"], headers=tokens["beijing"]).status_code == 404
    paged = client.get(accepted["poll_url"] + "?per_page=1&page=2", headers=tokens["admin"]).get_json()
    assert paged["items"]["total"] == 4 and len(paged["items"]["items"]) == 1
    assert len(_audit(store, "ingest")) == 1


def test_limits_answer_in_chinese_with_stable_codes(client, tokens):
    big = b"PK\x03\x04" + b"\0" * (21 * 1024 * 1024)
    r = _submit(client, tokens["liaoning"], big, "大文件.docx")
    assert r.status_code == 413
    error = r.get_json()["error"]
    assert error["code"] == "REQUEST_TOO_LARGE" and "20 MB" in error["message"]

    files = [(io.BytesIO(PDF), f"{i}.pdf") for i in range(20)]
    letter, name = _letter()
    r = client.post(f"{JTH}/submissions", headers=tokens["liaoning"], content_type="multipart/form-data",
                    data={"file": (io.BytesIO(letter), name), "attachments": files, "attachment_kind": "stamped_scan"})
    assert (r.status_code, r.get_json()["error"]["code"]) == (400, "TOO_MANY_FILES")
    assert "20" in r.get_json()["error"]["message"]

    r = client.post(f"{JTH}/submissions", headers=tokens["liaoning"], data={"recommender": "edu-ln"})
    assert (r.status_code, r.get_json()["error"]["code"]) == (400, "FILE_REQUIRED")
    r = _submit(client, tokens["liaoning"], b"", "空.docx")
    assert (r.status_code, r.get_json()["error"]["code"]) == (400, "FILE_EMPTY")
    r = _submit(client, tokens["liaoning"], letter, name, url=f"{API}/campaigns/jth-2099/submissions")
    assert (r.status_code, r.get_json()["error"]["code"]) == (404, "CAMPAIGN_NOT_FOUND")
    r = client.get(f"{API}/submissions/99999999999", headers=tokens["admin"])
    assert (r.status_code, r.get_json()["error"]["code"]) == (404, "SUBMISSION_NOT_FOUND")
    r = client.get(f"{API}/no-such-endpoint")
    assert (r.status_code, r.get_json()["error"]["code"]) == (404, "NOT_FOUND")
    r = client.delete(f"{JTH}/submissions", headers=tokens["admin"])
    assert (r.status_code, r.get_json()["error"]["code"]) == (405, "METHOD_NOT_ALLOWED")
    assert "GET" in r.headers["Allow"]


def test_http_errors_are_answered_with_their_catalogue_entries(app):
    for status, code in HTTP_CODES.items():
        assert entry(code).http_status == status, code
    app.add_url_rule("/api/v1/_test/gone", "gone", lambda: abort(410))
    r = app.test_client().get("/api/v1/_test/gone")
    assert r.status_code == 410
    assert r.get_json()["error"] == {"code": "REQUEST_FAILED", "message": "请求未能完成。"}


def test_an_exception_in_a_view_never_leaks_a_traceback(app, tokens, caplog):
    def explode():
        raise RuntimeError("secret internals: /srv/app/service/store.py line 42")

    app.add_url_rule("/api/v1/_test/explode", "explode", explode)
    app.add_url_rule("/_test/explode", "explode_web", explode)
    client = app.test_client()
    r = client.get("/api/v1/_test/explode")
    assert r.status_code == 500
    body = r.get_data(as_text=True)
    error = r.get_json()["error"]
    assert error["code"] == "INTERNAL_ERROR" and "服务器内部错误" in error["message"] and error["reference"]
    assert "Traceback" not in body and "secret" not in body and "RuntimeError" not in body
    assert error["reference"] in caplog.text and "secret internals" in caplog.text
    # Outside /api/ Flask's own handling is untouched (in testing the exception propagates).
    with pytest.raises(RuntimeError):
        client.get("/_test/explode")


def test_exports_summary_and_compilation_are_admin_only_and_audited(client, tokens, store):
    from openpyxl import load_workbook

    assert _submit(client, tokens["liaoning"], *_letter()).status_code == 201
    assert _submit(client, tokens["liaoning"], *_table()).status_code == 201

    r = client.get(f"{JTH}/export", headers=tokens["liaoning"])
    assert r.status_code == 403
    r = client.get(f"{JTH}/export?format=pdf", headers=tokens["admin"])
    assert (r.status_code, r.get_json()["error"]["code"]) == (400, "EXPORT_FORMAT")
    r = client.get(f"{JTH}/export?format=csv", headers=tokens["admin"])
    assert (r.status_code, r.get_json()["error"]["code"]) == (400, "EXPORT_FORM_REQUIRED")

    r = client.get(f"{JTH}/export?format=json&status=late&status=rejected", headers=tokens["admin"])
    assert r.status_code == 200 and r.mimetype == "application/json"
    exported = r.get_json()
    assert [row["record"]["group_name"] for row in exported["recommendation_letter"]] == ["辽宁石油化工职业教育集团"]
    assert len(exported["summary_table"]) == 1
    assert "attachment" in r.headers["Content-Disposition"]
    assert client.get(f"{JTH}/export?format=json", headers=tokens["admin"]).get_json()["recommendation_letter"] == []
    r = client.get(f"{JTH}/export?format=csv&form=recommendation_letter&status=late", headers=tokens["admin"])
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "辽宁石油化工职业教育集团" in r.data.decode("utf-8-sig")
    r = client.get(f"{JTH}/export?status=late", headers=tokens["admin"])
    assert r.status_code == 200
    assert load_workbook(io.BytesIO(r.data)).sheetnames

    r = client.get(f"{JTH}/summary.xlsx", headers=tokens["admin"])
    assert r.status_code == 200 and r.data.startswith(b"PK")
    r = client.get(f"{API}/campaigns/ln-2018/summary.xlsx", headers=tokens["admin"])
    assert (r.status_code, r.get_json()["error"]["code"]) == (404, "SUMMARY_NOT_AVAILABLE")

    # The 推荐书 is late (compiled); the 汇总表 is rejected (left out).
    r = client.get(f"{JTH}/compilation.pdf", headers=tokens["liaoning"])
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    r = client.get(f"{JTH}/compilation.pdf", headers=tokens["beijing"])
    assert (r.status_code, r.get_json()["error"]["code"]) == (422, "COMPILE_FAILED")
    r = client.get(f"{JTH}/compilation.pdf?recommender=edu-ln", headers=tokens["beijing"])
    assert r.status_code == 403
    r = client.get(f"{JTH}/compilation.pdf?recommender=edu-zz", headers=tokens["admin"])
    assert (r.status_code, r.get_json()["error"]["code"]) == (400, "RECOMMENDER_NOT_FOUND")

    exports = _audit(store, "export")
    assert {e.actor for e in exports} == {"admin"}
    assert len(exports) == 5 and sum(e.detail.get("kind") == "consolidated_summary" for e in exports) == 1
    assert [(e.actor, e.detail["recommender"]) for e in _audit(store, "compile")] == [("liaoning", "edu-ln")]


def test_compilation_as_a_background_job(client, tokens, store):
    """POST starts the 资料汇编; the job says how far it is; the PDF is downloaded from its result."""
    assert _submit(client, tokens["liaoning"], *_letter()).status_code == 201
    r = client.post(f"{JTH}/compilations", headers=tokens["liaoning"])
    assert r.status_code == 202 and r.headers["Location"] == r.get_json()["poll_url"]
    job = _poll(client, r.get_json()["poll_url"], tokens["liaoning"], timeout=120)
    assert (job["kind"], job["state"], job["done"], job["total"]) == ("compile", "done", 1, 1), job
    assert job["compilation"]["documents"] == 1 and job["compilation"]["pages"] >= 3
    result = f"{API}/jobs/{job['id']}/result"
    assert client.get(result, headers=tokens["beijing"]).status_code == 404  # another unit's job
    pdf = client.get(result, headers=tokens["liaoning"])
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF") and len(pdf.data) == job["compilation"]["size"]

    r = client.post(f"{JTH}/compilations", headers=tokens["beijing"])  # nothing of 北京's to compile
    failed = _poll(client, r.get_json()["poll_url"], tokens["beijing"], timeout=120)
    assert failed["state"] == "failed" and "没有可汇编的材料" in failed["compilation"]["error"]
    r = client.get(f"{API}/jobs/{failed['id']}/result", headers=tokens["beijing"])
    assert (r.status_code, r.get_json()["error"]["code"]) == (404, "JOB_RESULT_NOT_READY")
    r = client.post(f"{JTH}/compilations?recommender=edu-zz", headers=tokens["admin"])
    assert (r.status_code, r.get_json()["error"]["code"]) == (400, "RECOMMENDER_NOT_FOUND")
    client.application.extensions["jth_jobs"].queue.join()


def test_render_refuses_characters_no_document_can_hold(client):
    """Found by schemathesis: a control character made openpyxl fail (a 500); now it is a field problem."""
    for form_id, record in (("summary_table", {"filled_by": "张\x07三"}),
                            ("recommendation_letter", {"contact_name": "李\x1a四"})):
        r = client.post(f"{JTH}/forms/{form_id}/render", json=record)
        assert r.status_code == 422, form_id
        problems = r.get_json()["error"]["problems"]
        assert [(p["code"], p["path"]) for p in problems] == [("FIELD_CONTROL_CHAR", next(iter(record)))]
        assert "控制字符" in problems[0]["message"]
    r = client.post(f"{JTH}/forms/summary_table/render", json={"filled_by": "张三\n（办公室）"})
    assert r.status_code == 200


def test_marked_up_file_through_the_api(client, store):
    """The same marked-up download as on the web: each problem a Word comment at its place."""
    with store.session.begin() as s:
        token = create_token(s, create_user(s, "ln-api", "password-123", "recommender", "edu-ln"))
    bad = render("jth-2020", "recommendation_letter", dict(sample("recommendation_letter"), contact_mobile="1390416"))
    headers = {"Authorization": f"Bearer {token}"}
    created = client.post("/api/v1/campaigns/jth-2020/submissions", headers=headers,
                          data={"file": (io.BytesIO(bad.content), "推荐书.docx")}, content_type="multipart/form-data")
    sub_id = created.get_json()["submission_id"]
    marked = client.get(f"/api/v1/submissions/{sub_id}/marked", headers=headers)
    assert marked.status_code == 200
    with zipfile.ZipFile(io.BytesIO(marked.data)) as zf:
        assert "FIELD_PATTERN" in zf.read("word/comments.xml").decode()
    assert client.get(f"/api/v1/submissions/{sub_id}/marked").status_code == 401


def test_a_reviewer_takes_in_a_late_submission_through_the_api(client, tokens):
    r = _submit(client, tokens["liaoning"], *_letter())
    sub = r.get_json()["submission"]
    assert sub["status"] == "late"
    url = f"{API}/submissions/{sub['id']}/review"
    r = client.post(url, headers=tokens["admin"], json={"path": "#FORM_VERSION", "action": "accept"})
    assert (r.status_code, r.get_json()["error"]["code"]) == (400, "REVIEW_NOT_FLAGGED")
    r = client.post(url, headers=tokens["admin"], json={"path": "#SUBMISSION_LATE", "action": "accept",
                                                         "note": "经请示同意受理"})
    assert r.status_code == 200 and r.get_json()["status"] == "accepted"
    assert client.post(url, headers=tokens["liaoning"], json={"path": "#SUBMISSION_LATE",
                                                              "action": "accept"}).status_code == 403
