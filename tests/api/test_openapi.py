"""The OpenAPI document is true: every /api/v1 route is in it, and the live app answers as it says.

schemathesis generates requests for every operation from the document (valid and invalid ones), sends them to
the WSGI app with an admin token and checks that no answer is a server error and that every status code,
content type, header and JSON body is the one documented.
"""

from __future__ import annotations

import ast
import io
import re
import zipfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from service import create_app
from service.api.errors import HTTP_CODES, OTHER_HTTP_ERROR
from service.api.openapi import openapi_document
from service.problems.catalogue import codes
from service.render.form import render
from service.store.auth import create_token, create_user
from tests.support.samples import new_store, sample

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
MAX_EXAMPLES = 15


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    """One app for the whole module: an admin, a 辽宁 account, two rejected submissions and an ingest job."""
    tmp = tmp_path_factory.mktemp("openapi")
    store = new_store(tmp)
    with store.session.begin() as s:
        admin = create_token(s, create_user(s, "admin", "password-123", "admin"))
        liaoning = create_token(s, create_user(s, "liaoning", "password-123", "recommender", "edu-ln"))
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": store.url,
                      "FILE_STORE": str(store.files.root)})
    app.extensions["jth_store"] = store
    client = app.test_client()
    # Both are rejected (a bad e-mail; a table naming a group without its 推荐书), so the review queue has
    # flagged fields and the compilation has nothing to convert (its PDF is tested in test_api_store).
    letter = render("jth-2020", "recommendation_letter",
                    {**sample("recommendation_letter"), "contact_email": "not-an-email"})
    table = render("jth-2020", "summary_table", sample("summary_table"))
    ids = {}
    for rendered in (letter, table):
        r = client.post("/api/v1/campaigns/jth-2020/submissions", headers={"Authorization": f"Bearer {liaoning}"},
                        data={"file": (io.BytesIO(rendered.content), rendered.filename)})
        assert r.status_code == 201 and r.get_json()["status"] == "rejected", r.get_json()
        ids.setdefault("submission_id", r.get_json()["submission_id"])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("../evil.docx", letter.content)
        zf.writestr("readme.txt", "not a form")
    r = client.post("/api/v1/campaigns/jth-2020/ingest", headers={"Authorization": f"Bearer {admin}"},
                    data={"file": (io.BytesIO(buf.getvalue()), "batch.zip"), "recommender": "edu-ln"})
    assert r.status_code == 202
    ids["job_id"] = r.get_json()["job_id"]
    yield app, {"Authorization": f"Bearer {admin}"}, ids
    if "jth_jobs" in app.extensions:  # let the ingest jobs the fuzzing started finish before the store goes
        app.extensions["jth_jobs"].queue.join()
    store.dispose()


@pytest.fixture(scope="module")
def api_schema(api):
    app = api[0]
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


# schemathesis' own pytest integration (``from_fixture``) reads a pytest internal that pytest 9 removed, so each
# operation gets a plain parametrized test that drives hypothesis with the operation's strategy.
# Valid requests for every operation; invalid ones for those that take parameters or a body; and for operations
# on one submission or job, valid requests on one that exists (random ids mostly find nothing).
POSITIVE, NEGATIVE = GenerationMode.POSITIVE, GenerationMode.NEGATIVE
CASES = [(method.upper(), path, variant) for path, ops in openapi_document()["paths"].items()
         for method, op in ops.items()
         for variant in ("positive", "negative", "existing")
         if variant == "positive"
         or variant == "negative" and (op.get("parameters") or op.get("requestBody"))
         or variant == "existing" and ("{submission_id}" in path or "{job_id}" in path)]


