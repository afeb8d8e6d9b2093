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
from service.problems.report import ParseResult, problem
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
        result.add(problem("SUBMISSION_LATE", deadline=campaign.data["deadline"], days=days))


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
    at = {"path": path, "title": _title(form, path), "where": _where(result, path)}
    if match.exact is None:
        near = {"variant": "near", "near": "、".join(r["name"] for r in match.near)} if match.near else {}
        result.add(problem("RECOMMENDER_UNKNOWN", **at, candidates=[r["name"] for r in match.near], name=name, **near))
        return
    row = match.exact
    if result.entity and result.entity != row.get("id"):
        result.add(problem("ENTITY_MISMATCH", **at, entity=_entity_name(cat, source, result.entity), name=name))
    rtype = campaign.recommender_type(row.get("type", ""))
    type_value = result.record.get(spec.get("type_field", ""))
    if rtype and type_value and type_value != rtype["label"]:
        tpath = spec["type_field"]
        result.add(problem("RECOMMENDER_TYPE_MISMATCH", path=tpath, title=_title(form, tpath),
                           where=_where(result, tpath), name=name, type=rtype["label"], written=type_value))


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
            at = {"path": ipath, "title": _title(form, ipath), "where": _where(result, ipath)}
            if match.exact is not None:
                result.add(problem("GROUP_FIRST_BATCH", **at, name=name, seq=match.exact.get("seq")))
            elif match.near:
                result.add(problem("GROUP_FIRST_BATCH_NEAR", **at, candidates=[r["name"] for r in match.near],
                                   name=name, near="、".join(r["name"] for r in match.near)))


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
            at = {"path": ipath, "title": _title(form, ipath), "where": _where(result, ipath)}
            if match.exact is None:
                if match.near:
                    result.add(problem("GROUP_NEAR_ELIGIBLE", **at, candidates=[r["name"] for r in match.near],
                                       name=name, near="、".join(r["name"] for r in match.near)))
                else:
                    result.add(problem("GROUP_NOT_ELIGIBLE", **at, name=name, names=names))
                continue
            row = match.exact
            if result.entity and result.entity != row.get("id"):
                result.add(problem("ENTITY_MISMATCH", variant="group", **at,
                                   entity=_entity_name(cat, source, result.entity), name=name))
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
            result.add(problem("LEAD_SCHOOL_MISMATCH", path=path, title=_title(form, path), where=_where(result, path),
                               written=written, listed=shown))


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
        result.add(problem("TOO_MANY_CHARS", count=count, limit=limit, over=count - limit))
    else:
        result.add(problem("CHAR_COUNT", count=count, limit=limit))


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
        repeated = {"variant": "duplicates", "duplicates": "、".join(map(str, dup))} if dup else {}
        result.add(problem("RANK_SEQUENCE", path=spec["field"].split("[]")[0], title=_title(form, spec["field"]),
                           count=len(ranks), ranks="、".join(map(str, ranks)), **repeated))


def _sums(result: ParseResult, form: Form, rules: dict) -> None:
    for spec in rules.get("sums", []):
        if spec.get("form") != form.id:
            continue
        total = result.record.get(spec["total"])
        parts = [result.record.get(p) for p in spec["parts"]]
        if not isinstance(total, int) or not all(isinstance(p, int) for p in parts):
            continue
        if sum(parts) != total:
            result.add(problem("SUM_MISMATCH", path=spec["total"], title=_title(form, spec["total"]),
                               where=_where(result, spec["total"]), total=total, sum=sum(parts),
                               parts="+".join(_title(form, p) for p in spec["parts"])))


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
        result.add(problem("QUOTA_EXCEEDED", path=spec["list"], kind=quota[1], quota=quota[0], count=len(items)))


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
            f.add(problem("QUOTA_EXCEEDED", variant="letters", kind=quota[1], quota=quota[0]))


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
                f.add(problem("DUPLICATE_SUBMISSION", group=f.record.get(item_key), count=len(dupes),
                              form=item_form.title, files="、".join(d.file for d in dupes)))
    if not lists:
        for f in items:
            f.add(problem("LIST_MISSING", form=list_form.title))
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
                lst.add(problem("RANK_NO_LETTER", path=ipath, title=_title(list_form, ipath), where=_where(lst, ipath),
                                row=i + 1, group=row[list_key], form=item_form.title))
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
                    said = {"group": row[list_key], "item": ltitle, "listed": a, "file": letter.file, "written": shown}
                    lst.add(problem("CROSS_FORM_MISMATCH", path=lpath, title=ltitle, where=_where(lst, lpath), **said))
                    letter.add(problem("CROSS_FORM_MISMATCH", path=options[0], title=ititle,
                                       where=_where(letter, options[0]), **said))
    for name, letters in by_name.items():
        if name not in ranked:
            for f in letters:
                f.add(problem("LETTER_NOT_RANKED", path=item_key, title=_title(item_form, item_key),
                              where=_where(f, item_key), group=f.record.get(item_key), form=list_form.title))
