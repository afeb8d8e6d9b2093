"""The OpenAPI 3.1 document of ``/api/v1``, served at ``GET /api/v1/openapi.json``.

It is a Python dict built from the same data the API serves (campaign and form ids from the catalogue, the
request body of ``render`` from the forms' JSON Schemas, the error codes and their titles from the problem
catalogue, so a code the API answers with cannot be missing from it), and ``tests/api/test_openapi.py`` holds
it to the truth: every route is in it, and schemathesis checks the live app's answers against it.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from flask import Blueprint, Response, jsonify

from service.api.limits import DEFAULT_PER_PAGE, MAX_FILES, MAX_ID, MAX_PAGE, MAX_PER_PAGE, STATUSES
from service.forms.catalog import catalog
from service.problems.catalogue import codes, entries, entry, stages
from service.store.lifecycle import transitions

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

bp = Blueprint("openapi", __name__)

def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str, **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}, **extra}


def _binary(description: str, *media: str) -> dict[str, Any]:
    return {"description": description,
            "headers": {"Content-Disposition": {"description": "attachment; filename*=UTF-8''<文件名>",
                                                "schema": {"type": "string"}}},
            "content": {m: {"schema": {"type": "string", "format": "binary"}} for m in media}}


def _export_response() -> dict[str, Any]:
    response = _binary("导出文件（默认只含已通过的提交；status 可改）", XLSX, "text/csv")
    response["content"]["text/csv"] = {"schema": {"type": "string"}}
    response["content"]["application/json"] = {"schema": {
        "type": "object", "description": "表单编号 → 该表单的提交（id、报送单位、状态、文件名、接收时间、record）",
        "additionalProperties": {"type": "array", "items": {"type": "object", "required": ["id", "record"]}}}}
    return response


def _error(description: str, *answered: str) -> dict[str, Any]:
    """An error answer naming the codes it may carry (each must be a catalogue entry: a typo fails as the
    document is built)."""
    listed = "；错误码：" + "、".join(entry(code).code for code in answered) if answered else ""
    return _json(_ref("Error"), description + listed)


def _error_code_schema() -> dict[str, Any]:
    """Every code of the problem catalogue with its Chinese title: what ``error.code`` and a problem's ``code``
    may be (``x-enum-descriptions`` lists the titles in the enum's order, as code generators read it)."""
    listed = codes()
    return {"type": "string", "enum": listed, "x-enum-descriptions": [entry(code).title for code in listed],
            "description": "问题代码目录（data/problems.json）中的代码；每个代码的提示与处理办法见 docs/errors.md。"}


def _codes_by_stage() -> str:
    """The codes, one line per stage of the catalogue, each with its title (for the document's description)."""
    return "\n".join("- " + stage.title + "：" + "、".join(f"`{e.code}`（{e.title}）" for e in entries()
                                                          if e.stage == stage.id)
                     for stage in stages())


def _paged(item: str) -> dict[str, Any]:
    return {"type": "object", "required": ["items", "total", "page", "per_page", "pages"],
            "properties": {"items": {"type": "array", "items": _ref(item)},
                           "total": {"type": "integer", "minimum": 0, "description": "符合条件的总数"},
                           "page": {"type": "integer", "minimum": 1}, "per_page": {"type": "integer", "minimum": 1},
                           "pages": {"type": "integer", "minimum": 0}}}


def _partial(schema: dict[str, Any]) -> dict[str, Any]:
    """A form's JSON Schema without ``required`` anywhere (render accepts partial records) and without ``$id``."""
    if isinstance(schema, dict):
        return {k: _partial(v) for k, v in schema.items() if k not in ("required", "$id", "$schema")}
    if isinstance(schema, list):
        return [_partial(v) for v in schema]
    return schema


def _submitter_ids() -> list[str]:
    """Every unit that may submit to some campaign (each campaign accepts those of its own list)."""
    cat = catalog()
    sources = {c.data.get("submitters", "recommenders") for c in cat.campaigns.values()}
    return sorted({row["id"] for source in sources for row in cat.entities(source) if row.get("id")})


NULLABLE_STRING = {"type": ["string", "null"]}
SHA256 = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
TIMESTAMP = {"type": "string", "description": "ISO 8601 时间（带时区）"}

UNAUTHORIZED = _error("未认证：缺少令牌或令牌无效", "AUTH_REQUIRED", "AUTH_INVALID")
FORBIDDEN = _error("无权限：角色不符（学校账号不能使用此接口），或访问其他单位的数据", "FORBIDDEN")
TOO_LARGE = _error("请求过大（超过 MAX_CONTENT_LENGTH，默认 20 MB）或附件过大", "REQUEST_TOO_LARGE",
                   "ATTACHMENT_TOO_LARGE")
CAMPAIGN_404 = _error("征集活动不存在", "CAMPAIGN_NOT_FOUND")
PAGE_400 = _error("查询参数有误", "BAD_REQUEST")


def _schemas() -> dict[str, Any]:
    cat = catalog()
    forms = {f.id: f for c in cat.campaigns.values() for f in c.forms.values()}
    fields = [f for form in forms.values() for f in form.fields]
    scalar_paths = sorted({f.path for f in fields if not f.array})
    tables = {}
    for f in fields:
        if f.array:
            tables.setdefault(f.array, set()).add(f.key)
    cell_pattern = "^(" + "|".join(f"{t}\\.(0|[1-9][0-9]{{0,3}})\\.({'|'.join(sorted(keys))})"
                                   for t, keys in sorted(tables.items())) + ")$"
    submitters = _submitter_ids()
    problem = {
        "type": "object", "required": ["code", "severity", "message"],
        "description": "一条问题：稳定的错误码、严重程度（error 退回、review 人工复核、info 提示）、中文说明及位置。",
        "properties": {"code": _ref("ErrorCode"), "severity": {"type": "string", "enum": ["error", "review", "info"]},
                       "message": {"type": "string"}, "path": {"type": "string", "description": "字段路径，如 members.3.name"},
                       "title": {"type": "string", "description": "字段中文名"}, "where": _ref("Where"),
                       "candidates": {"type": "array", "description": "可采纳的候选值"}},
    }
    return {
        "ErrorCode": _error_code_schema(),
        "Error": {
            "type": "object", "required": ["error"],
            "description": "所有错误的统一格式。code 稳定（客户端据此判断），message 为中文说明及处理办法。",
            "properties": {"error": {
                "type": "object", "required": ["code", "message"],
                "properties": {
                    "code": _ref("ErrorCode"),
                    "message": {"type": "string", "minLength": 1},
                    "reference": {"type": "string", "description": "500 错误的编号（日志中可查）"},
                    "problems": {"type": "array", "description": "RECORD_INVALID 时每个字段的问题",
                                 "items": {"type": "object", "required": ["path", "title", "code", "message"],
                                           "properties": {"path": {"type": "string"}, "title": {"type": "string"},
                                                          "code": _ref("ErrorCode"),
                                                          "message": {"type": "string"}}}},
                }}},
        },
        "FormSummary": {
            "type": "object", "required": ["campaign", "form", "title", "annex", "format", "schema_version",
                                           "schema_url", "template_url"],
            "properties": {"campaign": {"type": "string"}, "form": {"type": "string"}, "title": {"type": "string"},
                           "annex": {"type": "string", "description": "附件编号，如“附件2”"},
                           "format": {"type": "string", "enum": ["docx", "xlsx"]},
                           "schema_version": {"type": "string"}, "schema_url": {"type": "string"},
                           "template_url": {"type": "string"}},
        },
        "CampaignSummary": {
            "type": "object", "required": ["id", "title", "document_number", "issuer", "deadline", "forms"],
            "properties": {"id": {"type": "string"}, "title": {"type": "string"},
                           "document_number": {"type": "string", "description": "文号，如 教职成司函〔2020〕33号"},
                           "issuer": {"type": "string"}, "deadline": {"type": "string", "format": "date"},
                           "forms": {"type": "array", "items": _ref("FormSummary")}},
        },
        "Campaign": {
            "type": "object", "required": ["id", "title", "forms"],
            "description": "征集活动的完整定义（data/campaigns/*.json：报送单位类型与名额、附件、规则、截止日期、联系人）。",
            "properties": {"id": {"type": "string"}, "title": {"type": "string"},
                           "forms": {"type": "array", "items": _ref("FormSummary")}},
        },
        "Where": {
            "type": "object", "required": ["part", "text"], "description": "在文档中的位置",
            "properties": {"part": {"type": "string", "enum": ["table", "paragraph", "sheet"]},
                           "table": {"type": "integer"}, "row": {"type": "integer"}, "cell": {"type": "integer"},
                           "paragraph": {"type": "integer"}, "sheet": {"type": "string"}, "ref": {"type": "string"},
                           "text": {"type": "string", "description": "中文位置说明，如“第2个表格第2行第6格”"}},
        },
        "Problem": problem,
        "FieldReport": {
            "type": "object", "required": ["path", "title", "found", "value"],
            "properties": {"path": {"type": "string"}, "title": {"type": "string"},
                           "found": {"type": "string", "description": "如何找到：锚点、标签、表头……或 not_found"},
                           "value": {"description": "规范化后的值"}, "raw": {"description": "原文"},
                           "where": _ref("Where"), "note": {"type": "string"}, "flag": {"type": "string"}},
        },
        "Report": {
            "type": "object",
            "description": "一份文件的解析报告：识别出的表单、记录、每个字段的读取方式与位置、错误与复核提示。",
            "required": ["file", "readable", "status", "record", "fields", "errors", "warnings"],
            "properties": {
                "file": {"type": "string"}, "readable": {"type": "boolean"},
                "status": {"type": "string", "enum": ["accepted", "needs_review", "rejected"]},
                "status_label": {"type": "string"}, "campaign": NULLABLE_STRING, "form": NULLABLE_STRING,
                "form_title": {"type": "string"}, "schema_version": {"type": "string"}, "entity": {"type": "string"},
                "issuance": {"type": "string"},
                "identified_by": {"type": "string", "description": "stamp（身份标识）或 structure（版式推断）"},
                "format": {"type": "string"}, "converted": {"type": "boolean"}, "received_at": {"type": "string"},
                "record": {"type": "object", "description": "读取的原始记录（复核更正不改变它）"},
                "fields": {"type": "array", "items": _ref("FieldReport")},
                "errors": {"type": "array", "items": _ref("Problem")},
                "warnings": {"type": "array", "items": _ref("Problem")},
                "metrics": {"type": "object"},
                "decisions": {"type": "array", "items": {"type": "string"}, "description": "已复核的字段路径"},
            },
        },
        "Attachment": {
            "type": "object", "required": ["id", "kind", "file", "media", "sha256", "created_at"],
            "properties": {"id": {"type": "integer"}, "kind": {"type": "string", "description": "附件类别（征集活动定义）"},
                           "file": {"type": "string"}, "media": {"type": "string", "enum": ["pdf", "image", "word", "excel"]},
                           "sha256": SHA256, "created_at": TIMESTAMP},
        },
        "SubmissionSummary": {
            "type": "object",
            "required": ["id", "campaign", "recommender", "form", "entity_key", "version", "is_current",
                         "superseded_by", "status", "status_label", "late", "readable", "file", "sha256",
                         "received_at", "url"],
            "properties": {
                "id": {"type": "integer"}, "campaign": {"type": "string"}, "recommender": {"type": "string"},
                "form": NULLABLE_STRING, "entity_key": {"type": "string", "description": "提交针对的对象：group:集团名、recommender:单位"},
                "version": {"type": "integer", "minimum": 1}, "is_current": {"type": "boolean"},
                "superseded_by": {"type": ["integer", "null"]}, "status": {"type": "string", "enum": list(STATUSES)},
                "status_label": {"type": "string"}, "late": {"type": "boolean"}, "readable": {"type": "boolean"},
                "file": {"type": "string", "description": "原始文件名"}, "sha256": SHA256, "received_at": TIMESTAMP,
                "url": {"type": "string"}, "page_url": {"type": "string", "description": "网页上的校验报告"},
                "recommender_name": {"type": "string"}, "form_title": {"type": "string"}, "group": {},
                "state_note": {"type": "string", "description": "退回修改的说明、撤回或清除的理由"},
                "state_by": {"type": "string"}, "state_at": {"anyOf": [TIMESTAMP, {"type": "null"}]},
                "reassigned_to": {"type": ["integer", "null"]},
                "actions": {"type": "array", "description": "从当前状态可以执行的操作（是否有权限另行检查）",
                            "items": {"type": "string", "enum": sorted(transitions())}},
            },
        },
        "Decision": {
            "type": "object", "required": ["path", "title", "action", "original", "value", "note", "user", "at"],
            "properties": {"path": {"type": "string"}, "title": {"type": "string"},
                           "action": {"type": "string", "enum": ["accept", "correct"]}, "original": {}, "value": {},
                           "note": {"type": "string"}, "user": {"type": "string"}, "at": TIMESTAMP,
                           "carried_from": {"type": ["integer", "null"], "description": "沿用自哪一版本的决定"}},
        },
        "StateRequest": {
            "type": "object", "additionalProperties": False,
            "properties": {"reason": {"type": "string", "maxLength": 2000, "description": "说明（记入审计日志）"}},
        },
        "ReturnRequest": {
            "type": "object", "required": ["message"], "additionalProperties": False,
            "properties": {"message": {"type": "string", "minLength": 1, "maxLength": 2000,
                                       "description": "要修改的内容：报送单位在报告页面和批注版文件中看到"}},
        },
        "ReassignRequest": {
            "type": "object", "required": ["to"], "additionalProperties": False,
            "properties": {"to": {"type": "string", "maxLength": 60, "description": "改派给的报送单位编号"},
                           "reason": {"type": "string", "maxLength": 2000}},
        },
        "CommentRequest": {
            "type": "object", "required": ["body"], "additionalProperties": False,
            "properties": {"body": {"type": "string", "minLength": 1, "maxLength": 2000}},
        },
        "Comment": {
            "type": "object",
            "required": ["id", "submission_id", "version", "author", "author_role", "body", "created_at"],
            "properties": {"id": {"type": "integer"}, "submission_id": {"type": "integer"},
                           "version": {"type": ["integer", "null"]}, "author": {"type": "string"},
                           "author_role": {"type": "string", "enum": ["staff", "unit"]}, "body": {"type": "string"},
                           "created_at": TIMESTAMP},
        },
        "Comments": {
            "type": "object", "required": ["submission_id", "comments"],
            "properties": {"submission_id": {"type": "integer"}, "comments": {"type": "array", "items": _ref("Comment")}},
        },
        "ConfirmRequest": {
            "type": "object", "required": ["code", "reason"], "additionalProperties": False,
            "properties": {"code": {"type": "string", "maxLength": 60, "description": "整体问题的代码，如 SUBMISSION_LATE"},
                           "reason": {"type": "string", "minLength": 1, "maxLength": 2000},
                           "submissions": {"type": "array", "maxItems": 10000,
                                           "items": {"type": "integer", "minimum": 1},
                                           "description": "只确认这些提交（不给时确认整个征集活动中有此问题的当前提交）"}},
        },
        "LetterOrder": {
            "type": "object", "required": ["campaign", "recommender", "letters"],
            "properties": {"campaign": {"type": "string"}, "recommender": {"type": "string"},
                           "letters": {"type": "array", "items": {"allOf": [
                               _ref("SubmissionSummary"),
                               {"type": "object", "required": ["rank"], "properties": {"rank": {"type": "integer"}}}]}}},
        },
        "LetterOrderRequest": {
            "type": "object", "required": ["submissions"],
            "properties": {"submissions": {"type": "array", "maxItems": 1000, "items": {"type": "integer", "minimum": 1},
                                           "description": "推荐书的提交编号，第一位在前"},
                           "recommender": {"type": "string", "maxLength": 60, "description": "管理员指明单位"}},
        },
        "Account": {
            "type": "object", "required": ["id", "username", "display_name", "role", "entity_id", "email", "disabled",
                                           "must_change_password", "last_login_at"],
            "properties": {"id": {"type": "integer"}, "username": {"type": "string"}, "display_name": {"type": "string"},
                           "role": {"type": "string", "enum": ["admin", "recommender", "school"]},
                           "entity_id": NULLABLE_STRING, "email": {"type": "string"}, "disabled": {"type": "boolean"},
                           "must_change_password": {"type": "boolean"},
                           "last_login_at": {"anyOf": [TIMESTAMP, {"type": "null"}]},
                           "password": {"type": "string", "description": "一次性密码：只在这次应答中出现"}},
        },
        "AccountRequest": {
            "type": "object", "required": ["username", "role"], "additionalProperties": False,
            "properties": {"username": {"type": "string", "minLength": 2, "maxLength": 80},
                           "role": {"type": "string", "enum": ["admin", "recommender", "school"]},
                           "entity": {"type": "string", "maxLength": 60, "description": "单位编号（推荐单位/报送单位账号必填）"},
                           "display_name": {"type": "string", "maxLength": 200},
                           "email": {"type": "string", "maxLength": 200}},
        },
        "Issued": {
            "type": "object", "required": ["username", "password", "role", "entity_id", "unit"],
            "properties": {"username": {"type": "string"}, "password": {"type": "string"}, "role": {"type": "string"},
                           "entity_id": NULLABLE_STRING, "unit": {"type": "string"}},
        },
        "Confirmed": {
            "type": "object", "required": ["campaign", "code", "confirmed"],
            "properties": {"campaign": {"type": "string"}, "code": {"type": "string"},
                           "confirmed": {"type": "array", "items": {"type": "integer"}}},
        },
        "Submission": {
            "allOf": [_ref("SubmissionSummary"), {
                "type": "object",
                "required": ["record", "report", "cross_problems", "attachments", "file_url", "history_url",
                             "decisions", "problems", "fields", "record_as_read"],
                "properties": {"record": {"type": "object", "description": "当前记录（含复核更正）"},
                               "report": _ref("Report"),
                               "cross_problems": {"type": "array", "items": _ref("Problem"),
                                                  "description": "跨文件规则发现的问题（名额、汇总表↔推荐书、重复推荐）"},
                               "attachments": {"type": "array", "items": _ref("Attachment")},
                               "file_url": {"type": "string"}, "history_url": {"type": "string"},
                               "decisions": {"type": "array", "items": _ref("Decision"),
                                             "description": "复核决定（谁、何时、为何）；record 已按它们更正"},
                               "record_as_read": {"type": "object", "description": "读取的原始值"},
                               "problems": {"type": "array"}, "fields": {"type": "array"}},
            }],
        },
        "Received": {
            "type": "object",
            "required": ["name", "sha256", "upload_id", "submission_id", "outcome", "status", "code", "message",
                         "submission"],
            "properties": {
                "name": {"type": "string"}, "sha256": SHA256, "upload_id": {"type": "integer"},
                "submission_id": {"type": "integer"},
                "outcome": {"type": "string", "enum": ["new", "duplicate", "superseded", "attached"],
                            "description": "new 新提交；superseded 替代了同一集团的旧版本；duplicate 与已提交文件完全相同；"
                                           "attached 同一集团电子版的盖章扫描件，作为其附件保存并与电子版逐项核对"},
                "status": {"type": "string", "enum": list(STATUSES)},
                "code": {"type": "string", "description": "第一个错误的错误码（无错误时为空）"},
                "message": {"type": "string"}, "submission": _ref("Submission"),
            },
        },
        "History": {
            "type": "object", "required": ["submission_id", "versions"],
            "properties": {"submission_id": {"type": "integer"}, "versions": {"type": "array", "items": {
                "type": "object",
                "required": ["id", "version", "is_current", "status", "file", "sha256", "received_at", "changes", "url"],
                "properties": {"id": {"type": "integer"}, "version": {"type": "integer"}, "is_current": {"type": "boolean"},
                               "status": {"type": "string", "enum": list(STATUSES)}, "file": {"type": "string"},
                               "sha256": SHA256, "received_at": TIMESTAMP, "url": {"type": "string"},
                               "changes": {"type": "array", "description": "与上一版本相比的字段变化", "items": {
                                   "type": "object", "required": ["path", "before", "after"],
                                   "properties": {"path": {"type": "string"}, "before": {}, "after": {}}}}}}}},
        },
        "RecordItem": {
            "type": "object", "required": ["submission_id", "recommender", "form", "version", "status", "record"],
            "properties": {"submission_id": {"type": "integer"}, "recommender": {"type": "string"},
                           "form": {"type": "string"}, "version": {"type": "integer"},
                           "status": {"type": "string", "enum": list(STATUSES)},
                           "record": {"type": "object", "description": "表单记录，字段见该表单的 JSON Schema"}},
        },
        "ReviewRequest": {
            "type": "object", "required": ["path", "action"],
            "description": "correct 须给出 value；accept 不给 value 时采纳唯一的候选值。",
            "if": {"properties": {"action": {"const": "correct"}}}, "then": {"required": ["value"]},
            "properties": {
                "path": {"type": "string", "description": "字段路径，如 contact_email、members.0.name；"
                         "或“#问题代码”（如 #SUBMISSION_LATE、#FORM_STAMP_MISMATCH），确认受理一个整体问题（只能 accept）",
                         "anyOf": [{"enum": scalar_paths}, {"pattern": cell_pattern}, {"pattern": "^#[A-Z_]+$"}]},
                "action": {"type": "string", "enum": ["accept", "correct"],
                           "description": "accept 采纳读取的值或某个候选值；correct 更正为 value"},
                "value": {"description": "采纳的候选值或更正后的值"},
                "note": {"type": "string", "maxLength": 2000, "description": "复核说明"},
            },
        },
        "ReviewQueueItem": {
            "type": "object",
            "required": ["submission_id", "campaign", "recommender", "form", "file", "status", "path", "title", "code",
                         "severity", "message", "candidates", "review_url"],
            "properties": {"submission_id": {"type": "integer"}, "campaign": {"type": "string"},
                           "recommender": {"type": "string"}, "form": {"type": "string"}, "file": {"type": "string"},
                           "status": {"type": "string", "enum": list(STATUSES)}, "path": {"type": "string"},
                           "title": {"type": "string"}, "code": _ref("ErrorCode"),
                           "severity": {"type": "string", "enum": ["error", "review", "info"]},
                           "message": {"type": "string"}, "candidates": {"type": "array"},
                           "where": {"anyOf": [_ref("Where"), {"type": "null"}]},
                           "picture_url": {"type": ["string", "null"],
                                           "description": "从扫描件读出的值：该栏图像的地址（GET，PNG）"},
                           "review_url": {"type": "string"}},
        },
        "IngestAccepted": {
            "type": "object", "required": ["job_id", "state", "poll_url"],
            "properties": {"job_id": {"type": "integer"}, "state": {"const": "queued"},
                           "poll_url": {"type": "string", "description": "用 GET 轮询任务进度"}},
        },
        "JobItem": {
            "type": "object", "required": ["seq", "name", "state", "result", "code", "message", "submission_id", "sha256"],
            "properties": {"seq": {"type": "integer"}, "name": {"type": "string", "description": "压缩包中的路径"},
                           "state": {"type": "string", "enum": ["pending", "done"]},
                           "result": {"type": "string", "description": "accepted、needs_review、rejected、late、"
                                      "unreadable、duplicate（处理中为空）"},
                           "code": {"type": "string", "description": "如 ZIP_UNSAFE_PATH、FILE_TOO_LARGE"},
                           "message": {"type": "string"}, "submission_id": {"type": ["integer", "null"]},
                           "sha256": {"type": ["string", "null"]}},
        },
        "CompilationResult": {
            "type": "object", "required": ["result_sha256", "pages", "documents", "size", "failures", "error"],
            "properties": {"result_sha256": NULLABLE_STRING,
                           "pages": {"type": ["integer", "null"]}, "documents": {"type": ["integer", "null"]},
                           "size": {"type": ["integer", "null"], "description": "PDF 字节数"},
                           "failures": {"type": "array", "description": "未能转换、以说明页代替的材料",
                                        "items": {"type": "object", "properties": {
                                            "submission": {"type": "integer"}, "name": {"type": "string"},
                                            "reason": {"type": "string"}}}},
                           "error": {"type": "string", "description": "任务失败的原因"}},
        },
        "Job": {
            "type": "object",
            "required": ["id", "kind", "state", "campaign", "recommender", "total", "done", "counts", "created_at",
                         "finished_at", "items"],
            "properties": {"id": {"type": "integer"},
                           "kind": {"type": "string", "enum": ["ingest", "compile"],
                                    "description": "ingest 批量导入；compile 资料汇编（结果用 result_url 下载）"},
                           "compilation": _ref("CompilationResult"),
                           "state": {"type": "string", "enum": ["queued", "spooling", "running", "done", "failed"]},
                           "campaign": {"type": "string"}, "recommender": {"type": "string"},
                           "total": {"type": "integer"}, "done": {"type": "integer"},
                           "counts": {"type": "object", "additionalProperties": {"type": "integer"},
                                      "description": "按结果统计已处理的文件数"},
                           "created_at": {"type": "string"}, "finished_at": NULLABLE_STRING,
                           "items": _paged("JobItem")},
        },
        "Me": {
            "type": "object", "required": ["username", "display_name", "role", "entity_id"],
            "properties": {"username": {"type": "string"}, "display_name": {"type": "string"},
                           "role": {"type": "string", "enum": ["admin", "recommender", "school"]},
                           "entity_id": NULLABLE_STRING},
        },
        "SubmitForm": {
            "type": "object", "required": ["file"],
            "properties": {
                "file": {"type": "string", "format": "binary",
                         "description": "填好的表单文件（.docx/.xlsx，或 .doc/.xls/.wps/.et/.odt/.ods/.rtf）"},
                "recommender": {"type": "string", "enum": submitters,
                                "description": "报送单位编号（仅管理员代为提交时填写，如 edu-ln）"},
                "attachments": {"type": "array", "items": {"type": "string", "format": "binary"},
                                "description": "附件（PDF、图片、Word、Excel，按内容判断）"},
                "attachment_kind": {"type": "array", "items": {"type": "string"},
                                    "description": "附件类别：一个（适用于全部附件）或与 attachments 一一对应，"
                                    "如 stamped_scan（盖章扫描件）、policy_documents（政策文件）"},
            },
        },
        **{f"PartialRecord_{fid}": {**_partial(copy.deepcopy(form.schema)),
                                    "description": f"《{form.title}》的记录（可只填部分字段）"}
           for fid, form in forms.items()},
    }


def _params() -> dict[str, Any]:
    cat = catalog()
    form_ids = sorted({f for c in cat.campaigns.values() for f in c.forms})
    return {
        "campaign_id": {"name": "campaign_id", "in": "path", "required": True, "description": "征集活动编号",
                        "schema": {"type": "string", "enum": sorted(cat.campaigns)}},
        "form_id": {"name": "form_id", "in": "path", "required": True, "description": "表单编号",
                    "schema": {"type": "string", "enum": form_ids}},
        "submission_id": {"name": "submission_id", "in": "path", "required": True, "description": "提交编号",
                          "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}},
        "job_id": {"name": "job_id", "in": "path", "required": True, "description": "任务编号",
                   "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}},
        "attachment_id": {"name": "attachment_id", "in": "path", "required": True,
                          "description": "附件编号（见提交的 attachments[].id）",
                          "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}},
        "page": {"name": "page", "in": "query", "description": "页码（从 1 开始）",
                 "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}},
        "per_page": {"name": "per_page", "in": "query", "description": "每页条数",
                     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": DEFAULT_PER_PAGE}},
        "status": {"name": "status", "in": "query", "description": "按状态筛选（可重复）", "style": "form",
                   "explode": True, "schema": {"type": "array", "items": {"type": "string", "enum": list(STATUSES)}}},
        "form": {"name": "form", "in": "query", "description": "按表单筛选（该征集活动的表单编号）",
                 "schema": {"type": "string", "enum": form_ids}},
        "recommender": {"name": "recommender", "in": "query",
                        "description": "按报送单位筛选（推荐单位账号只能填本单位，或不填）",
                        "schema": {"type": "string", "enum": _submitter_ids()}},
    }


def _p(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/parameters/{name}"}


def _paths() -> dict[str, Any]:
    public = {"security": []}
    list_params = [_p("page"), _p("per_page")]
    return {
        "/openapi.json": {"get": {
            **public, "operationId": "openapi", "tags": ["公开"], "summary": "本接口文档（OpenAPI 3.1）",
            "responses": {"200": _json({"type": "object", "required": ["openapi", "paths"]}, "OpenAPI 文档")}}},
        "/campaigns": {"get": {
            **public, "operationId": "listCampaigns", "tags": ["公开"], "summary": "征集活动及其表单",
            "responses": {"200": _json({"type": "array", "items": _ref("CampaignSummary")}, "全部征集活动")}}},
        "/campaigns/{campaign_id}": {"get": {
            **public, "operationId": "getCampaign", "tags": ["公开"], "summary": "征集活动的完整定义",
            "parameters": [_p("campaign_id")],
            "responses": {"200": _json(_ref("Campaign"), "征集活动"), "404": CAMPAIGN_404}}},
        "/campaigns/{campaign_id}/forms/{form_id}/schema": {"get": {
            **public, "operationId": "getFormSchema", "tags": ["公开"], "summary": "表单的 JSON Schema（draft 2020-12）",
            "parameters": [_p("campaign_id"), _p("form_id")],
            "responses": {"200": _json({"type": "object", "description": "JSON Schema"}, "表单的 JSON Schema"),
                          "404": _error("征集活动或表单不存在", "CAMPAIGN_NOT_FOUND", "FORM_NOT_FOUND")}}},
        "/campaigns/{campaign_id}/forms/{form_id}/template": {"get": {
            **public, "operationId": "getFormTemplate", "tags": ["公开"],
            "summary": "下载空白表单，或用 entity 按参考名单预填",
            "parameters": [_p("campaign_id"), _p("form_id"),
                           {"name": "entity", "in": "query", "description": "参考名单中的单位编号（如 edu-ln、ln-03）",
                            "schema": {"type": "string"}}],
            "responses": {"200": _binary("Word 或 Excel 表单（带身份标识与字段锚点）", DOCX, XLSX),
                          "404": _error("征集活动、表单或单位不存在", "CAMPAIGN_NOT_FOUND", "FORM_NOT_FOUND",
                                        "ENTITY_NOT_FOUND")}}},
        "/campaigns/{campaign_id}/forms/{form_id}/render": {"post": {
            **public, "operationId": "renderForm", "tags": ["公开"],
            "summary": "用 JSON 记录预填表单（可只填部分字段；不合规的值会被拒绝）",
            "parameters": [_p("campaign_id"), _p("form_id"),
                           {"name": "entity", "in": "query", "description": "同时按参考名单预填的单位编号",
                            "schema": {"type": "string"}}],
            "requestBody": {"required": True, "description": "字段名与该表单的 JSON Schema 一致",
                            "content": {"application/json": {"schema": {"anyOf": [
                                _ref(f"PartialRecord_{fid}") for fid in _params()["form_id"]["schema"]["enum"]]}}}},
            "responses": {"200": _binary("预填的 Word 或 Excel 表单", DOCX, XLSX),
                          "400": _error("请求体不是 JSON 对象", "RECORD_NOT_JSON"),
                          "404": _error("征集活动、表单或单位不存在", "CAMPAIGN_NOT_FOUND", "FORM_NOT_FOUND",
                                        "ENTITY_NOT_FOUND"),
                          "413": TOO_LARGE,
                          "422": _error("记录不符合表单的 JSON Schema（problems 列出每个字段）", "RECORD_INVALID")}}},
        "/me": {"get": {
            "operationId": "me", "tags": ["账号"], "summary": "令牌所属账号",
            "responses": {"200": _json(_ref("Me"), "账号"), "401": UNAUTHORIZED}}},
        "/campaigns/{campaign_id}/submissions": {
            "post": {
                "operationId": "submit", "tags": ["报送"],
                "summary": "提交一份填好的表单（可附带附件）",
                "description": "文件先按内容摘要保存，再解析、校验并建立提交记录。推荐单位账号以本单位名义提交；"
                               "管理员须用 recommender 指明代哪个单位提交。同一单位再次提交完全相同的文件时返回 200 "
                               "和已有的提交（outcome=duplicate），不重复计入；同一集团的新版本替代旧版本（outcome=superseded）；"
                               "已有电子版时，同一集团的扫描件作为电子版的盖章扫描件保存并逐项核对（outcome=attached）。"
                               f"一次请求最多 {MAX_FILES} 个文件。",
                "parameters": [_p("campaign_id")],
                "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": _ref("SubmitForm")}}},
                "responses": {
                    "201": _json(_ref("Received"), "已接收并建立提交记录（status 为解析校验结论）",
                                 headers={"Location": {"schema": {"type": "string"}, "description": "提交的地址"}}),
                    "200": _json(_ref("Received"), "与已提交的文件完全相同（outcome=duplicate），未重复计入"),
                    "400": _error("请求有误", "FILE_REQUIRED", "FILE_MULTIPLE", "FILE_EMPTY", "TOO_MANY_FILES",
                                  "RECOMMENDER_REQUIRED", "RECOMMENDER_NOT_FOUND", "ATTACHMENT_KIND_REQUIRED",
                                  "ATTACHMENT_KIND", "ATTACHMENT_EMPTY", "ATTACHMENT_TYPE"),
                    "401": UNAUTHORIZED, "403": FORBIDDEN, "404": CAMPAIGN_404,
                    "409": _error("同一文件正被另一请求处理", "SUBMISSION_CONFLICT"), "413": TOO_LARGE}},
            "get": {
                "operationId": "listSubmissions", "tags": ["报送"], "summary": "征集活动的提交（分页，最新的在前）",
                "parameters": [_p("campaign_id"), _p("status"), _p("form"), _p("recommender"),
                               {"name": "current", "in": "query", "description": "true 仅当前版本（默认）；false 仅已被替代的版本；all 全部",
                                "schema": {"type": "string", "enum": ["true", "false", "all"], "default": "true"}},
                               *list_params],
                "responses": {"200": _json(_paged("SubmissionSummary"), "提交列表"), "400": PAGE_400,
                              "401": UNAUTHORIZED, "403": FORBIDDEN, "404": CAMPAIGN_404}}},
        "/campaigns/{campaign_id}/records": {"get": {
            "operationId": "listRecords", "tags": ["报送"], "summary": "当前各提交的表单记录（分页）",
            "parameters": [_p("campaign_id"), _p("form"), _p("status"), _p("recommender"), *list_params],
            "responses": {"200": _json(_paged("RecordItem"), "记录列表"), "400": PAGE_400, "401": UNAUTHORIZED,
                          "403": FORBIDDEN, "404": CAMPAIGN_404}}},
        "/submissions/{submission_id}": {"get": {
            "operationId": "getSubmission", "tags": ["报送"], "summary": "一次提交：状态、记录、解析报告、跨文件问题、附件",
            "parameters": [_p("submission_id")],
            "responses": {"200": _json(_ref("Submission"), "提交"), "401": UNAUTHORIZED, "403": FORBIDDEN,
                          "404": _error("提交不存在或不属于本单位", "SUBMISSION_NOT_FOUND")}}},
        "/submissions/{submission_id}/history": {"get": {
            "operationId": "getSubmissionHistory", "tags": ["报送"], "summary": "同一集团同一表单的全部版本及字段变化",
            "parameters": [_p("submission_id")],
            "responses": {"200": _json(_ref("History"), "版本历史（最早的在前）"), "401": UNAUTHORIZED,
                          "403": FORBIDDEN, "404": _error("提交不存在或不属于本单位", "SUBMISSION_NOT_FOUND")}}},
        "/submissions/{submission_id}/file": {"get": {
            "operationId": "getSubmissionFile", "tags": ["报送"], "summary": "下载提交的原始文件（原文件名）",
            "parameters": [_p("submission_id")],
            "responses": {"200": _binary("原始文件（与上传时逐字节相同）", "application/octet-stream"),
                          "401": UNAUTHORIZED, "403": FORBIDDEN,
                          "404": _error("提交不存在或不属于本单位", "SUBMISSION_NOT_FOUND")}}},
        "/submissions/{submission_id}/attachments/{attachment_id}": {"get": {
            "operationId": "getAttachmentFile", "tags": ["报送"], "summary": "下载附件（政策文件、盖章扫描件）的原始文件",
            "parameters": [_p("submission_id"), _p("attachment_id")],
            "responses": {"200": _binary("附件（与上传时逐字节相同）", "application/octet-stream"),
                          "401": UNAUTHORIZED, "403": FORBIDDEN,
                          "404": _error("提交或附件不存在，或不属于本单位", "SUBMISSION_NOT_FOUND",
                                        "ATTACHMENT_NOT_FOUND")}}},
        "/submissions/{submission_id}/pictures/{sha256}": {"get": {
            "operationId": "getCellPicture", "tags": ["报送"],
            "summary": "从扫描件读出的某一栏的图像（报告中该问题的 picture / picture_url），供复核时对照",
            "parameters": [_p("submission_id"), {"name": "sha256", "in": "path", "required": True,
                                                 "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}],
            "responses": {"200": _binary("该栏的 PNG 图像", "image/png"),
                          "401": UNAUTHORIZED, "403": FORBIDDEN,
                          "404": _error("提交不存在或不属于本单位，或报告中没有这张图像", "SUBMISSION_NOT_FOUND",
                                        "SCAN_PICTURE_NOT_FOUND")}}},
        "/submissions/{submission_id}/marked": {"get": {
            "operationId": "getSubmissionMarked", "tags": ["报送"],
            "summary": "下载批注版：问题作为批注标在 Word 文档相应位置，或作为批注和高亮标在 Excel 单元格上",
            "parameters": [_p("submission_id")],
            "responses": {"200": _binary("批注版文件（.docx 或 .xlsx）", "application/octet-stream"),
                          "401": UNAUTHORIZED, "403": FORBIDDEN,
                          "404": _error("提交不存在或不属于本单位", "SUBMISSION_NOT_FOUND"),
                          "409": _error("文件无法读取或转换，没有可标注的内容", "MARKUP_UNAVAILABLE")}}},
        "/submissions/{submission_id}/attachments": {"post": {
            "operationId": "addAttachments", "tags": ["报送"], "summary": "为提交补充附件（政策文件、盖章扫描件）",
            "description": "已有的相同附件（同类别、同内容）不重复添加。",
            "parameters": [_p("submission_id")],
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["attachments", "attachment_kind"],
                "properties": {k: v for k, v in _schemas()["SubmitForm"]["properties"].items()
                               if k in ("attachments", "attachment_kind")}}}}},
            "responses": {
                "201": _json({"type": "object", "required": ["added", "submission"],
                              "properties": {"added": {"type": "integer", "minimum": 1}, "submission": _ref("Submission")}},
                             "已添加附件"),
                "200": _json({"type": "object", "required": ["added", "submission"],
                              "properties": {"added": {"const": 0}, "submission": _ref("Submission")}},
                             "附件都已存在，未重复添加"),
                "400": _error("请求有误", "FILE_REQUIRED", "TOO_MANY_FILES", "ATTACHMENT_KIND_REQUIRED",
                              "ATTACHMENT_KIND", "ATTACHMENT_EMPTY", "ATTACHMENT_TYPE"),
                "401": UNAUTHORIZED, "403": FORBIDDEN,
                "404": _error("提交不存在或不属于本单位", "SUBMISSION_NOT_FOUND"), "413": TOO_LARGE}}},
        "/submissions/{submission_id}/review": {"post": {
            "operationId": "reviewField", "tags": ["复核"], "summary": "复核一个字段：采纳或更正（仅管理员）",
            "description": "原始读取值保留在 report.record 中；决定写入审计日志，并重新校验该提交及相关提交。",
            "parameters": [_p("submission_id")],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("ReviewRequest")}}},
            "responses": {"200": _json(_ref("Submission"), "复核后的提交"),
                          "400": _error("请求有误", "BAD_REQUEST", "REVIEW_ACTION", "REVIEW_NO_FORM",
                                        "REVIEW_PATH_UNKNOWN", "REVIEW_NOT_FLAGGED", "REVIEW_VALUE_REQUIRED",
                                        "REVIEW_NOT_A_CANDIDATE", "REVIEW_VALUE_INVALID"),
                          "401": UNAUTHORIZED, "403": FORBIDDEN,
                          "404": _error("提交不存在", "SUBMISSION_NOT_FOUND"), "413": TOO_LARGE}}},
        **_lifecycle_paths(),
        **_account_paths(),
        "/review-queue": {"get": {
            "operationId": "reviewQueue", "tags": ["复核"], "summary": "待复核的字段（当前版本中未通过的提交，仅管理员）",
            "parameters": [{"name": "campaign", "in": "query", "description": "征集活动编号",
                            "schema": {"type": "string", "enum": sorted(catalog().campaigns)}},
                           _p("form"), _p("recommender"), *list_params],
            "responses": {"200": _json(_paged("ReviewQueueItem"), "待复核字段"), "400": PAGE_400,
                          "401": UNAUTHORIZED, "403": FORBIDDEN, "404": CAMPAIGN_404}}},
        "/campaigns/{campaign_id}/ingest": {"post": {
            "operationId": "ingest", "tags": ["批量导入"], "summary": "批量导入一个 zip（后台任务，仅管理员）",
            "description": "压缩包先保存，再在后台逐个文件解析入库；不安全的路径（ZIP_UNSAFE_PATH）、嵌套压缩包、"
                           "过大的文件逐个记录原因。用 poll_url 查询进度和每个文件的结果。",
            "parameters": [_p("campaign_id")],
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["file", "recommender"],
                "properties": {"file": {"type": "string", "format": "binary", "description": "zip 压缩包"},
                               "recommender": {"type": "string", "enum": _submitter_ids(),
                                               "description": "这些材料所属的报送单位编号"}}}}}},
            "responses": {
                "202": _json(_ref("IngestAccepted"), "已排队",
                             headers={"Location": {"schema": {"type": "string"}, "description": "任务地址"}}),
                "400": _error("请求有误", "FILE_REQUIRED", "FILE_MULTIPLE", "FILE_EMPTY", "TOO_MANY_FILES",
                              "ZIP_REQUIRED", "RECOMMENDER_REQUIRED", "RECOMMENDER_NOT_FOUND"),
                "401": UNAUTHORIZED, "403": FORBIDDEN, "404": CAMPAIGN_404, "413": TOO_LARGE}}},
        "/campaigns/{campaign_id}/compilations": {"post": {
            "operationId": "startCompilation", "tags": ["导出"],
            "summary": "在后台生成资料汇编 PDF（推荐单位账号只得本单位的）",
            "description": "整个征集活动的材料逐份转换需要数分钟，因此作为后台任务：返回 202 和 poll_url，"
                           "完成后从 /jobs/{job_id}/result 下载 PDF。",
            "parameters": [_p("campaign_id"), _p("recommender")],
            "responses": {
                "202": _json(_ref("IngestAccepted"), "已排队",
                             headers={"Location": {"schema": {"type": "string"}, "description": "任务地址"}}),
                "400": _error("报送单位编号不存在", "RECOMMENDER_NOT_FOUND"),
                "401": UNAUTHORIZED, "403": FORBIDDEN, "404": CAMPAIGN_404}}},
        "/jobs/{job_id}/result": {"get": {
            "operationId": "getJobResult", "tags": ["导出"], "summary": "下载资料汇编任务生成的 PDF",
            "parameters": [_p("job_id")],
            "responses": {"200": _binary("PDF 汇编", "application/pdf"), "401": UNAUTHORIZED, "403": FORBIDDEN,
                          "404": _error("任务不存在、不属于本单位，或尚未生成结果", "JOB_NOT_FOUND",
                                        "JOB_RESULT_NOT_READY")}}},
        "/jobs/{job_id}": {"get": {
            "operationId": "getJob", "tags": ["批量导入"], "summary": "后台任务（批量导入、资料汇编）的进度与结果（分页）",
            "parameters": [_p("job_id"), *list_params],
            "responses": {"200": _json(_ref("Job"), "任务"), "400": PAGE_400, "401": UNAUTHORIZED,
                          "403": FORBIDDEN, "404": _error("任务不存在或不属于本单位", "JOB_NOT_FOUND")}}},
        "/campaigns/{campaign_id}/export": {"get": {
            "operationId": "exportRecords", "tags": ["导出"], "summary": "导出记录（xlsx、CSV 或 JSON，仅管理员）",
            "description": "xlsx：每个表单一个工作表，表格字段另成工作表；csv：一个表单（多表单的征集须用 form 指定），"
                           "UTF-8 带 BOM；json：按表单分组的记录。公式样式的内容一律按文本写出。",
            "parameters": [_p("campaign_id"),
                           {"name": "format", "in": "query", "description": "导出格式",
                            "schema": {"type": "string", "enum": ["xlsx", "csv", "json"], "default": "xlsx"}},
                           _p("form"), _p("status")],
            "responses": {"200": _export_response(),
                          "400": _error("参数有误", "EXPORT_FORMAT", "EXPORT_FORM_REQUIRED", "BAD_REQUEST"),
                          "401": UNAUTHORIZED, "403": FORBIDDEN, "404": CAMPAIGN_404}}},
        "/campaigns/{campaign_id}/summary.xlsx": {"get": {
            "operationId": "exportSummary", "tags": ["导出"], "summary": "全部报送单位的推荐名单汇总表（仅管理员）",
            "parameters": [_p("campaign_id")],
            "description": "合并各报送单位当前的汇总表（通过、需复核、逾期），按报送单位和推荐排序排列。",
            "responses": {"200": _binary("汇总表", XLSX), "401": UNAUTHORIZED, "403": FORBIDDEN,
                          "404": _error("征集活动不存在，或没有推荐名单汇总表", "CAMPAIGN_NOT_FOUND",
                                        "SUMMARY_NOT_AVAILABLE")}}},
        "/campaigns/{campaign_id}/compilation.pdf": {"get": {
            "operationId": "compilePdf", "tags": ["导出"],
            "summary": "提交材料汇编成一个 PDF（供专家评审；推荐单位账号只得本单位的）",
            "description": "封面、目录（书签），再按报送单位和推荐排序排列各表单及附件；Word/Excel 经 LibreOffice 转为 PDF。",
            "parameters": [_p("campaign_id"), _p("recommender")],
            "responses": {"200": _binary("PDF 汇编", "application/pdf"),
                          "400": _error("报送单位编号不存在", "RECOMMENDER_NOT_FOUND"),
                          "401": UNAUTHORIZED, "403": FORBIDDEN, "404": CAMPAIGN_404,
                          "422": _error("无法汇编（如没有可汇编的材料）", "COMPILE_FAILED")}}},
    }


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of /api/v1 (built once per process from the catalogue)."""
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "示范性职业教育集团（联盟）材料报送平台 API",
            "version": "1.0.0",
            "description": (
                "生成、收集和校验《推荐书》《推荐名单汇总表》《工作总结》等表单。\n\n"
                "认证：除标注为公开的接口外，请求头须带 `Authorization: Bearer <API 令牌>`（令牌由平台管理员用 "
                "`flask tokens create` 发放）。管理员可见全部数据；推荐单位账号只能查看和修改本单位的提交"
                "（访问其他单位的提交返回 404）；学校账号不能使用这些接口（403）。复核、批量导入和导出仅限管理员。\n\n"
                "错误：所有错误都返回 `{\"error\": {\"code\": ..., \"message\": ...}}`，code 稳定，message 为中文说明"
                "及处理办法；服务器内部错误（500，INTERNAL_ERROR）不返回任何程序内部信息，只给出可在日志中查找的 "
                "reference 编号。\n\n错误码（与解析报告中的问题代码同一目录，按阶段列出；提示与处理办法见 "
                "docs/errors.md）：\n" + _codes_by_stage()
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "tags": [{"name": n, "description": d} for n, d in (
            ("公开", "无需令牌：征集活动、表单定义、模板下载与预填"), ("账号", "令牌所属账号"),
            ("报送", "提交表单与附件，查看提交、记录、历史与原始文件"), ("复核", "管理员复核被标记的字段"),
            ("批量导入", "zip 批量导入（后台任务）"), ("导出", "记录导出、汇总表与 PDF 汇编"))],
        "paths": _paths(),
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "jth_…",
                                               "description": "平台发放的 API 令牌（平台只保存其摘要）"}},
            "parameters": _params(),
            "schemas": _schemas(),
        },
    }


@bp.get("/openapi.json")
def openapi_json() -> Response:
    """This API's OpenAPI 3.1 document."""
    return jsonify(openapi_document())


