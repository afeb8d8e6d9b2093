"""Validation cannot differ from the schema: every keyword of JSON Schema draft 2020-12, run through the yes/no
check (``Form.is_valid``) and the Chinese problems (``check_record``), agrees with the 2020-12 validator — and with
jsonschema-rs, an implementation written apart from it — and each problem names its field in Chinese.

The forms used to be checked by a compiled draft-07 validator that ignored dependentRequired, prefixItems,
unevaluatedProperties, dependentSchemas and minContains/maxContains: every record below that breaks one of those
was accepted without a word.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from service.forms.catalog import FORMAT_CHECKER, Form
from service.forms.keywords import KNOWN
from service.validate.schema import check_record

jsonschema_rs = pytest.importorskip("jsonschema_rs")

CJK = re.compile(r"[\u4e00-\u9fff]")
TEXT = {"type": "string", "title": "名称", "description": "集团全称"}
LEGAL = {"legal_person": {"type": "string", "title": "法定代表人", "description": "姓名"},
         "reg_no": {"type": "string", "title": "登记证号", "description": "统一社会信用代码"}}
MEMBERS = {"type": "array", "title": "成员单位", "description": "成员单位及类别",
           "items": {"type": "object", "properties": {"kind": {"type": "string", "title": "类别", "description": "类别"}}}}
SCHOOL = {"title": "类别为学校", "type": "object", "required": ["kind"], "properties": {"kind": {"const": "学校"}}}


def _members(*kinds: str) -> dict:
    return {"members": [{"kind": k} for k in kinds]}


#: keyword → (properties and keywords of the form's schema, a valid record, an invalid one, what it is told:
#: (instance path, problem code, words of the message)).
CASES = {
    "required": ({"properties": {"name": TEXT}, "required": ["name"]}, {"name": "甲集团"}, {},
                 ("name", "FIELD_REQUIRED", "“名称”必须填写")),
    "dependentRequired": ({"properties": LEGAL, "dependentRequired": {"legal_person": ["reg_no"]}},
                          {"legal_person": "张三", "reg_no": "91210000"}, {"legal_person": "张三"},
                          ("reg_no", "FIELD_REQUIRED", "填写了“法定代表人”时，“登记证号”也必须填写")),
    "dependentSchemas": ({"properties": LEGAL, "dependentSchemas": {"legal_person": {"required": ["reg_no"]}}},
                         {"reg_no": "91210000"}, {"legal_person": "张三"},
                         ("reg_no", "FIELD_REQUIRED", "“登记证号”必须填写")),
    "prefixItems": ({"properties": {"years": {"type": "array", "title": "起止年份", "description": "两个年份",
                                              "prefixItems": [{"type": "integer", "minimum": 2000},
                                                              {"type": "integer"}]}}},
                    {"years": [2010, 2020]}, {"years": [1999, 2020]}, ("years.0", "FIELD_RANGE", "“起止年份”数值不能小于 2000")),
    "items": ({"properties": {"years": {"type": "array", "title": "起止年份", "description": "两个年份",
                                        "prefixItems": [{"type": "integer"}, {"type": "integer"}], "items": False}}},
              {"years": [2010, 2020]}, {"years": [2010, 2020, 2030]}, ("years", "FIELD_TOO_MANY", "“起止年份”最多 2 项")),
    "unevaluatedItems": ({"properties": {"years": {"type": "array", "title": "起止年份", "description": "两个年份",
                                                   "prefixItems": [{"type": "integer"}], "unevaluatedItems": False}}},
                         {"years": [2010]}, {"years": [2010, 2020]}, ("years", "FIELD_TOO_MANY", "“起止年份”最多 1 项")),
    "unevaluatedProperties": ({"allOf": [{"properties": {"name": TEXT}}], "properties": {"note": TEXT},
                               "unevaluatedProperties": False},
                              {"name": "甲", "note": "乙"}, {"name": "甲", "notes": "乙"},
                              ("notes", "FIELD_UNKNOWN", "“notes”表单中没有这个字段")),
    "additionalProperties": ({"properties": {"name": TEXT}, "additionalProperties": False}, {"name": "甲"},
                             {"name": "甲", "extra": 1}, ("extra", "FIELD_UNKNOWN", "“extra”表单中没有这个字段")),
    "contains": ({"properties": {"members": {**MEMBERS, "contains": SCHOOL}}}, _members("企业", "学校"),
                 _members("企业"), ("members", "FIELD_TOO_FEW", "“成员单位”中类别为学校的至少要有 1 项")),
    "minContains": ({"properties": {"members": {**MEMBERS, "contains": SCHOOL, "minContains": 2}}},
                    _members("学校", "学校"), _members("学校", "企业"),
                    ("members", "FIELD_TOO_FEW", "“成员单位”中类别为学校的至少要有 2 项")),
    "maxContains": ({"properties": {"members": {**MEMBERS, "contains": SCHOOL, "maxContains": 2}}},
                    _members("学校", "学校"), _members("学校", "学校", "学校"),
                    ("members", "FIELD_TOO_MANY", "“成员单位”中类别为学校的最多 2 项")),
    "if/then/else": ({"properties": {"legal": {"enum": ["是", "否"], "title": "是否具有法人资格", "description": "是/否"},
                                     **LEGAL},
                      "if": {"properties": {"legal": {"const": "是"}}, "required": ["legal"]},
                      "then": {"required": ["reg_no"]}, "else": {"not": {"required": ["reg_no"]}}},
                     {"legal": "是", "reg_no": "9121"}, {"legal": "是"}, ("reg_no", "FIELD_REQUIRED", "“登记证号”必须填写")),
    "const": ({"properties": {"country": {"const": "中国", "title": "国别", "description": "国别"}}}, {"country": "中国"},
              {"country": "日本"}, ("country", "FIELD_ENUM", "“国别”只能填写“中国”")),
    "enum": ({"properties": {"legal": {"enum": ["是", "否"], "title": "是否具有法人资格", "description": "是/否"}}},
             {"legal": "否"}, {"legal": "有"}, ("legal", "FIELD_ENUM", "只能填写以下选项之一：是、否")),
    "type": ({"properties": {"count": {"type": "integer", "title": "成员总数", "description": "个数"}}}, {"count": 3},
             {"count": "三"}, ("count", "FIELD_TYPE", "“成员总数”应填写整数")),
    "minimum": ({"properties": {"count": {"type": "integer", "minimum": 0, "title": "成员总数", "description": "个数"}},
                 "required": ["count"]},
                {"count": 0}, {"count": -5}, ("count", "FIELD_RANGE", "“成员总数”数值不能小于 0")),
    "maximum": ({"properties": {"count": {"type": "integer", "maximum": 500, "title": "成员总数", "description": "个数"}}},
                {"count": 500}, {"count": 501}, ("count", "FIELD_RANGE", "“成员总数”数值不能大于 500")),
    "exclusiveMinimum": ({"properties": {"share": {"type": "number", "exclusiveMinimum": 0, "title": "占比",
                                                   "description": "百分比"}}},
                         {"share": 0.5}, {"share": 0}, ("share", "FIELD_RANGE", "“占比”数值应大于 0")),
    "exclusiveMaximum": ({"properties": {"share": {"type": "number", "exclusiveMaximum": 100, "title": "占比",
                                                   "description": "百分比"}}},
                         {"share": 99.5}, {"share": 100}, ("share", "FIELD_RANGE", "“占比”数值应小于 100")),
    "multipleOf": ({"properties": {"hours": {"type": "integer", "multipleOf": 8, "title": "培训学时",
                                             "description": "学时"}}},
                   {"hours": 16}, {"hours": 12}, ("hours", "FIELD_RANGE", "“培训学时”应为 8 的整数倍")),
    "minLength": ({"properties": {"name": {**TEXT, "minLength": 4}}}, {"name": "甲乙丙丁"}, {"name": "甲"},
                  ("name", "FIELD_TOO_SHORT", "“名称”内容过短（至少 4 字）")),
    "maxLength": ({"properties": {"name": {**TEXT, "maxLength": 4}}}, {"name": "甲乙"}, {"name": "甲乙丙丁戊"},
                  ("name", "FIELD_TOO_LONG", "“名称”超出长度限制（最多 4 字）")),
    "pattern": ({"properties": {"phone": {"type": "string", "pattern": "^1[3-9]\\d{9}$", "title": "手机",
                                          "description": "11 位手机号码"}}},
                {"phone": "13904161234"}, {"phone": "1390416"}, ("phone", "FIELD_PATTERN", "“手机”格式不正确：11 位手机号码")),
    "format": ({"properties": {"day": {"type": "string", "format": "date", "title": "填表日期",
                                       "description": "写作 2020-11-18"}}},
               {"day": "2020-11-18"}, {"day": "2020-02-30"}, ("day", "FIELD_FORMAT", "“填表日期”格式不正确：写作 2020-11-18")),
    "minItems": ({"properties": {"members": {**MEMBERS, "minItems": 2}}}, _members("学校", "企业"), _members("学校"),
                 ("members", "FIELD_TOO_FEW", "“成员单位”至少 2 项")),
    "maxItems": ({"properties": {"members": {**MEMBERS, "maxItems": 1}}}, _members("学校"), _members("学校", "企业"),
                 ("members", "FIELD_TOO_MANY", "“成员单位”最多 1 项")),
    "uniqueItems": ({"properties": {"leads": {"type": "array", "items": {"type": "string"}, "uniqueItems": True,
                                              "title": "牵头单位", "description": "单位名称"}}},
                    {"leads": ["甲", "乙"]}, {"leads": ["甲", "甲"]}, ("leads", "FIELD_DUPLICATE_ITEMS", "“牵头单位”中有重复的项")),
    "minProperties": ({"properties": {"contact": {"type": "object", "minProperties": 1, "title": "联系方式",
                                                  "description": "电话或邮箱"}}},
                      {"contact": {"phone": "1"}}, {"contact": {}}, ("contact", "FIELD_TOO_FEW", "“联系方式”至少 1 项")),
    "maxProperties": ({"properties": {"contact": {"type": "object", "maxProperties": 1, "title": "联系方式",
                                                  "description": "电话或邮箱"}}},
                      {"contact": {"phone": "1"}}, {"contact": {"phone": "1", "mail": "2"}},
                      ("contact", "FIELD_TOO_MANY", "“联系方式”最多 1 项")),
    "propertyNames": ({"properties": {"scores": {"type": "object", "title": "各项得分", "description": "项目名为中文",
                                                 "propertyNames": {"pattern": "^[\u4e00-\u9fff]+$"}}}},
                      {"scores": {"就业": 1}}, {"scores": {"job": 1}}, ("scores", "FIELD_PATTERN", "“各项得分”格式不正确")),
    "patternProperties": ({"properties": {"scores": {"type": "object", "title": "各项得分", "description": "各项 0–100 分",
                                                     "patternProperties": {"^.+$": {"type": "integer",
                                                                                    "maximum": 100}}}}},
                          {"scores": {"就业": 90}}, {"scores": {"就业": 120}},
                          ("scores.就业", "FIELD_RANGE", "“各项得分”数值不能大于 100")),
    "not": ({"properties": {"name": {**TEXT, "not": {"const": "无"}}}}, {"name": "甲"}, {"name": "无"},
            ("name", "FIELD_INVALID", "“名称”不符合要求：集团全称")),
    "anyOf": ({"properties": {"phone": {"title": "电话", "description": "座机或手机",
                                        "anyOf": [{"pattern": "^0\\d{2,3}-\\d{7,8}$"}, {"pattern": "^1\\d{10}$"}]}}},
              {"phone": "024-86896980"}, {"phone": "86896980"}, ("phone", "FIELD_INVALID", "“电话”不符合要求：座机或手机")),
    "oneOf": ({"properties": {"count": {"title": "成员总数", "description": "整数，或“无”",
                                        "oneOf": [{"type": "integer"}, {"const": "无"}]}}},
              {"count": 3}, {"count": 2.5}, ("count", "FIELD_INVALID", "“成员总数”不符合要求：整数，或“无”")),
    "allOf": ({"properties": {"count": {"title": "成员总数", "description": "个数",
                                        "allOf": [{"type": "integer"}, {"minimum": 1}]}}},
              {"count": 3}, {"count": 0}, ("count", "FIELD_RANGE", "“成员总数”数值不能小于 1")),
    "$ref/$defs": ({"$defs": {"count": {"type": "integer", "minimum": 0}},
                    "properties": {"count": {"$ref": "#/$defs/count", "title": "成员总数", "description": "个数"}}},
                   {"count": 1}, {"count": -1}, ("count", "FIELD_RANGE", "“成员总数”数值不能小于 0")),
    "false schema": ({"properties": {"name": TEXT, "old": False}}, {"name": "甲"}, {"old": "乙"},
                     ("old", "FIELD_UNKNOWN", "“old”表单中没有这个字段")),
}


def _form(schema: dict) -> Form:
    full = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "测试表", "type": "object", **schema}
    Draft202012Validator.check_schema(full)
    return Form(campaign_id="test", id="test", title="测试表", annex="", schema=full,
                template_path=Path("test.docx"), settings={})


def _rs(form: Form):
    return jsonschema_rs.validator_for(form.schema, validate_formats=True,
                                       formats={"email": lambda v: FORMAT_CHECKER.conforms(v, "email")})


@pytest.mark.parametrize("keyword", list(CASES))
def test_every_2020_12_keyword_is_decided_as_the_schema_says_and_told_in_chinese_at_its_field(keyword):
    schema, valid, invalid, (path, code, words) = CASES[keyword]
    form = _form(schema)
    reference, independent = Draft202012Validator(form.schema, format_checker=FORMAT_CHECKER), _rs(form)
    for record, expected in ((valid, True), (invalid, False)):
        assert reference.is_valid(record) is expected, (keyword, record)
        assert independent.is_valid(record) is expected, (keyword, record)  # a second opinion on the reference
        assert form.is_valid(record) is expected, (keyword, record)
        assert (check_record(form, record) == []) is expected, (keyword, record)
    problems = check_record(form, invalid)
    assert all(CJK.search(p.message) and p.title for p in problems), problems
    told = [p for p in problems if (p.path, p.code) == (path, code)]
    assert told and words in told[0].message, [(p.path, p.code, p.message) for p in problems]


def test_the_cases_cover_every_keyword_the_validator_acts_on():
    covered = {k for schema, *_ in CASES.values() for sub in _subschemas(schema) for k in sub}
    acting = KNOWN - {"$schema", "$id", "$anchor", "$dynamicAnchor", "$dynamicRef", "$vocabulary", "$comment",
                      "title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly",
                      "contentEncoding", "contentMediaType", "contentSchema"}
    assert acting - covered == set()


def _subschemas(schema):
    if isinstance(schema, dict):
        yield schema
        for value in schema.values():
            yield from _subschemas(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _subschemas(value)


def test_a_partial_record_leaves_missing_values_to_the_person_also_when_another_value_asks_for_them():
    form = _form(CASES["dependentRequired"][0])
    assert check_record(form, {"legal_person": "张三"}, partial=True) == []
    assert [p.code for p in check_record(form, {"legal_person": 3}, partial=True)] == ["FIELD_TYPE"]
