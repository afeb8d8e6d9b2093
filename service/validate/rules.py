"""The campaign rules of the notices, read from the campaign's ``rules`` data.

Two layers: :func:`document_rules` checks what one file can show on its own (a first-batch group, a
Liaoning group that is not on the list, 字数 over the limit, ranks with gaps, counts that do not add up,
a late submission); :func:`batch_rules` checks a recommender's files together (quota, every ranked group
has its 推荐书, the 汇总表 and the 推荐书 agree). Rule kinds are code; which forms and fields they apply to
is data, so a new campaign of the same kind needs no code.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

from service.forms.catalog import Campaign, Catalog, Form
from service.forms.names import NameIndex, normalize_name
from service.problems.report import ERROR, INFO, REVIEW, ParseResult, Problem
from service.validate.wordcount import word_count


@functools.lru_cache(maxsize=64)
def _index(cat: Catalog, source: str) -> NameIndex:
    """One name index per reference list (the catalogue does not change while the process runs)."""
    return NameIndex(cat.entities(source))


def _rules(campaign: Campaign) -> dict[str, Any]:
    return campaign.data.get("rules", {})


def _values(record: dict, path: str) -> list[tuple[str, Any]]:
    """(instance path, value) of a field path; ``rows[].group_name`` gives one per row."""
    if "[]." in path:
        array, key = path.split("[].", 1)
        return [(f"{array}.{i}.{key}", item.get(key)) for i, item in enumerate(record.get(array) or [])
                if item.get(key) not in (None, "")]
    return [(path, record[path])] if record.get(path) not in (None, "") else []


def _title(form: Form, path: str) -> str:
    schema_path = path
    parts = path.split(".")
    if len(parts) == 3:
        schema_path = f"{parts[0]}[].{parts[2]}"
    return next((f.title for f in form.fields if f.path == schema_path), path)


def _where(result: ParseResult, path: str):
    return next((f.where for f in result.fields if f.path == path), None)


def deadline_of(campaign: Campaign) -> dt.datetime:
    """The end of the deadline day in the campaign's time zone."""
    day = dt.date.fromisoformat(campaign.data["deadline"])
    tz = ZoneInfo(campaign.data.get("timezone", "Asia/Shanghai"))
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=tz)


def recommender_of(cat: Catalog, campaign: Campaign, record: dict) -> dict | None:
    """The reference row of the record's recommender (by name), or None."""
    spec = _rules(campaign).get("recommender")
    source = campaign.data.get("submitters")
    if not spec or not source or source not in cat.reference:
        return None
    name = record.get(spec["name_field"])
    if not name:
        return None
    return _index(cat, source).match(str(name)).exact


def document_rules(result: ParseResult, form: Form, cat: Catalog, received: dt.datetime) -> None:
    """The rules one document can be checked against on its own."""
    campaign = cat.campaign(form.campaign_id)
    rules = _rules(campaign)
    record = result.record
    _late(result, campaign, received)
    _recommender(result, form, cat, campaign, rules)
    _excluded(result, form, cat, campaign, rules)
    _eligible(result, form, cat, campaign, rules)
    _char_limit(result, form)
    _ranking(result, form, rules)
    _sums(result, form, rules)
    _list_quota(result, form, cat, campaign, rules, record)


def _late(result: ParseResult, campaign: Campaign, received: dt.datetime) -> None:
    deadline = deadline_of(campaign)
    if received > deadline:
        days = (received.astimezone(deadline.tzinfo).date() - deadline.date()).days
        result.add(Problem("SUBMISSION_LATE", f"提交时间晚于截止日期 {campaign.data['deadline']}（逾期 {days} 天），"
                           "已标记为逾期报送，由平台人员决定是否受理。", REVIEW))