@pytest.mark.parametrize(("method", "path", "variant"), CASES, ids=[f"{m} {p} {v}" for m, p, v in CASES])
def test_every_operation_answers_as_documented(api, api_schema, method, path, variant):
    _app, headers, ids = api
    operation = api_schema[path][method]
    fixed = {k: v for k, v in ids.items() if variant == "existing" and "{" + k + "}" in path}
    strategy = operation.as_strategy(NEGATIVE if variant == "negative" else POSITIVE, headers=headers,
                                     path_parameters=fixed or None)

    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def check(case):
        case.call_and_validate(checks=CHECKS)

    check()


def test_document_is_openapi_3_1_with_bearer_security(api):
    doc = api[0].test_client().get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        **doc["components"]["securitySchemes"]["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert doc["components"]["schemas"]["Error"]["required"] == ["error"]
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert re.search(r"[\u4e00-\u9fff]", op["summary"]), (method, path)
            assert op.get("security", doc["security"]) in ([], [{"bearerAuth": []}])


def test_every_api_route_is_documented(api):
    app = api[0]
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    prefix = doc["servers"][0]["url"]
    documented = {(prefix + path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_0-9]+)>", r"{\1}", rule.rule)
        routes |= {(path, method) for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes, "no /api/ routes"
    assert routes - documented == set(), "routes missing from openapi.json"
    assert documented - routes == set(), "openapi.json documents routes that do not exist"


def test_token_protected_operations_are_the_ones_documented_as_such(api):
    """An operation documented without security answers without a token; the others answer 401."""
    app = api[0]
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    public = {path for path, ops in doc["paths"].items() for op in ops.values() if op.get("security") == []}
    client = app.test_client()
    for path, ops in doc["paths"].items():
        url = "/api/v1" + path.replace("{campaign_id}", "jth-2020").replace("{form_id}", "recommendation_letter")
        url = re.sub(r"\{[a-z_]+\}", "1", url)
        for method in ops:
            r = client.open(url, method=method.upper(), json={} if method == "post" else None)
            if path in public:
                assert r.status_code != 401, (method, path)
            else:
                assert (r.status_code, r.get_json()["error"]["code"]) == (401, "AUTH_REQUIRED"), (method, path)


SERVICE = Path(__file__).resolve().parents[2] / "service"


def _raised_codes() -> set[str]:
    """The codes the API answers with, read from the source (many refusals are on paths no request here takes):
    every ``ApiError`` and ``IntakeError`` raised in service/ (the API answers both), each ``CompileError`` (the
    compilation route answers with its code), and the codes of the HTTP errors Flask raises itself."""
    found = set(HTTP_CODES.values()) | {OTHER_HTTP_ERROR}
    for path in SERVICE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("ApiError", "IntakeError", "CompileError") and node.args
                    and isinstance(node.args[0], ast.Constant)):
                found.add(node.args[0].value)
    return found


def test_every_code_the_api_answers_with_is_in_the_enum_and_the_enum_is_the_catalogue(api):
    doc = api[0].test_client().get("/api/v1/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    enum = schemas["ErrorCode"]["enum"]
    assert schemas["Error"]["properties"]["error"]["properties"]["code"] == {"$ref": "#/components/schemas/ErrorCode"}
    assert set(enum) <= set(codes()), "the enum names codes the catalogue does not hold"
    assert len(schemas["ErrorCode"]["x-enum-descriptions"]) == len(enum)
    raised = _raised_codes()
    assert {"FORBIDDEN", "AUTH_INVALID", "MARKUP_UNAVAILABLE", "COMPILE_FAILED", "REQUEST_FAILED"} <= raised
    assert raised - set(enum) == set(), "codes the API answers with that its document does not list"
    documented = {code for ops in doc["paths"].values() for op in ops.values()
                  for answer in op["responses"].values() if "；错误码：" in answer["description"]
                  for code in answer["description"].split("；错误码：", 1)[1].split("、")}
    assert documented and documented - set(enum) == set(), "operations document codes outside the enum"
    for code in enum:
        assert f"`{code}`" in doc["info"]["description"], f"{code} is not listed in the document's description"
