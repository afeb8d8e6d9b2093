"""Build the form templates in templates/docx and templates/xlsx.

The templates are ordinary documents that an operator may open in Word, WPS or LibreOffice, restyle and
put back (``flask forms check`` then says whether every field still has its anchor). This script only
produced their first version; it reads field titles from the schemas so that labels and schema agree.

Anchors: every field is a rich-text block content control tagged and aliased with its schema path, holding
a docxtpl expression, and sits in a value cell to the right of (or below) a visible label cell, so that the
parser can still find it after an office suite has dropped the controls.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from docx_writer import TEXT_W, Cell, Table, field, para, run, write_docx  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def schema(name: str) -> dict:
    return json.loads((ROOT / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8"))


def label(text: str, *, span: int = 1) -> Cell:
    return Cell(para(run(text, font="黑体", size=24), align="center"), span=span, shade=True)


def value(tag: str, alias: str, expr: str, *, span: int = 1, size: int = 24) -> Cell:
    return Cell(field(tag, alias, expr, size=size), span=span)


def annex_head(annex: str, title: str) -> str:
    head = para(run(annex, font="黑体", size=32), after=240) if annex else ""
    return head + para(run(title, font="宋体", size=44, bold=True), align="center", after=360)


def caption(text: str) -> str:
    return para(run(text, font="黑体", size=28), before=240, after=120, keep_next=True)


def recommendation_letter() -> None:
    s = schema("recommendation_letter")
    p = s["properties"]

    def v(key: str, *, span: int = 1, expr: str | None = None) -> Cell:
        return value(key, p[key]["title"], expr or "{{ %s|paras }}" % key, span=span)

    def box(key: str, *, span: int = 1) -> Cell:
        return value(key, p[key]["title"], "{{ %s|boxes('%s') }}" % (key, key), span=span)

    w4 = [1800, 2566, 1800, 2566]
    basic = Table(w4)
    basic.row([label("集团名称"), v("group_name", span=3)])
    basic.row([label("牵头单位"), v("lead_units", span=3, expr="{{ lead_units|lines }}")])
    basic.row([label("成立时间"), v("founded"), label("是否具有法人资格"), box("legal_person")])
    basic.row([label("推荐单位"), v("recommender", span=3)])
    basic.row([label("推荐单位类型"), box("recommender_type", span=3)])
    basic.row([label("服务面向"), v("service_orientation", span=3)], 800)
    basic.row([label("运行模式"), box("operation_mode", span=3)])

    w6 = [TEXT_W // 6] * 5 + [TEXT_W - 5 * (TEXT_W // 6)]
    counts = Table(w6)
    keys = ["members_school", "members_enterprise", "members_industry", "members_research", "members_other", "members_total"]
    counts.row([label("学校"), label("企业"), label("行业组织"), label("科研机构"), label("其他"), label("合计")])
    counts.row([v(k) for k in keys])

    items = p["members"]["items"]["properties"]
    members = Table([900, TEXT_W - 900 - 2000, 2000])
    members.row([label("序号"), label("成员单位名称"), label("单位类型")])
    members.raw_row("{%tr for m in members %}")
    members.row([
        Cell(para(run("{{ loop.index }}"), align="center")),
        value("members[].name", items["name"]["title"], "{{ m.name|paras }}"),
        value("members[].type", items["type"]["title"], "{{ m.type|paras }}"),
    ], 480)
    members.raw_row("{%tr endfor %}")

    contact = Table(w4)
    contact.row([label("姓名"), v("contact_name"), label("职务"), v("contact_title")])
    contact.row([label("办公电话"), v("contact_phone"), label("手机"), v("contact_mobile")])
    contact.row([label("电子邮箱"), v("contact_email", span=3)])

    narrative = Table([TEXT_W])
    numerals = "一二三四五六七"
    narr_keys = ["governance", "resource_sharing", "industry_education", "talent_quality", "social_service",
                 "government_support", "features"]
    for n, key in zip(numerals, narr_keys, strict=True):
        heading = para(run(f"（{n}）{p[key]['title']}", font="黑体", size=24), keep_next=True)
        narrative.row([Cell(heading, shade=True)], 480)
        narrative.row([Cell(field(key, p[key]["title"], "{{ %s|paras }}" % key, indent_first=480), valign="top")], 2400)

    seal = Table([1800, TEXT_W - 1800])
    for who, key in (("牵头单位", "lead_unit"), ("推荐单位", "recommender")):
        opinion = Cell(
            field(f"{key}_opinion", p[f"{key}_opinion"]["title"], "{{ %s_opinion|paras }}" % key, indent_first=480)
            + para(run(f"{who}（盖章）"), align="right", before=600, after=120),
            valign="top",
        )
        seal.row([label(f"{who}意见"), opinion], 2600)
        seal.row([label(f"{who}签章日期"), v(f"{key}_date")])

    body = (
        annex_head("附件2", s["title"])
        + caption("一、基本情况") + basic.xml()
        + caption("二、成员单位数（个）") + counts.xml()
        + caption("三、成员单位名单") + members.xml()
        + caption("四、联系人") + contact.xml()
        + caption("五、建设成效") + narrative.xml()
        + caption("六、推荐意见") + seal.xml()
        + para()
    )
    write_docx(str(ROOT / "templates" / "docx" / "recommendation_letter.docx"), body, s["title"])


def work_summary() -> None:
    s = schema("work_summary")
    p = s["properties"]

    def v(key: str, *, span: int = 1, expr: str | None = None) -> Cell:
        return value(key, p[key]["title"], expr or "{{ %s|paras }}" % key, span=span)

    info = Table([1800, 2566, 1800, 2566])
    info.row([label("集团名称"), v("group_name", span=3)])
    info.row([label("牵头学校"), v("lead_schools", span=3, expr="{{ lead_schools|lines }}")])
    info.row([label("联系人"), v("contact_name"), label("联系电话"), v("contact_phone")])
    info.row([label("报送日期"), v("submit_date", span=3)])

    def heading(text: str, *, font: str = "黑体") -> str:
        return para(run(text, font=font, size=32), before=240, after=120, keep_next=True)

    def section(key: str, title: str) -> str:
        return heading(title, font="楷体") + field(key, p[key]["title"], "{{ %s|paras }}" % key, size=32, indent_first=640)

    items = p["policy_documents"]["items"]["properties"]
    docs = Table([800, TEXT_W - 800 - 2400 - 1700, 2400, 1700])
    docs.row([label("序号"), label("文件名称"), label("文号"), label("印发日期")])
    docs.raw_row("{%tr for d in policy_documents %}")
    docs.row([
        Cell(para(run("{{ loop.index }}"), align="center")),
        value("policy_documents[].title", items["title"]["title"], "{{ d.title|paras }}"),
        value("policy_documents[].doc_number", items["doc_number"]["title"], "{{ d.doc_number|paras }}"),
        value("policy_documents[].issued", items["issued"]["title"], "{{ d.issued|paras }}"),
    ], 480)
    docs.raw_row("{%tr endfor %}")

    body = (
        annex_head("", s["title"])
        + info.xml()
        + heading("（一）集团化办学工作开展情况")
        + section("part1_multi_entity", "1. 多元主体共建与服务区域发展")
        + section("part1_governance", "2. 内部治理结构与人才培养机制")
        + section("part1_integration", "3. 产教融合与校企合作成效")
        + heading("（二）面临的困难和问题及下一步工作思路")
        + field("part2_problems", p["part2_problems"]["title"], "{{ part2_problems|paras }}", size=32, indent_first=640)
        + heading("（三）政策意见和建议")
        + field("part3_suggestions", p["part3_suggestions"]["title"], "{{ part3_suggestions|paras }}", size=32, indent_first=640)
        + heading("附：职教集团成立以来出台的政策文件目录")
        + docs.xml()
        + para(run("牵头学校（盖章）", size=32), align="right", before=720)
    )
    write_docx(str(ROOT / "templates" / "docx" / "work_summary.docx"), body, s["title"], default_size=32)


if __name__ == "__main__":
    recommendation_letter()
    work_summary()
    from build_xlsx_template import summary_table  # noqa: E402

    summary_table()
    print("templates written")
