"""The problem catalogue: its data file, the one way to make a problem, the reference page, and that the code base
and the catalogue name the same codes."""

from __future__ import annotations

import ast
import json
import pickle
import re
import string
from collections import defaultdict
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from service.actions.intake import IntakeError
from service.office.convert.protocol import ConversionError
from service.outputs.dossier import CompileError
from service.problems import docs
from service.problems.catalogue import (
    CATALOGUE,
    DATA,
    FIX_RESAVE,
    UnknownProblem,
    codes,
    entries,
    entry,
    message,
    phrases,
    stages,
)
from service.problems.report import ERROR, INFO, REVIEW, problem, reported

ROOT = Path(__file__).resolve().parents[2]
SERVICE = ROOT / "service"
CHINESE = re.compile(r"[\u4e00-\u9fff]")
CODE = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*")
# A literal on a line that reads the environment or the app's configuration names a setting, not a problem.
SETTING = re.compile(r"environ|getenv|\bconfig\b|_env", re.IGNORECASE)


def test_the_catalogue_matches_its_schema():
    schema = json.loads((ROOT / "data/schemas/problems.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    errors = list(Draft202012Validator(schema).iter_errors(json.loads(DATA.read_text(encoding="utf-8"))))
    assert not errors, [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]]


def test_every_code_belongs_to_a_known_stage_and_every_stage_has_codes():
    known = [s.id for s in stages()]
    assert len(set(known)) == len(known)
    assert {e.stage for e in entries()} == set(known)


def _names(template: str | None) -> list[str]:
    return [n for _, n, _, _ in string.Formatter().parse(template or "") if n is not None]


def test_templates_name_their_fields_and_place_the_fix():
    for e in entries():
        if e.fix is not None and e.message is not None:
            assert _names(e.message).count("fix") == 1, f"{e.code}: its fix has a place in its message"
        for name, own in e.variants.items():
            if "fix" in own:
                assert _names(own.get("message", e.message)).count("fix") == 1, f"{e.code}.{name}: fix unused"
        for variant in e.variant_names():
            message_template, fix = e.templates(variant)
            where = f"{e.code}.{variant}" if variant else e.code
            assert _names(message_template).count("fix") <= 1 and "fix" not in _names(fix), where
            assert all(re.fullmatch(r"[a-z][a-z0-9_]*", name) for name in e.fields(variant)), where
            assert CHINESE.search(docs.shown(message_template, fix)), f"{where}: the message is in Chinese"


def test_the_file_guard_keeps_its_catalogue_shape_and_texts():
    assert set(CATALOGUE) == {e.code for e in entries() if e.stage == "file"}
    assert all(set(item) == {"title", "message", "http_status"} for item in CATALOGUE.values())
    assert FIX_RESAVE == phrases()["resave"] == "请用 Word/WPS/Excel 打开后“另存为”新的 .docx 或 .xlsx 文件再上传。"
    assert CATALOGUE["ZIP_BOMB"]["message"] == (
        "文件内部数据异常（解压后体积过大、内部文件过多或嵌套压缩包，疑似压缩炸弹），已拒绝读取。" + FIX_RESAVE
        + "如确为超大文件，请拆分后分别上传。")
    assert CATALOGUE["OOXML_INVALID"]["message"] == (
        "文件是压缩包格式，但不是有效的 Word/Excel 文档（缺少文档主体）。请不要上传 .zip 压缩包或改过扩展名的文件，"
        + FIX_RESAVE)
    assert CATALOGUE["FILE_EMPTY"] == {
        "title": "文件为空", "http_status": 400,
        "message": "上传的文件是空的（0 字节），可能上传中断或文件未保存。请确认文件在电脑上能正常打开后重新上传。"}


def test_a_problem_takes_its_wording_and_severity_from_the_catalogue():
    count = problem("CHAR_COUNT", count=4321, limit=5000)
    assert (count.code, count.severity, count.message) == ("CHAR_COUNT", INFO, "正文共 4321 字（上限 5000 字）。")
    late = problem("SUBMISSION_LATE", deadline="2020-11-23", days=3)
    assert late.severity == REVIEW and late.message.startswith("提交时间晚于截止日期 2020-11-23（逾期 3 天）")
    stamp = problem("FORM_STAMP_MISMATCH", stamped="工作总结", form="推荐书", score=0.25)
    assert "但内容是《推荐书》（匹配度 25%），已按内容识别；请核对" in stamp.message
    uncertain = problem("FIELD_UNCERTAIN", variant="two_digit_year", path="founded", title="成立时间")
    assert uncertain.message == "“成立时间”：年份只写了两位，无法确定是哪一年，请写四位年份（如 2020-11-23）。"
    assert (uncertain.path, uncertain.title, uncertain.severity) == ("founded", "成立时间", REVIEW)
    near = problem("RECOMMENDER_UNKNOWN", variant="near", name="辽宁教育厅", near="辽宁省教育厅", candidates=["辽宁省教育厅"])
    assert near.message == "推荐单位“辽宁教育厅”不在本次推荐范围名单中。是否应为“辽宁省教育厅”？"
    assert near.candidates == ["辽宁省教育厅"]
    assert problem("ZIP_BOMB").message == CATALOGUE["ZIP_BOMB"]["message"]
    assert reported("CONVERT_BUSY", "文件转换服务繁忙，请稍后重试。").severity == ERROR
    assert message("REVIEW_VALUE_REQUIRED", "candidates") == "该字段有多个候选值，请指定采纳哪一个（value）。"


def test_a_problem_refuses_what_the_catalogue_does_not_know():
    with pytest.raises(UnknownProblem):
        problem("NOT_A_CODE")
    with pytest.raises(UnknownProblem):
        problem("CHAR_COUNT", variant="nope", count=1, limit=2)
    with pytest.raises(UnknownProblem):
        problem("FIELD_UNCERTAIN", title="成立时间")  # this code is only worded per situation
    with pytest.raises(TypeError, match="missing fields \\['limit'\\]"):
        problem("CHAR_COUNT", count=1)
    with pytest.raises(TypeError, match="unknown fields \\['limits'\\]"):
        problem("CHAR_COUNT", count=1, limit=2, limits=3)
    with pytest.raises(TypeError, match="title"):
        problem("FIELD_STRUCK", struck="某某")
    with pytest.raises(UnknownProblem):
        reported("NOT_A_CODE", "随便")


def test_refusals_of_a_request_are_worded_by_the_catalogue_and_survive_pickling():
    error = IntakeError("ATTACHMENT_TOO_LARGE", filename="说明.pdf", limit=50)
    assert (error.code, error.http_status) == ("ATTACHMENT_TOO_LARGE", 413)
    assert error.message == "附件“说明.pdf”超过 50 MB，请压缩后上传。"
    clone = pickle.loads(pickle.dumps(error))
    assert (clone.code, clone.message, clone.http_status) == (error.code, error.message, error.http_status)
    assert IntakeError("MARKUP_UNAVAILABLE", "not_converted").http_status == 409


def test_failures_of_the_converter_and_the_dossier_are_worded_by_the_catalogue_and_survive_pickling():
    resave = {"apps": "Excel/WPS", "save_as": "xlsx"}
    failed = ConversionError("CONVERT_TIMEOUT", seconds=60.0, **resave, detail="no answer within 60.0 s")
    assert failed.message == "文件转换超时（超过 60 秒），文件可能过大或已损坏。请用 Excel/WPS 另存为 .xlsx 后重新上传。"
    assert str(failed) == f"CONVERT_TIMEOUT: {failed.message} (no answer within 60.0 s)"
    clone = pickle.loads(pickle.dumps(failed))
    assert (clone.code, clone.message, clone.detail) == (failed.code, failed.message, failed.detail)
    with pytest.raises(TypeError, match="save_as"):
        ConversionError("CONVERT_FAILED", "crashed", apps="Word/WPS")
    empty = CompileError("COMPILE_FAILED", "unit", campaign="jth-2020", recommender="edu-bj")
    assert str(empty) == "征集活动 jth-2020、单位 edu-bj 没有可汇编的材料（需为通过、需复核或逾期状态的当前版本）。"
    clone = pickle.loads(pickle.dumps(empty))
    assert (clone.code, clone.variant, clone.fields, str(clone)) == (empty.code, empty.variant, empty.fields, str(empty))


def test_codes_lists_every_code_once_sorted():
    assert codes() == sorted({e.code for e in entries()})
    assert all(entry(code).code == code for code in codes())


def test_the_reference_page_is_generated_from_the_catalogue():
    page = (ROOT / "docs/errors.md").read_text(encoding="utf-8")
    assert page == docs.errors_page(), "docs/errors.md is stale: run python -m service.problems.docs"
    assert docs.main(["--check"]) == 0
    for code in codes():
        assert f"### `{code}` {entry(code).title}" in page


def _sources() -> list[tuple[str, ast.Module, list[str]]]:
    """Every module of service/ outside the catalogue: its path, its tree and its lines."""
    out = []
    for path in sorted(SERVICE.rglob("*.py")):
        if path.is_relative_to(SERVICE / "problems"):
            continue
        source = path.read_text(encoding="utf-8")
        out.append((path.relative_to(ROOT).as_posix(), ast.parse(source), source.splitlines()))
    return out


def _code_literals() -> dict[str, set[str]]:
    """Every upper-case string literal in service/ outside the catalogue, with the files it is in.

    A static scan rather than codes collected while the tests run: many codes are raised on paths the suite
    cannot cheaply reach (a hostile file, a converter that dies, each API refusal), and a code written at a
    call site is what a client will one day receive. Names exported in ``__all__`` and literals on a line that
    reads the environment or the configuration are settings, not problems.
    """
    found: dict[str, set[str]] = defaultdict(set)
    for where, tree, lines in _sources():
        exported = {id(node) for assign in ast.walk(tree) if isinstance(assign, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == "__all__" for t in assign.targets)
                    for node in ast.walk(assign.value)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and CODE.fullmatch(node.value)
                    and id(node) not in exported and not SETTING.search(lines[node.lineno - 1])):
                found[node.value].add(where)
    return found


#: What takes a catalogue code as its first argument and words it from the entry (then the variant, positional;
#: ``problem`` takes ``variant=``), with the keywords of each that are not fields of the wording.
ATTRIBUTES = {"path", "title", "where", "candidates"}
WORDED = {"problem": ATTRIBUTES | {"variant"}, "IntakeError": set(), "ApiError": {"headers", "extra"},
          "ConversionError": {"detail"}, "CompileError": set(), "message": set()}
#: What takes a code first and a text another layer has worded (or none: the entry's own).
CODED = {"reported", "InputRejected", "entry"}


def _code_of(node: ast.expr) -> str | None:
    """The code an argument names: a literal, or a constant named after the code it holds (``CONVERT_FAILED``;
    its value is a literal the scan of literals checks)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name) and node.id in codes():
        return node.id
    return None


def _coded_places() -> list[tuple[str, str]]:
    """Every code written where a code goes, single words (``FORBIDDEN``) included: the first argument of
    :data:`WORDED` and :data:`CODED` callables, and any ``code=`` keyword."""
    out = []
    for where, tree, _lines in _sources():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            if name in WORDED.keys() | CODED and node.args and (code := _code_of(node.args[0])):
                out.append((f"{where}:{node.lineno}", code))
            out += [(f"{where}:{node.lineno}", code) for k in node.keywords
                    if k.arg == "code" and (code := _code_of(k.value))]
    return out


def test_every_code_the_code_base_writes_is_in_the_catalogue():
    missing = {code: sorted(files) for code, files in _code_literals().items() if "_" in code and code not in codes()}
    assert not missing, f"add these codes to data/problems.json (or say why they are not problems): {missing}"
    places = _coded_places()
    assert len(places) > 100 and {"FORBIDDEN", "BAD_REQUEST", "CONVERT_FAILED"} <= {code for _, code in places}
    unknown = [f"{where}: {code}" for where, code in places if code not in codes()]
    assert not unknown, f"codes written where a code goes that the catalogue does not hold: {unknown}"


def test_no_code_is_made_up_at_run_time():
    """A code put together while running (``f"HTTP_{status}"``) is one no catalogue entry, reference page or
    OpenAPI enum can list."""
    def code_shaped(node: ast.JoinedStr) -> bool:  # every literal piece upper-case and joined by "_"
        pieces = [str(v.value) for v in node.values if isinstance(v, ast.Constant)]
        return any("_" in p for p in pieces) and all(re.fullmatch(r"[A-Z0-9_]*", p) for p in pieces)

    made = [f"{where}:{node.lineno}" for where, tree, _lines in _sources() for node in ast.walk(tree)
            if isinstance(node, ast.JoinedStr) and code_shaped(node)]
    assert not made, f"codes built from pieces (name an entry of data/problems.json instead): {made}"


def test_every_code_in_the_catalogue_is_used_somewhere():
    unused = sorted(set(codes()) - set(_code_literals()))
    assert not unused, f"no code in service/ uses these catalogue entries: {unused}"


def test_the_converter_worker_spells_catalogue_codes():
    """worker.py runs under /usr/bin/python3 -I and cannot import the catalogue, so it writes the two codes it
    answers with again: they must still be entries (its texts are never shown; the client words them)."""
    tree = ast.parse((SERVICE / "office/convert/worker.py").read_text(encoding="utf-8"))
    spelled = {target.id: node.value.value for node in tree.body if isinstance(node, ast.Assign)
               for target in node.targets if isinstance(target, ast.Name) and target.id.startswith("CODE_")
               and isinstance(node.value, ast.Constant)}
    assert spelled == {"CODE_FAILED": "CONVERT_FAILED", "CODE_UNSUPPORTED": "CONVERT_UNSUPPORTED"}
    assert all(entry(code).stage == "convert" for code in spelled.values())


def _calls() -> list[tuple[str, str, str | None, set[str], bool, bool]]:
    """Each call in service/ that words a code (:data:`WORDED`): where, code, variant (None: the code's own; "?"
    when it comes from a variable), the field keywords, whether a title is given, and whether a ``**mapping``
    other than ``**at`` (the place: path, title, where) may add more."""
    out = []
    for where, tree, _lines in _sources():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in WORDED
                    and node.args and (code := _code_of(node.args[0]))):
                continue
            made = node.func.id == "problem"  # a Problem's place is not part of its wording; a refusal has none
            variant_node = next((k.value for k in node.keywords if k.arg == "variant"), None) if made else (
                node.args[1] if len(node.args) > 1 else None)
            variant = None if variant_node is None else (
                variant_node.value if isinstance(variant_node, ast.Constant) else "?")
            named = {k.arg for k in node.keywords if k.arg is not None}
            splats = [k.value for k in node.keywords if k.arg is None]
            open_ended = any(not (isinstance(s, ast.Name) and s.id == "at") for s in splats)
            titled = made and ("title" in named or any(isinstance(s, ast.Name) and s.id == "at" for s in splats))
            out.append((f"{where}:{node.lineno}", code, variant, named - WORDED[node.func.id], titled, open_ended))
    return out


def test_every_call_site_gives_the_fields_its_wording_needs():
    """Checked from the source, so a call the tests do not reach cannot fail for a person first."""
    calls = _calls()
    assert len(calls) > 100
    for where, code, variant, named, titled, open_ended in calls:
        spec = entry(code)
        if variant == "?" or open_ended:
            known = set().union(*(spec.fields(v) for v in spec.variant_names()))
            assert named <= known, f"{where}: {code} has no fields {sorted(named - known)}"
            continue
        wanted = spec.fields(variant)
        if titled:
            wanted = wanted - {"title"}
        assert named == wanted, f"{where}: {code}{'.' + variant if variant else ''} needs {sorted(wanted)}"