def _lifecycle_paths() -> dict[str, Any]:
    """The lifecycle's actions (data/lifecycle/states.json says from which states each may start)."""
    not_found = _error("提交不存在", "SUBMISSION_NOT_FOUND")
    conflict = _error("当前状态不能执行此操作", "STATE_NOT_ALLOWED", "WITHDRAW_PAST_DEADLINE", "RESTORE_SUPERSEDED")
    forbidden = _error("无权执行此操作", "FORBIDDEN", "STATE_FORBIDDEN")

    def action(op: str, summary: str, body: str, *codes: str, result: str = "Submission") -> dict[str, Any]:
        return {"post": {
            "operationId": op, "tags": ["报送"], "summary": summary, "parameters": [_p("submission_id")],
            "requestBody": {"required": False, "content": {"application/json": {"schema": _ref(body)}}},
            "responses": {"200": _json(_ref(result), "操作后的提交"),
                          "400": _error("请求有误", "BAD_REQUEST", *codes), "401": UNAUTHORIZED, "403": forbidden,
                          "404": not_found, "409": conflict, "413": TOO_LARGE}}}

    return {
        "/submissions/{submission_id}/withdraw": action(
            "withdrawSubmission", "撤回（报送单位在截止日期前；管理员随时）：原文件保留，不再计入", "StateRequest"),
        "/submissions/{submission_id}/dismiss": action(
            "dismissUpload", "清除无法读取或不属于本单位的上传（原文件保留）", "StateRequest"),
        "/submissions/{submission_id}/return": action(
            "returnSubmission", "退回修改（仅管理员），附报送单位可见的说明", "ReturnRequest", "RETURN_MESSAGE_REQUIRED",
            "COMMENT_TOO_LONG"),
        "/submissions/{submission_id}/reassign": action(
            "reassignSubmission", "改派给正确的报送单位（仅管理员）；返回改派后的提交", "ReassignRequest",
            "REASSIGN_TARGET_UNKNOWN", "REASSIGN_SAME_UNIT"),
        "/submissions/{submission_id}/restore": action(
            "restoreSubmission", "恢复被退回、撤回或清除的提交（仅管理员）", "StateRequest"),
        "/submissions/{submission_id}/comments": {
            "get": {"operationId": "listComments", "tags": ["报送"], "summary": "报送单位与平台工作人员的留言（各版本）",
                    "parameters": [_p("submission_id")],
                    "responses": {"200": _json(_ref("Comments"), "留言"), "401": UNAUTHORIZED, "403": FORBIDDEN,
                                  "404": not_found}},
            "post": {"operationId": "postComment", "tags": ["报送"], "summary": "留言",
                     "parameters": [_p("submission_id")],
                     "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("CommentRequest")}}},
                     "responses": {"201": _json(_ref("Comment"), "新留言"),
                                   "400": _error("请求有误", "BAD_REQUEST", "COMMENT_EMPTY", "COMMENT_TOO_LONG"),
                                   "401": UNAUTHORIZED, "403": FORBIDDEN, "404": not_found, "413": TOO_LARGE}}},
        "/campaigns/{campaign_id}/letter-order": {
            "get": {"operationId": "getLetterOrder", "tags": ["报送"], "summary": "本单位推荐书的推荐排序",
                    "description": "管理员须用 recommender 指明单位。",
                    "parameters": [_p("campaign_id"), _p("recommender")],
                    "responses": {"200": _json(_ref("LetterOrder"), "按排序列出的当前推荐书"),
                                  "400": _error("请求有误", "RECOMMENDER_REQUIRED", "RECOMMENDER_NOT_FOUND"),
                                  "401": UNAUTHORIZED, "403": FORBIDDEN,
                                  "404": _error("征集活动不存在或没有汇总表", "CAMPAIGN_NOT_FOUND", "SUMMARY_NOT_AVAILABLE")}},
            "put": {"operationId": "setLetterOrder", "tags": ["报送"], "summary": "保存推荐排序（每份当前推荐书一次，第一位在前）",
                    "parameters": [_p("campaign_id")],
                    "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("LetterOrderRequest")}}},
                    "responses": {"200": _json(_ref("LetterOrder"), "保存后的排序"),
                                  "400": _error("请求有误", "BAD_REQUEST", "LETTER_ORDER_INVALID", "RECOMMENDER_REQUIRED",
                                                "RECOMMENDER_NOT_FOUND"),
                                  "401": UNAUTHORIZED, "403": FORBIDDEN,
                                  "404": _error("征集活动不存在或没有汇总表", "CAMPAIGN_NOT_FOUND", "SUMMARY_NOT_AVAILABLE"),
                                  "413": TOO_LARGE}}},
        "/campaigns/{campaign_id}/prefilled-summary.xlsx": {"get": {
            "operationId": "prefilledSummary", "tags": ["报送"],
            "summary": "按推荐排序、由推荐书预填的推荐名单汇总表（供核对、盖章后上传）",
            "parameters": [_p("campaign_id"), _p("recommender")],
            "responses": {"200": _binary("预填的汇总表", XLSX),
                          "400": _error("请求有误", "RECOMMENDER_REQUIRED", "RECOMMENDER_NOT_FOUND"),
                          "401": UNAUTHORIZED, "403": FORBIDDEN,
                          "404": _error("征集活动不存在或没有汇总表", "CAMPAIGN_NOT_FOUND", "SUMMARY_NOT_AVAILABLE")}}},
        "/campaigns/{campaign_id}/confirm": {"post": {
            "operationId": "confirmItems", "tags": ["复核"], "summary": "批量确认一个整体问题（如逾期提交，仅管理员）",
            "parameters": [_p("campaign_id")],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("ConfirmRequest")}}},
            "responses": {"200": _json(_ref("Confirmed"), "已确认的提交"),
                          "400": _error("请求有误", "BAD_REQUEST", "BULK_NOT_DOCUMENT_ITEM", "BULK_REASON_REQUIRED"),
                          "401": UNAUTHORIZED, "403": forbidden, "404": CAMPAIGN_404, "413": TOO_LARGE}}},
    }