def _recommender(result: ParseResult, form: Form, cat: Catalog, campaign: Campaign, rules: dict) -> None:
    spec = rules.get("recommender")
    if not spec or form.id not in spec.get("forms", []):
        return
    name = result.record.get(spec["name_field"])
    if not name:
        return
    source = campaign.data["submitters"]
    match = _index(cat, source).match(str(name))
    path = spec["name_field"]
    if match.exact is None:
        near = "、".join(r["name"] for r in match.near)
        hint = f"是否应为“{near}”？" if near else "请填写推荐单位的全称（如“辽宁省教育厅”）。"
        result.add(Problem("RECOMMENDER_UNKNOWN", f"推荐单位“{name}”不在本次推荐范围名单中。{hint}", REVIEW, path,
                           _title(form, path), _where(result, path), [r["name"] for r in match.near]))
        return
    row = match.exact
    if result.entity and result.entity != row.get("id"):
        result.add(Problem("ENTITY_MISMATCH", f"这份表格是为“{_entity_name(cat, source, result.entity)}”下载的，"
                           f"但推荐单位填写为“{name}”。请核对推荐单位。", REVIEW, path, _title(form, path),
                           _where(result, path)))
    rtype = campaign.recommender_type(row.get("type", ""))
    type_value = result.record.get(spec.get("type_field", ""))
    if rtype and type_value and type_value != rtype["label"]:
        tpath = spec["type_field"]
        result.add(Problem("RECOMMENDER_TYPE_MISMATCH", f"“{name}”属于“{rtype['label']}”，推荐单位类型却填写为“{type_value}”。"
                           "请改为正确的类型。", ERROR, tpath, _title(form, tpath), _where(result, tpath)))


def _entity_name(cat: Catalog, source: str, entity_id: str) -> str:
    try:
        return cat.entity(source, entity_id)["name"]
    except LookupError:
        return entity_id


def _excluded(result: ParseResult, form: Form, cat: Catalog, campaign: Campaign, rules: dict) -> None:
    source = campaign.data.get("excluded_groups")
    paths = rules.get("excluded_group_fields", {}).get(form.id, [])
    if not source or not paths:
        return
    index = _index(cat, source)
    for path in paths:
        for ipath, name in _values(result.record, path):
            match = index.match(str(name))
            title = _title(form, ipath)
            if match.exact is not None:
                result.add(Problem("GROUP_FIRST_BATCH", f"“{name}”已入围第一批示范性职业教育集团（联盟）培育单位"
                                   f"（附件1第{match.exact.get('seq')}号），不在本次推荐范围，请从推荐名单中删除。",
                                   ERROR, ipath, title, _where(result, ipath)))
            elif match.near:
                names = "、".join(r["name"] for r in match.near)
                result.add(Problem("GROUP_FIRST_BATCH_NEAR", f"“{name}”与第一批培育单位“{names}”名称非常接近，"
                                   "请人工核对是否为同一集团（第一批培育单位不在推荐范围）。", REVIEW, ipath, title,
                                   _where(result, ipath), [r["name"] for r in match.near]))


def _eligible(result: ParseResult, form: Form, cat: Catalog, campaign: Campaign, rules: dict) -> None:
    source = campaign.data.get("eligible_groups")
    paths = rules.get("eligible_group_fields", {}).get(form.id, [])
    if not source or not paths:
        return
    index = _index(cat, source)
    names = "、".join(r["name"] for r in cat.entities(source))
    for path in paths:
        for ipath, name in _values(result.record, path):
            match = index.match(str(name))
            title = _title(form, ipath)
            if match.exact is None:
                if match.near:
                    near = "、".join(r["name"] for r in match.near)
                    result.add(Problem("GROUP_NEAR_ELIGIBLE", f"“{name}”不在名单中，与“{near}”非常接近，请人工核对。",
                                       REVIEW, ipath, title, _where(result, ipath), [r["name"] for r in match.near]))
                else:
                    result.add(Problem("GROUP_NOT_ELIGIBLE", f"“{name}”不是本次通知名单中的集团。名单为：{names}。"
                                       "请填写名单中的集团名称。", ERROR, ipath, title, _where(result, ipath)))
                continue
            row = match.exact
            if result.entity and result.entity != row.get("id"):
                result.add(Problem("ENTITY_MISMATCH", f"这份表格是为“{_entity_name(cat, source, result.entity)}”下载的，"
                                   f"但集团名称填写为“{name}”。请核对。", REVIEW, ipath, title, _where(result, ipath)))
            _entity_fields_agree(result, form, row)


def _entity_fields_agree(result: ParseResult, form: Form, row: dict) -> None:
    """Fields prefilled from the reference row (e.g. 牵头学校) must still name the same units."""
    spec = form.settings.get("entity", {})
    for path, attr in spec.get("prefill", {}).items():
        if attr == "name" or attr not in row or path not in result.record:
            continue
        expected, given = row[attr], result.record[path]
        if _name_set(expected) != _name_set(given):
            shown = "、".join(expected) if isinstance(expected, list) else expected
            written = "、".join(given) if isinstance(given, list) else given
            result.add(Problem("LEAD_SCHOOL_MISMATCH", f"“{_title(form, path)}”填写为“{written}”，与通知名单中的“{shown}”不一致。"
                               "请填写本集团名单中的牵头单位。", ERROR, path, _title(form, path), _where(result, path)))


