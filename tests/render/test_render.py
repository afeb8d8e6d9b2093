"""Rendering: blank and prefilled documents carry their identity, anchors and values."""

from __future__ import annotations

import io
import zipfile

import pytest
from docx import Document
from lxml import etree
from openpyxl import load_workbook

from service.render.form import render
from tests.support.records import custom_props
from tests.support.samples import CAMPAIGN_OF, sample

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def sdt_texts(content: bytes) -> dict[str, list[str]]:
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        root = etree.fromstring(zf.read("word/document.xml"))
    out: dict[str, list[str]] = {}
    for sdt in root.iter(W + "sdt"):
        tag = sdt.find(f"{W}sdtPr/{W}tag").get(W + "val")
        content = sdt.find(W + "sdtContent")
        text = "".join(e.text or "" if e.tag == W + "t" else "\n" for e in content.iter(W + "t", W + "br", W + "p"))
        out.setdefault(tag, []).append(text.lstrip("\n"))
    return out


@pytest.mark.parametrize("form_id", list(CAMPAIGN_OF))
def test_blank_form_opens_and_is_stamped(form_id, catalog):
    done = render(CAMPAIGN_OF[form_id], form_id)
    if form_id == "summary_table":
        wb = load_workbook(io.BytesIO(done.content))
        meta = {r[0]: r[1] for r in wb["_meta"].iter_rows(min_row=2, values_only=True)}
        assert wb["_meta"].sheet_state == "veryHidden"
        assert meta["jth.form"] == "summary_table" and meta["jth.campaign"] == "jth-2020"
        assert meta["jth.issuance"] == done.stamp.issuance and len(done.stamp.issuance) == 32
        assert wb.active["A1"].value == "附件3"
    else:
        doc = Document(io.BytesIO(done.content))  # python-docx opens it: the package is valid
        section = doc.sections[0]
        assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
        props = custom_props(done.content)
        assert props["jth.form"] == form_id and props["jth.schema_version"] == catalog.form(CAMPAIGN_OF[form_id],
                                                                                             form_id).version
        assert props["jth.issuance"] == done.stamp.issuance


def test_dates_are_written_as_officials_write_them():
    letter = dict(sample("recommendation_letter"), founded="2009-06", lead_unit_date="2020-11-08")
    texts = sdt_texts(render("jth-2020", "recommendation_letter", letter).content)
    assert texts["founded"] == ["2009年6月"]  # a month, no zero padding
    assert texts["lead_unit_date"] == ["2020年11月8日"] and texts["recommender_date"] == ["2020年11月20日"]
    summary = dict(sample("work_summary"), policy_documents=[
        {"title": "关于成立辽宁装备制造职业教育集团的通知", "doc_number": "辽教发〔2010〕8号", "issued": "2010-05"},
        {"title": "辽宁装备制造职教集团章程", "issued": "2012-05-18"}])
    texts = sdt_texts(render("ln-2018", "work_summary", summary).content)
    assert texts["policy_documents[].issued"][:2] == ["2010年5月", "2012年5月18日"]
    assert texts["submit_date"] == ["2018年6月1日"]
    ws = load_workbook(io.BytesIO(render("jth-2020", "summary_table", sample("summary_table")).content)).active
    assert ws["H4"].value == "2020年11月20日"  # 填表日期
    assert [ws["D6"].value, ws["D7"].value] == ["2012年5月", "2013年9月"]  # 成立时间, text cells as typed by hand
    assert ws["D6"].data_type == "s"


def test_each_document_gets_its_own_issuance():
    a = render("jth-2020", "recommendation_letter")
    b = render("jth-2020", "recommendation_letter")
    assert a.stamp.issuance != b.stamp.issuance


def test_prefilled_letter_values_sit_in_their_controls():
    record = sample("recommendation_letter")
    done = render("jth-2020", "recommendation_letter", record)
    texts = sdt_texts(done.content)
    assert texts["group_name"] == ["辽宁石油化工职业教育集团"]
    assert texts["lead_units"] == ["辽宁石化职业技术学院\n中国石油抚顺石化公司"]
    assert texts["legal_person"] == ["☐是　☑否"]
    assert texts["members_total"] == ["93"]
    assert texts["governance"] == ["集团实行理事会领导下的秘书长负责制，制定了《集团章程》。\n理事会每年召开两次全体会议。"]
    # three members plus blank rows up to the template's ten to fill in by hand
    assert texts["members[].name"][:3] == [m["name"] for m in record["members"]]
    assert len(texts["members[].name"]) == 10 and texts["members[].name"][3:] == [""] * 7
    assert custom_props(done.content)["jth.entity"] == ""


