"""Exports of what was submitted: records as xlsx / CSV / JSON, and the national 推荐名单汇总表.

Columns come from the form's schema (one column per field, headed by its Chinese ``title``), so a new form
exports without new code. Every export is written to the audit log.

Formats (``export_records``):

* ``xlsx`` — one sheet per form (sheet name = form title), one row per submission; each repeated table of a form
  (推荐书的成员单位名单, 汇总表的推荐名单, 工作总结的政策文件目录) gets its own sheet, one row per item, keyed by the
  submission's 提交编号.
* ``csv`` — one form per file (UTF-8 with BOM, so Excel opens Chinese text correctly); ``form_id`` is required
  when the campaign has several forms. A repeated table is one cell of JSON text.
* ``json`` — ``{form_id: [{"id", "submitter_id", "submitter", "status", "original_name", "received_at",
  "record"}]}`` with the record exactly as stored.

The first columns are 提交编号, 报送单位 (the account's unit from the campaign's submitter list; named so because
the forms themselves have a 推荐单位 field), 状态 and 文件名. A list of lines (牵头单位) is joined with "、". Dates
are written as official documents write them (2020年11月18日, a month 2009年6月) in xlsx and CSV, also inside a
CSV's JSON text of a table; the JSON export keeps the record's ISO 8601 values.

No string that a spreadsheet would take for a formula (OWASP "CSV injection": a leading ``=``, ``+``, ``-``,
``@``, tab, CR or LF) is ever written as one: in xlsx it is a text cell with Excel's quote prefix, in CSV it is
prefixed with ``'``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select

from service.forms.catalog import Catalog, Form, catalog
from service.forms.dates import official_date, shown_record, shown_value
from service.forms.fields import Field, arrays
from service.forms.names import normalize_name
from service.store import Store
from service.store.audit import audit
from service.store.lifecycle import LABELS
from service.store.models import Submission

FORMATS = ("xlsx", "csv", "json")
#: The one wording of every status, in pages, the API, exports and the CLI.
STATUS_LABELS = {**LABELS, "duplicate": "重复"}
SUMMARY_STATUSES = ("accepted", "needs_review", "late")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
META_TITLES = ("提交编号", "报送单位", "状态", "文件名")
LINES_JOINER = "、"

_THIN = Side(style="thin", color="000000")
BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
HEADER_FONT = Font(name="黑体", size=11)
BODY_FONT = Font(name="仿宋", size=11)
HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")


# -- which submissions ----------------------------------------------------------------------------------------

def submitter_order(campaign_id: str, cat: Catalog | None = None) -> dict[str, tuple[int, str]]:
    """Submitter id → (position in the campaign's reference list, name)."""
    cat = cat or catalog()
    source = cat.campaign(campaign_id).data.get("submitters", "")
    return {row["id"]: (i, row["name"]) for i, row in enumerate(cat.entities(source)) if row.get("id")}


def current_submissions(store: Store, campaign_id: str, statuses: Iterable[str], *, form_id: str | None = None,
                        recommender_id: str | None = None, cat: Catalog | None = None) -> list[Submission]:
    """Current submissions with these statuses, by submitter (reference-list order), form (campaign order), id."""
    cat = cat or catalog()
    campaign = cat.campaign(campaign_id)
    query = select(Submission).where(Submission.campaign_id == campaign_id, Submission.is_current.is_(True),
                                     Submission.status.in_(list(statuses)))
    if form_id:
        query = query.where(Submission.form_id == form_id)
    if recommender_id:
        query = query.where(Submission.recommender_id == recommender_id)
    with store.session() as s:
        subs = list(s.scalars(query))
        for sub in subs:
            _ = sub.attachments  # loaded now: callers use them after the session closes
    order = submitter_order(campaign_id, cat)
    forms = list(campaign.forms)
    return sorted(subs, key=lambda sub: (order.get(sub.recommender_id, (len(order), ""))[0],
                                         forms.index(sub.form_id) if sub.form_id in forms else len(forms), sub.id))


def _submitter_name(order: dict[str, tuple[int, str]], submitter_id: str) -> str:
    return order.get(submitter_id, (0, submitter_id))[1]


# -- cell values ----------------------------------------------------------------------------------------------

def cell_value(value: Any) -> Any:
    """A record value as one cell: numbers stay numbers, lists of lines are joined, tables become JSON text."""
    if value is None or isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return LINES_JOINER.join("" if v is None else str(v) for v in value)
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def text_width(value: Any) -> int:
    """Display width in spreadsheet column units: CJK characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(value if value is not None else ""))


def is_formula_like(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def csv_safe(value: Any) -> str:
    """A CSV cell that no spreadsheet evaluates (OWASP: prefix a would-be formula with a single quote)."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if is_formula_like(value) else text


def write_cell(ws: Worksheet, row: int, column: int, value: Any, font: Font = BODY_FONT) -> None:
    """Write one cell; strings are always text cells, never formulas, whatever they start with."""
    cell = ws.cell(row=row, column=column)
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # openpyxl makes any "=…" a formula; force text
        if is_formula_like(value):
            cell.quotePrefix = True  # and Excel keeps it text when someone edits the cell
    cell.font = font
    cell.border = BORDER
    cell.alignment = Alignment(vertical="top", wrap_text=isinstance(value, str) and len(value) > 30)


# -- rows of a form -------------------------------------------------------------------------------------------

def _top_fields(form: Form) -> list[Field]:
    return [f for f in form.fields if not f.array]


def _array_title(form: Form, key: str) -> str:
    return form.schema.get("properties", {}).get(key, {}).get("title", key)


def _meta(sub: Submission, order: dict[str, tuple[int, str]]) -> list[Any]:
    return [sub.id, _submitter_name(order, sub.recommender_id), STATUS_LABELS.get(sub.status, sub.status),
            sub.original_name]


def form_rows(form: Form, subs: Sequence[Submission], order: dict[str, tuple[int, str]]) -> tuple[list[str], list[list]]:
    """Header and rows of the form's main table (one row per submission)."""
    fields = _top_fields(form)
    header = [*META_TITLES, *(f.title for f in fields)]
    rows = [[*_meta(sub, order), *(cell_value(shown_value(f, (sub.record or {}).get(f.key))) for f in fields)]
            for sub in subs]
    return header, rows


def table_rows(form: Form, key: str, columns: list[Field], subs: Sequence[Submission],
               order: dict[str, tuple[int, str]]) -> tuple[list[str], list[list]]:
    """Header and rows of one repeated table (one row per item, with the submission's id)."""
    header = ["提交编号", "报送单位", "序号", *(f.title for f in columns)]
    rows = []
    for sub in subs:
        for n, item in enumerate((sub.record or {}).get(key) or [], start=1):
            item = item if isinstance(item, dict) else {}
            rows.append([sub.id, _submitter_name(order, sub.recommender_id), n,
                         *(cell_value(shown_value(f, item.get(f.key))) for f in columns)])
    return header, rows


# -- formats --------------------------------------------------------------------------------------------------

def _sheet_title(title: str, taken: set[str]) -> str:
    title = re.sub(r"[\[\]:*?/\\]", "_", title)[:31] or "Sheet"
    base, n = title, 2
    while title in taken:
        suffix = f"({n})"
        title, n = base[:31 - len(suffix)] + suffix, n + 1
    taken.add(title)
    return title


def _table_sheet(wb: Workbook, title: str, header: list[str], rows: list[list], taken: set[str]) -> Worksheet:
    ws = wb.create_sheet(_sheet_title(title, taken))
    for c, text in enumerate(header, start=1):
        write_cell(ws, 1, c, text, HEADER_FONT)
        ws.cell(row=1, column=c).fill = HEADER_FILL
        ws.cell(row=1, column=c).alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for r, values in enumerate(rows, start=2):
        for c, value in enumerate(values, start=1):
            write_cell(ws, r, c, value)
    for c, text in enumerate(header, start=1):
        longest = max([text_width(text), *(min(text_width(v[c - 1]), 80) for v in rows)], default=8)
        ws.column_dimensions[get_column_letter(c)].width = max(8, min(longest + 2, 60))
    ws.freeze_panes = "B2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(header))}{max(1, len(rows) + 1)}"
    ws.print_title_rows = "1:1"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape"
    return ws


def _records_xlsx(forms: list[Form], subs_by_form: dict[str, list[Submission]],
                  order: dict[str, tuple[int, str]]) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    taken: set[str] = set()
    for form in forms:
        subs = subs_by_form[form.id]
        _table_sheet(wb, form.title, *form_rows(form, subs, order), taken)
        for key, columns in arrays(form.fields).items():
            suffix = "-" + _array_title(form, key)
            _table_sheet(wb, form.title[:31 - len(suffix)] + suffix, *table_rows(form, key, columns, subs, order), taken)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _records_csv(form: Form, subs: list[Submission], order: dict[str, tuple[int, str]]) -> bytes:
    tables = arrays(form.fields)
    header, rows = form_rows(form, subs, order)
    header += [_array_title(form, key) for key in tables]
    for row, sub in zip(rows, subs, strict=True):
        shown = shown_record(form.fields, sub.record or {})
        row += [json.dumps(shown.get(key) or [], ensure_ascii=False) for key in tables]
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([csv_safe(v) for v in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _records_json(forms: list[Form], subs_by_form: dict[str, list[Submission]],
                  order: dict[str, tuple[int, str]]) -> bytes:
    doc = {form.id: [{"id": sub.id, "submitter_id": sub.recommender_id,
                      "submitter": _submitter_name(order, sub.recommender_id), "status": sub.status,
                      "original_name": sub.original_name, "received_at": sub.received_at.isoformat(),
                      "record": sub.record} for sub in subs_by_form[form.id]] for form in forms}
    return json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8")


def export_records(store: Store, campaign_id: str, fmt: str, statuses: Iterable[str] = ("accepted",), *,
                   form_id: str | None = None, actor: str = "system", cat: Catalog | None = None) -> bytes:
    """The campaign's current submissions with these statuses as ``xlsx``, ``csv`` (one form) or ``json``.

    Raises ValueError for an unknown format or a CSV without a form when the campaign has several, and
    LookupError for an unknown campaign or form (messages in Chinese).
    """
    cat = cat or catalog()
    statuses = tuple(statuses)
    if fmt not in FORMATS:
        raise ValueError(f"不支持的导出格式：{fmt}（可用：{'、'.join(FORMATS)}）")
    campaign = cat.campaign(campaign_id)
    forms = [cat.form(campaign_id, form_id)] if form_id else list(campaign.forms.values())
    if fmt == "csv" and len(forms) > 1:
        raise ValueError(f"征集活动 {campaign_id} 有多个表单（{'、'.join(campaign.forms)}），"
                         "CSV 每次导出一个表单，请指定表单（--form）。")
    order = submitter_order(campaign_id, cat)
    subs = current_submissions(store, campaign_id, statuses, form_id=form_id, cat=cat)
    subs_by_form = {form.id: [sub for sub in subs if sub.form_id == form.id] for form in forms}
    if fmt == "xlsx":
        data = _records_xlsx(forms, subs_by_form, order)
    elif fmt == "csv":
        data = _records_csv(forms[0], subs_by_form[forms[0].id], order)
    else:
        data = _records_json(forms, subs_by_form, order)
    with store.session.begin() as s:
        audit(s, actor, "export", f"campaign:{campaign_id}", format=fmt, forms=[f.id for f in forms],
              statuses=list(statuses), submissions=sum(len(v) for v in subs_by_form.values()), size=len(data))
    return data


# -- the national 推荐名单汇总表 ------------------------------------------------------------------------------

def _ranking(cat: Catalog, campaign_id: str) -> tuple[Form, str, str]:
    """The list form, its table and its rank column, from the campaign's ``rules.ranking``."""
    spec = cat.campaign(campaign_id).data.get("rules", {}).get("ranking")
    if not spec:
        raise LookupError(f"征集活动 {campaign_id} 没有推荐名单汇总表，无法合并。")
    table, rank = spec["field"].split("[].", 1)
    return cat.form(campaign_id, spec["form"]), table, rank


def ranked_items(record: dict, table: str, rank: str) -> list[dict]:
    """The rows of a list form in 推荐排序 order (rows without a rank last, in the order written)."""
    items = [i for i in (record or {}).get(table) or [] if isinstance(i, dict)]
    return sorted(items, key=lambda i: (not isinstance(i.get(rank), int), i.get(rank) or 0))


def rank_of_groups(record: dict, table: str, rank: str, name_key: str) -> dict[str, int]:
    """Normalized group name → 推荐排序, as the recommender's 汇总表 lists them."""
    return {normalize_name(str(i.get(name_key))): i[rank] for i in ranked_items(record, table, rank)
            if i.get(name_key) and isinstance(i.get(rank), int)}


def consolidated_summary(store: Store, campaign_id: str, statuses: Iterable[str] = SUMMARY_STATUSES, *,
                         actor: str = "system", cat: Catalog | None = None) -> bytes:
    """One 推荐名单汇总表 for the whole campaign (.xlsx): every current 汇总表's rows, by recommender and rank.

    By default the 汇总表 accepted, waiting for review or late are merged (a rejected or unreadable one must be
    sent again); a row whose 汇总表 is not yet accepted says so in 备注.
    """
    cat = cat or catalog()
    statuses = tuple(statuses)
    form, table, rank = _ranking(cat, campaign_id)
    campaign = cat.campaign(campaign_id)
    columns = arrays(form.fields)[table]
    order = submitter_order(campaign_id, cat)
    subs = current_submissions(store, campaign_id, statuses, form_id=form.id, cat=cat)
    header = ["推荐单位", *(f.title for f in columns), "备注"]
    rows = []
    for sub in subs:
        note = "" if sub.status == "accepted" else STATUS_LABELS.get(sub.status, sub.status)
        for item in ranked_items(sub.record, table, rank):
            rows.append([_submitter_name(order, sub.recommender_id),
                         *(cell_value(shown_value(f, item.get(f.key))) for f in columns), note])

    wb = Workbook()
    ws = wb.active
    ws.title = _sheet_title(form.title, set())
    width = len(header)
    last = get_column_letter(width)
    ws.merge_cells(f"A1:{last}1")
    write_cell(ws, 1, 1, form.title, Font(name="黑体", size=18))
    ws["A1"].border = Border()
    ws["A1"].alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[1].height = 36
    ws.merge_cells(f"A2:{last}2")
    today = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    write_cell(ws, 2, 1, f"{campaign.title}（{campaign.data.get('document_number', '')}）　"
                         f"共 {len({sub.recommender_id for sub in subs})} 个推荐单位、{len(rows)} 个集团　"
                         f"汇总日期：{official_date(today)}", Font(name="仿宋", size=11))
    ws["A2"].border = Border()
    ws["A2"].alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[2].height = 22
    for c, text in enumerate(header, start=1):
        write_cell(ws, 3, c, text, Font(name="黑体", size=12))
        ws.cell(row=3, column=c).alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    widths = []
    for c in range(1, width + 1):
        values = [row[c - 1] for row in rows]
        # Short values (排序, 日期, 电话, 是/否) centred, names and lists left.
        horizontal = "center" if max(map(text_width, values), default=0) <= 16 else "left"
        widths.append(max(8, min(max(map(text_width, [header[c - 1], *values])) + 2, 34)))
        ws.column_dimensions[get_column_letter(c)].width = widths[-1]
        for r in range(4, len(rows) + 4):
            write_cell(ws, r, c, rows[r - 4][c - 1], Font(name="仿宋", size=12))
            ws.cell(row=r, column=c).alignment = Alignment(horizontal=horizontal, vertical="center", wrap_text=True)
    # Spreadsheet programs do not grow a row for wrapped text on their own: give each row the lines it needs.
    for r, values in enumerate([header, *rows], start=3):
        lines = max(math.ceil(text_width(v) / max(w - 2, 1)) for v, w in zip(values, widths, strict=True))
        ws.row_dimensions[r].height = max(1, lines) * 16 + 8

    ws.print_title_rows = "3:3"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    ws.oddFooter.center.font = "仿宋"
    ws.freeze_panes = "A4"
    out = io.BytesIO()
    wb.save(out)
    data = out.getvalue()
    with store.session.begin() as s:
        audit(s, actor, "export", f"campaign:{campaign_id}", format="xlsx", kind="consolidated_summary",
              statuses=list(statuses), submissions=len(subs), rows=len(rows), size=len(data))
    return data
