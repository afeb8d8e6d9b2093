"""A mistake in the campaigns' data is told in Chinese with its file and place, never as a traceback: each case below
edits a copy of the shipped data the way an operator might get it wrong, and loads it as every command does."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from service.forms.catalog import load_catalog
from service.forms.datafile import DataError
from service.forms.versions import fingerprint
from tests.support.samples import ROOT

CJK = re.compile(r"[\u4e00-\u9fff]")
#: What an operator must never be shown: jsonschema's English, a regular expression, a Python type.
NOT_FOR_PEOPLE = re.compile(r"does not match|is not valid|is a required property|\^\(|\\\.|Traceback|KeyError")


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "install"
    for name in ("data", "schemas", "templates"):
        shutil.copytree(ROOT / name, root / name)
    return root


def _edit(root: Path, name: str, change: Callable[[dict], None]) -> None:
    path = root / name
    doc = json.loads(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")


def _refused(root: Path) -> list[str]:
    with pytest.raises(DataError) as raised:
        load_catalog(root)
    for line in raised.value.problems:
        assert CJK.search(line) and not NOT_FOR_PEOPLE.search(line), line
    return raised.value.problems


def test_a_template_named_with_a_digit_is_a_template_like_any_other(tmp_path):
    root = _copy(tmp_path)
    shutil.copy(root / "templates/docx/recommendation_letter.docx",
                root / "templates/docx/recommendation_letter_2021.docx")
    _edit(root, "data/campaigns/jth-2020.json",
          lambda d: d["forms"][0].update(template="docx/recommendation_letter_2021.docx"))
    form = load_catalog(root).form("jth-2020", "recommendation_letter")
    assert form.template_path.name == "recommendation_letter_2021.docx"


def _set(*steps, value):
    def change(doc):
        for step in steps[:-1]:
            doc = doc[step]
        doc[steps[-1]] = value
    return change


def _drop(*steps):
    def change(doc):
        for step in steps[:-1]:
            doc = doc[step]
        del doc[steps[-1]]
    return change


CAMPAIGN = "data/campaigns/jth-2020.json"
MISTAKES = {
    "a template name in Chinese": (CAMPAIGN, _set("forms", 0, "template", value="docx/推荐书.docx"),
                                   "forms[0].template（表单 → 第 1 项 → 模板文件）：模板文件写作 docx/文件名.docx"),
    "a template that is not there": (CAMPAIGN, _set("forms", 0, "template", value="docx/letter_2021.docx"),
                                     "forms[0].template（表单 → 第 1 项 → 模板文件）：找不到文件 templates/docx/letter_2021.docx"),
    "a day that does not exist": (CAMPAIGN, _set("deadline", value="2020-11-31"),
                                  "deadline（截止日期）：“2020-11-31”不是日期"),
    "a missing 文号": (CAMPAIGN, _drop("document_number"), "缺少“文号（document_number）”"),
    "a misspelt setting": (CAMPAIGN, _set("forms", 1, "max_char", value=3), "不认识“max_char”"),
    "a list that does not exist": (CAMPAIGN, _set("excluded_groups", value="second_batch"),
                                   "excluded_groups（不予推荐的名单）：名单“second_batch”不存在"),
    "a rule on a field the form lacks": (CAMPAIGN, _set("rules", "sums", 0, "total", value="members_totl"),
                                         "表单“recommendation_letter”中没有字段“members_totl”"),
    "a rule on a form the campaign lacks": (CAMPAIGN, _set("rules", "ranking", "form", value="summary"),
                                            "本征集活动没有表单“summary”"),
    "a message naming what no one fills in": (CAMPAIGN, _set("messages", "GROUP_FIRST_BATCH", value="“{name}”在{lst}中"),
                                              "提示中的 {lst} 无法填入"),
    "a comparison with an unknown operator": (
        CAMPAIGN, _set("rules", "compare", value=[{"form": "recommendation_letter", "field": "founded", "op": "=<",
                                                   "campaign_date": "issued"}]),
        "比较方式只能是 <、<=、>、>=、==、!= 之一"),
    "a rule message with a stray brace": (
        CAMPAIGN, _set("rules", "count", value=[{"form": "recommendation_letter", "field": "members", "max": 3,
                                                 "message": "成员单位最多 {max 个"}]),
        "花括号不能单独使用"),
    "a time zone that is not one": (CAMPAIGN, _set("timezone", value="Beijing"), "“Beijing”不是时区名称"),
    "a unit type the campaign does not have": ("data/reference/recommenders.json",
                                               _set("recommenders", 0, "type", value="province"),
                                               "data/reference/recommenders.json 的 recommenders[0].type"),
    "a comma too many": (CAMPAIGN, None, "data/campaigns/jth-2020.json 第 "),
}


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_a_mistake_in_the_data_is_told_with_its_file_and_place(tmp_path, mistake):
    root = _copy(tmp_path)
    name, change, words = MISTAKES[mistake]
    if change is None:
        path = root / name
        path.write_text(path.read_text(encoding="utf-8").replace('"issuer"', '"issuer",,', 1), encoding="utf-8")
    else:
        _edit(root, name, change)
    problems = _refused(root)
    assert any(words in line for line in problems), problems
    assert all(line.startswith(("data/", "schemas/")) for line in problems), problems


def test_every_problem_of_a_file_is_told_at_once(tmp_path):
    root = _copy(tmp_path)
    _edit(root, CAMPAIGN, _set("rules", "sums", 0, "total", value="members_totl"))
    _edit(root, "data/campaigns/ln-2018.json", _set("eligible_groups", value="liaoning"))
    problems = _refused(root)
    assert len(problems) == 2 and {p.split(" ")[0] for p in problems} == {CAMPAIGN, "data/campaigns/ln-2018.json"}


@pytest.mark.parametrize(("change", "words"), [
    (_set("properties", "members_total", "minimun", value=1),
     "properties.members_total：“minimun”不是 JSON Schema 2020-12 的关键字，校验时会被忽略"),
    (_set("properties", "contact_phone", "format", value="phone"), "平台不检查“phone”格式"),
    (_set("$schema", value="http://json-schema.org/draft-07/schema#"),
     "$schema 应为 https://json-schema.org/draft/2020-12/schema"),
    (_set("properties", "members_total", "minimum", value="0"), "不是有效的 JSON Schema 2020-12（type 写法有误）"),
])
def test_a_form_schema_the_validator_would_partly_ignore_is_refused(tmp_path, change, words):
    root = _copy(tmp_path)
    _edit(root, "schemas/recommendation_letter.schema.json", change)
    problems = _refused(root)
    assert any(line.startswith("schemas/recommendation_letter.schema.json") and words in line for line in problems)


def test_a_changed_schema_must_change_its_version_and_the_message_says_what_to_register(tmp_path):
    root = _copy(tmp_path)
    _edit(root, "schemas/summary_table.schema.json", _set("properties", "rows", "maxItems", value=6))
    [problem] = _refused(root)
    changed = json.loads((root / "schemas/summary_table.schema.json").read_text(encoding="utf-8"))
    assert problem.startswith("schemas/summary_table.schema.json：表单结构与已登记的 1.0.0 版不同，但 x-version 仍是 1.0.0")
    assert f'{{"version": "1.1.0", "fingerprint": "{fingerprint(changed)}"}}' in problem
    # Titles and descriptions change no record: rewording a label needs no new version.
    _edit(root, "schemas/summary_table.schema.json", _set("properties", "rows", "maxItems", value=5))
    _edit(root, "schemas/summary_table.schema.json", _set("properties", "rows", "title", value="推荐名单（按推荐顺序）"))
    assert load_catalog(root).form("jth-2020", "summary_table").version == "1.0.0"


def test_an_earlier_version_kept_with_its_schema_and_template_is_the_form_files_of_that_version_are_read_with(tmp_path):
    root = _copy(tmp_path)
    (root / "schemas/versions").mkdir()
    (root / "templates/xlsx/versions").mkdir()
    shutil.copy(root / "schemas/summary_table.schema.json", root / "schemas/versions/summary_table-1.0.0.schema.json")
    shutil.copy(root / "templates/xlsx/summary_table.xlsx", root / "templates/xlsx/versions/summary_table-1.0.0.xlsx")
    old = json.loads((root / "schemas/summary_table.schema.json").read_text(encoding="utf-8"))

    def bump(schema):
        schema["x-version"] = "1.1.0"
        schema["properties"]["rows"]["maxItems"] = 6
    _edit(root, "schemas/summary_table.schema.json", bump)
    new = json.loads((root / "schemas/summary_table.schema.json").read_text(encoding="utf-8"))
    _edit(root, CAMPAIGN, _set("forms", 1, "versions", value=[
        {"version": "1.0.0", "fingerprint": fingerprint(old), "schema": "versions/summary_table-1.0.0.schema.json",
         "template": "xlsx/versions/summary_table-1.0.0.xlsx"},
        {"version": "1.1.0", "fingerprint": fingerprint(new)}]))
    form = load_catalog(root).form("jth-2020", "summary_table")
    assert form.version == "1.1.0" and form.schema["properties"]["rows"]["maxItems"] == 6
    then = form.at("1.0.0")
    assert then.version == "1.0.0" and then.schema["properties"]["rows"]["maxItems"] == 5
    assert then.template_path.name == "summary_table-1.0.0.xlsx" and then.id == form.id
    assert form.at("0.9.0") is form  # a version not kept: read as the form is now


def test_every_pattern_in_the_data_schemas_is_explained_in_words():
    """A pattern an operator breaks is told by its x-message, never shown as a regular expression."""
    for name in ("campaign", "reference"):
        schema = json.loads((ROOT / "data/schemas" / f"{name}.schema.json").read_text(encoding="utf-8"))
        stack = [schema]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                if "pattern" in node and not isinstance(node["pattern"], dict):
                    assert CJK.search(node.get("x-message", "")), (name, node)
                stack += node.values()
            elif isinstance(node, list):
                stack += node
