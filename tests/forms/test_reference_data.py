"""The reference lists match the notices: 147 first-batch groups, 14 Liaoning groups, recommenders and quotas."""

from __future__ import annotations

import json
from pathlib import Path

from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[2]


def test_first_batch_has_147_numbered_groups(catalog):
    groups = catalog.entities("first_batch_groups")
    assert len(groups) == 147
    assert [g["seq"] for g in groups] == list(range(1, 148))
    assert len({g["name"] for g in groups}) == 147


def test_first_batch_rows_match_the_notice(catalog):
    by_seq = {g["seq"]: g for g in catalog.entities("first_batch_groups")}
    assert by_seq[1] == {"seq": 1, "name": "联想职业教育集团", "lead_units": ["联想集团"]}
    assert by_seq[3]["lead_units"] == ["北京祥龙资产经营有限责任公司", "北京市商业学校"]
    assert by_seq[22] == {"seq": 22, "name": "辽宁装备制造职业教育集团",
                          "lead_units": ["沈阳职业技术学院", "辽宁装备制造职业技术学院"]}
    assert by_seq[48]["name"] == "江苏·发那科数控职业教育集团"
    assert by_seq[55]["lead_units"] == ["中国牧工商(集团)总公司", "江苏农牧科技职业学院"]
    assert by_seq[79]["name"] == "莱芜市机电一体化（数控）技术职业教育集团"
    assert by_seq[129]["name"] == "西南纺织服装职业教育联盟"
    assert by_seq[147] == {"seq": 147, "name": "新疆维吾尔自治区第一产业职业教育园区", "lead_units": ["新疆农业职业技术学院"]}
    two_leads = [g["seq"] for g in by_seq.values() if len(g["lead_units"]) == 2]
    assert len(two_leads) == 18 and 97 in two_leads and 113 in two_leads


def test_liaoning_has_14_groups_with_lead_schools(catalog):
    groups = catalog.entities("liaoning_groups")
    assert len(groups) == 14
    assert [g["id"] for g in groups] == [f"ln-{i:02d}" for i in range(1, 15)]
    zb = next(g for g in groups if g["name"] == "辽宁装备制造职教集团")
    assert zb["lead_schools"] == ["沈阳职业技术学院", "辽宁装备制造职业技术学院"]
    assert groups[4] == {"id": "ln-05", "seq": 5, "name": "辽西北职教联盟", "lead_schools": ["辽宁职业学院"]}
    assert groups[13]["name"] == "辽宁现代金融职教集团" and groups[13]["lead_schools"] == ["辽宁金融职业学院"]
    assert all(len(g["lead_schools"]) == 1 for g in groups if g["seq"] != 8)


def test_recommenders_and_quotas(catalog):
    recs = catalog.entities("recommenders")
    by_type: dict[str, list[str]] = {}
    for r in recs:
        by_type.setdefault(r["type"], []).append(r["name"])
    assert len(by_type["provincial"]) == 32  # 31 provincial departments + 新疆生产建设兵团教育局
    assert "新疆生产建设兵团教育局" in by_type["provincial"] and "辽宁省教育厅" in by_type["provincial"]
    assert sorted(by_type["planned_city"]) == sorted(["大连市教育局", "青岛市教育局", "宁波市教育局", "厦门市教育局", "深圳市教育局"])
    assert len(by_type["hzw"]) >= 10 and all(n.endswith("职业教育教学指导委员会") for n in by_type["hzw"])
    assert len({r["id"] for r in recs}) == len(recs)
    quotas = {t["id"]: t["quota"] for t in catalog.campaign("jth-2020").data["recommender_types"]}
    assert quotas == {"provincial": 5, "planned_city": 3, "hzw": 3}


def test_campaign_facts_from_the_notices(catalog):
    jth = catalog.campaign("jth-2020").data
    assert jth["document_number"] == "教职成司函〔2020〕33号" and jth["deadline"] == "2020-11-23"
    assert jth["submit_to"]["mailing_address"] == "北京市朝阳区慧忠路5号远大中心"
    assert jth["submit_to"]["email"] == "jth@chinazy.org"
    assert {c["name"] for c in jth["contacts"]} == {"卢昊", "刘晏苹"}
    assert jth["excluded_groups"] == "first_batch_groups"
    assert list(catalog.campaign("jth-2020").forms) == ["recommendation_letter", "summary_table"]
    ln = catalog.campaign("ln-2018")
    assert ln.data["document_number"] == "辽教办〔2018〕99号" and ln.data["deadline"] == "2018-06-05"
    assert ln.forms["work_summary"].settings["max_chars"] == 5000
    assert ln.data["attachments"][0]["id"] == "policy_documents" and ln.data["attachments"][0]["required"]


def test_reference_files_match_their_schema():
    validator = Draft202012Validator(json.loads((ROOT / "data/schemas/reference.schema.json").read_text()))
    for path in (ROOT / "data/reference").glob("*.json"):
        assert not list(validator.iter_errors(json.loads(path.read_text()))), path