def _account_paths() -> dict[str, Any]:
    """Accounts (admins only); one-time passwords appear in these answers and nowhere else."""
    username = {"name": "username", "in": "path", "required": True, "description": "用户名",
                "schema": {"type": "string", "minLength": 1, "maxLength": 80}}
    not_found = _error("账号不存在", "ACCOUNT_NOT_FOUND")

    def act(op: str, summary: str, *codes: str) -> dict[str, Any]:
        responses = {"200": _json(_ref("Account"), "操作后的账号"), "401": UNAUTHORIZED, "403": FORBIDDEN,
                     "404": not_found}
        if codes:
            responses["409"] = _error("不能执行", *codes)
        return {"post": {"operationId": op, "tags": ["账号"], "summary": summary, "parameters": [username],
                         "responses": responses}}

    return {
        "/users": {
            "get": {"operationId": "listUsers", "tags": ["账号"], "summary": "全部账号（仅管理员）",
                    "responses": {"200": _json({"type": "object", "required": ["users"], "properties": {
                        "users": {"type": "array", "items": _ref("Account")}}}, "账号"),
                        "401": UNAUTHORIZED, "403": FORBIDDEN}},
            "post": {"operationId": "createUser", "tags": ["账号"], "summary": "新建账号，返回一次性密码（仅管理员）",
                     "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("AccountRequest")}}},
                     "responses": {"201": _json(_ref("Account"), "新账号及其一次性密码"),
                                   "400": _error("请求有误", "BAD_REQUEST", "ACCOUNT_USERNAME_INVALID",
                                                 "ACCOUNT_ROLE_INVALID", "ACCOUNT_UNIT_REQUIRED", "ACCOUNT_UNIT_UNKNOWN",
                                                 "ACCOUNT_EMAIL_INVALID", "ACCOUNT_PASSWORD_WEAK"),
                                   "401": UNAUTHORIZED, "403": FORBIDDEN, "409": _error("已存在", "ACCOUNT_EXISTS"),
                                   "413": TOO_LARGE}}},
        "/campaigns/{campaign_id}/accounts": {"post": {
            "operationId": "createCampaignAccounts", "tags": ["账号"],
            "summary": "为征集活动名单中还没有账号的每个单位建账号（仅管理员）",
            "parameters": [_p("campaign_id")],
            "responses": {
                "201": _json({"type": "object", "required": ["campaign", "accounts"], "properties": {
                    "campaign": {"type": "string"}, "accounts": {"type": "array", "items": _ref("Issued")}}},
                    "新建的账号及一次性密码"),
                "200": _json({"type": "object"}, "都已有账号，没有新建"),
                "401": UNAUTHORIZED, "403": FORBIDDEN, "404": CAMPAIGN_404}}},
        "/users/{username}/reset-password": act("resetPassword", "重置为新的一次性密码（仅管理员）"),
        "/users/{username}/disable": act("disableUser", "停用账号（仅管理员）", "ACCOUNT_SELF_DISABLE"),
        "/users/{username}/enable": act("enableUser", "启用账号（仅管理员）"),
        "/users/{username}/unlock": act("unlockUser", "解锁账号（仅管理员）"),
    }