def _name_set(value: Any) -> set[str]:
    return {normalize_name(str(x)) for x in (value if isinstance(value, list) else [value])}


def _char_limit(result: ParseResult, form: Form) -> None:
    limit = form.settings.get("max_chars")
    fields = form.settings.get("counted_fields")
    if not limit or not fields:
        return
    count = sum(word_count(str(result.record.get(f, ""))) for f in fields)
    result.metrics["char_count"] = count
    result.metrics["char_limit"] = limit
    if count > limit:
        result.add(Problem("TOO_MANY_CHARS", f"正文共 {count} 字（按 Word“字数统计”的字数计），超过 {limit} 字的限制 "
                           f"{count - limit} 字。请精简后重新上传。", ERROR))
    else:
        result.add(Problem("CHAR_COUNT", f"正文共 {count} 字（上限 {limit} 字）。", INFO))


def _ranking(result: ParseResult, form: Form, rules: dict) -> None:
    spec = rules.get("ranking")
    if not spec or spec.get("form") != form.id:
        return
    ranks = [v for _p, v in _values(result.record, spec["field"]) if isinstance(v, int)]
    if not ranks:
        return
    expected = list(range(1, len(ranks) + 1))
    if sorted(ranks) != expected:
        dup = sorted({r for r in ranks if ranks.count(r) > 1})
        detail = f"重复的序号：{'、'.join(map(str, dup))}；" if dup else ""
        result.add(Problem("RANK_SEQUENCE", f"推荐排序应为 1 到 {len(ranks)} 的连续整数，不重复、不缺号；"
                           f"表中填写的是 {'、'.join(map(str, ranks))}。{detail}请重新排序。", ERROR,
                           spec["field"].split("[]")[0], _title(form, spec["field"])))


def _sums(result: ParseResult, form: Form, rules: dict) -> None:
    for spec in rules.get("sums", []):
        if spec.get("form") != form.id:
            continue
        total = result.record.get(spec["total"])
        parts = [result.record.get(p) for p in spec["parts"]]
        if not isinstance(total, int) or not all(isinstance(p, int) for p in parts):
            continue
        if sum(parts) != total:
            names = "+".join(_title(form, p) for p in spec["parts"])
            result.add(Problem("SUM_MISMATCH", f"“{_title(form, spec['total'])}”填写为 {total}，但各类成员单位数之和为 "
                               f"{sum(parts)}（{names}）。请核对后修改。", ERROR, spec["total"],
                               _title(form, spec["total"]), _where(result, spec["total"])))


def _quota(cat: Catalog, campaign: Campaign, record: dict) -> tuple[int, str] | None:
    row = recommender_of(cat, campaign, record)
    if row is None:
        return None
    rtype = campaign.recommender_type(row.get("type", ""))
    return (rtype["quota"], rtype["label"]) if rtype else None


def _list_quota(result: ParseResult, form: Form, cat: Catalog, campaign: Campaign, rules: dict, record: dict) -> None:
    spec = rules.get("quota")
    if not spec or spec.get("list_form") != form.id:
        return
    quota = _quota(cat, campaign, record)
    items = record.get(spec["list"]) or []
    if quota and len(items) > quota[0]:
        result.add(Problem("QUOTA_EXCEEDED", f"{quota[1]}最多推荐 {quota[0]} 个集团，汇总表中列了 {len(items)} 个。"
                           "请按推荐排序保留前几名后重新上传。", ERROR, spec["list"]))


# ---- across a recommender's files -------------------------------------------------------------------------


def batch_rules(results: list[ParseResult], cat: Catalog) -> None:
    """Rules over all files of each recommender: quota, ranked list ↔ 推荐书, agreement of the figures."""
    groups: dict[tuple[str, str], list[ParseResult]] = defaultdict(list)
    for result in results:
        if not result.readable or not result.campaign:
            continue
        campaign = cat.campaign(result.campaign)
        spec = _rules(campaign).get("recommender")
        if not spec:
            continue
        row = recommender_of(cat, campaign, result.record)
        name = row["id"] if row else normalize_name(str(result.record.get(spec["name_field"], "")))
        if name:
            groups[(campaign.id, name)].append(result)
    for (campaign_id, _who), files in groups.items():
        campaign = cat.campaign(campaign_id)
        _batch_quota(files, cat, campaign)
        for check in _rules(campaign).get("cross_checks", []):
            _cross_check(files, cat, campaign, check)