def test_member_list_expands_with_the_data():
    record = sample("recommendation_letter")
    record["members"] = [{"name": f"成员企业{i:02d}", "type": "企业"} for i in range(40)]
    texts = sdt_texts(render("jth-2020", "recommendation_letter", record).content)
    assert texts["members[].name"] == [f"成员企业{i:02d}" for i in range(40)]


def test_markup_and_control_characters_are_text_not_xml():
    record = {"group_name": "A&B<集团>\x0b", "features": "</w:t><w:p>"}
    done = render("jth-2020", "recommendation_letter", record)
    texts = sdt_texts(done.content)
    assert texts["group_name"] == ["A&B<集团>"]
    assert texts["features"] == ["</w:t><w:p>"]


def test_liaoning_groups_each_get_their_own_prefilled_summary(catalog):
    names = set()
    for group in catalog.entities("liaoning_groups"):
        done = render("ln-2018", "work_summary", entity_id=group["id"])
        texts = sdt_texts(done.content)
        assert texts["group_name"] == [group["name"]]
        assert texts["lead_schools"] == ["\n".join(group["lead_schools"])]
        assert custom_props(done.content)["jth.entity"] == group["id"]
        names.add(done.filename)
    assert len(names) == 14


def test_recommender_prefills_letter_and_table():
    texts = sdt_texts(render("jth-2020", "recommendation_letter", entity_id="city-dl").content)
    assert texts["recommender"] == ["大连市教育局"]
    assert texts["recommender_type"] == ["☐省级教育行政部门　☑计划单列市教育行政部门　☐行业职业教育教学指导委员会"]


def test_summary_table_rows_names_and_validations():
    record = sample("summary_table")
    record["rows"][1]["group_name"] = "=HYPERLINK(\"http://x\")"
    done = render("jth-2020", "summary_table", record)
    wb = load_workbook(io.BytesIO(done.content))
    ws = wb["推荐名单汇总表"]
    assert ws["C3"].value == "辽宁省教育厅" and ws["C4"].value == "李红"
    assert [c.value for c in ws[6]][:3] == [1, "辽宁石油化工职业教育集团", "辽宁石化职业技术学院、中国石油抚顺石化公司"]
    assert ws["B7"].value.startswith("=") and ws["B7"].data_type == "s"  # text, never a formula
    assert ws["H6"].value == "0416-4198001" and ws["H6"].number_format == "@"
    assert set(wb.defined_names) >= {"recommender", "fill_date", "rows.rank", "rows.contact_phone"}
    lists = [dv.formula1 for dv in ws.data_validations.dataValidation if dv.type == "list"]
    assert '"是,否"' in lists


def test_summary_table_grows_past_its_blank_rows():
    record = sample("summary_table")
    record["rows"] = [dict(record["rows"][0], rank=i + 1) for i in range(7)]
    ws = load_workbook(io.BytesIO(render("jth-2020", "summary_table", record).content))["推荐名单汇总表"]
    assert [ws.cell(row=6 + i, column=1).value for i in range(7)] == list(range(1, 8))
    assert ws["B12"].border.left.style == "thin"


def test_api_renders_and_refuses_bad_values(client):
    listing = client.get("/api/v1/campaigns").get_json()
    assert {c["id"] for c in listing} == {"jth-2020", "ln-2018"}
    r = client.get("/api/v1/campaigns/ln-2018/forms/work_summary/template?entity=ln-03")
    assert r.status_code == 200 and r.data[:2] == b"PK"
    assert sdt_texts(r.data)["group_name"] == ["辽宁汽车服务业职教集团"]
    r = client.post("/api/v1/campaigns/jth-2020/forms/recommendation_letter/render", json={"legal_person": "有"})
    assert r.status_code == 422
    body = r.get_json()["error"]
    assert body["code"] == "RECORD_INVALID" and body["problems"][0]["code"] == "FIELD_ENUM"
    r = client.post("/api/v1/campaigns/jth-2020/forms/recommendation_letter/render", json=sample("recommendation_letter"))
    assert r.status_code == 200 and sdt_texts(r.data)["contact_name"] == ["张晓明"]
    assert client.get("/api/v1/campaigns/nope").status_code == 404
    assert client.get("/api/v1/campaigns/ln-2018/forms/work_summary/template?entity=ln-99").status_code == 404