def _batch_quota(files: list[ParseResult], cat: Catalog, campaign: Campaign) -> None:
    spec = _rules(campaign).get("quota")
    if not spec:
        return
    letters = [f for f in files if f.form == spec["count_form"]]
    if not letters:
        return
    quota = _quota(cat, campaign, letters[0].record)
    groups = {normalize_name(str(f.record.get("group_name", ""))) for f in letters}
    if quota and len(groups) > quota[0]:
        for f in letters:
            f.add(Problem("QUOTA_EXCEEDED", f"{quota[1]}最多推荐 {quota[0]} 个集团，本推荐单位提交的推荐书已超过名额。"
                          "请只报送推荐排序靠前的集团，撤回其余推荐书。", ERROR))


def _same(a: Any, b: Any) -> bool:
    def norm(v: Any) -> set[str]:
        items = v if isinstance(v, list) else str(v).replace("；", "、").replace(";", "、").split("、")
        return {normalize_name(str(x)) for x in items if str(x).strip()}
    if isinstance(a, int) or isinstance(b, int):
        return str(a) == str(b)
    return norm(a) == norm(b)


def _cross_check(files: list[ParseResult], cat: Catalog, campaign: Campaign, check: dict) -> None:
    lists = [f for f in files if f.form == check["list_form"]]
    items = [f for f in files if f.form == check["item_form"]]
    list_key, item_key = check["match"]
    list_form = campaign.forms[check["list_form"]]
    item_form = campaign.forms[check["item_form"]]
    by_name: dict[str, list[ParseResult]] = defaultdict(list)
    for f in items:
        if f.record.get(item_key):
            by_name[normalize_name(str(f.record[item_key]))].append(f)
    for dupes in by_name.values():
        if len(dupes) > 1:
            for f in dupes:
                f.add(Problem("DUPLICATE_SUBMISSION", f"同一推荐单位为“{f.record.get(item_key)}”提交了 {len(dupes)} 份"
                              f"《{item_form.title}》（{'、'.join(d.file for d in dupes)}），请只保留一份。", REVIEW))
    if not lists:
        for f in items:
            f.add(Problem("LIST_MISSING", f"本推荐单位尚未提交《{list_form.title}》，无法核对推荐排序和信息一致性。", INFO))
        return
    ranked: set[str] = set()
    for lst in lists:
        for i, row in enumerate(lst.record.get(check["list"]) or []):
            if not row.get(list_key):
                continue
            name = normalize_name(str(row[list_key]))
            ranked.add(name)
            letters = by_name.get(name, [])
            ipath = f"{check['list']}.{i}.{list_key}"
            if not letters:
                lst.add(Problem("RANK_NO_LETTER", f"汇总表第{i + 1}行的“{row[list_key]}”没有对应的《{item_form.title}》。"
                                f"请同时提交该集团的{item_form.title}。", ERROR, ipath, _title(list_form, ipath),
                                _where(lst, ipath)))
                continue
            for letter in letters:
                for list_field, item_fields in check.get("agree", []):
                    a = row.get(list_field)
                    options = item_fields.split("|")
                    values = [letter.record.get(k) for k in options if letter.record.get(k) not in (None, "")]
                    if a in (None, "") or not values or any(_same(a, b) for b in values):
                        continue
                    lpath = f"{check['list']}.{i}.{list_field}"
                    ltitle, ititle = _title(list_form, lpath), _title(item_form, options[0])
                    b = values[0]
                    shown = "、".join(b) if isinstance(b, list) else b
                    message = (f"“{row[list_key]}”的{ltitle}：汇总表填写“{a}”，推荐书（{letter.file}）填写“{shown}”，"
                               "两者不一致，请核对后统一。")
                    lst.add(Problem("CROSS_FORM_MISMATCH", message, ERROR, lpath, ltitle, _where(lst, lpath)))
                    letter.add(Problem("CROSS_FORM_MISMATCH", message, ERROR, options[0], ititle,
                                       _where(letter, options[0])))
    for name, letters in by_name.items():
        if name not in ranked:
            for f in letters:
                f.add(Problem("LETTER_NOT_RANKED", f"“{f.record.get(item_key)}”不在本推荐单位的《{list_form.title}》中。"
                              "请在汇总表中列入并排序，或撤回这份推荐书。", ERROR, item_key, _title(item_form, item_key),
                              _where(f, item_key)))
