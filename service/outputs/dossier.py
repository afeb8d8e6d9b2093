"""The 资料汇编 for the expert panel: one PDF with a cover, a table of contents and every submitted document.

Order: submitters in the order of the campaign's reference list; within one, the list form first (汇总表), then
the forms it ranks in 推荐排序 order (推荐书), then the rest (工作总结); each document followed by its attachments.
Documents are converted by the project's LibreOffice converter; PDF attachments go in as they are, images on an A4
page each, Word/Excel attachments converted. Cover, contents, image and placeholder pages are HTML rendered by
:mod:`service.outputs.pdf` (WeasyPrint by default); pypdf merges everything and adds the bookmarks (submitter →
document → attachment).

A file that cannot be converted or read never stops the compilation: it gets a page saying so, and the failure is
reported (``Compilation.failures``) and audited. By default the submissions accepted, waiting for review, late or
returned for changes are compiled (``COMPILE_STATUSES``); rejected, unreadable, misdirected, withdrawn, dismissed and
reassigned ones are left out.

What the panel reads beside the documents as sent: every page from the contents on carries the compiled page number
(the documents' own numbers are taken out, :mod:`service.outputs.pdf.stamp`), and the contents give the page where
each entry starts; each document's line in the contents says its status, and a document not yet accepted carries a
boxed note at the top of its first page; the reviewers' decisions on a document (the value read, the value decided,
who, when, why) follow it on a page of their own (审核记录), the document itself unchanged.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pypdf import PdfReader, PdfWriter
from pypdf.errors import PyPdfError
from sqlalchemy import select

from service.forms.catalog import ROOT, Catalog, Form, catalog
from service.forms.names import normalize_name
from service.office.convert.client import SOURCE_KINDS, get_converter
from service.office.convert.protocol import (
    CONVERT_BUSY,
    CONVERT_FAILED,
    CONVERT_TIMEOUT,
    CONVERT_UNAVAILABLE,
    CONVERT_UNSUPPORTED,
    ConversionError,
)
from service.office.sniff import ZIP, media_type
from service.outputs.decision_titles import DOCUMENT_DECISION, decision_title
from service.outputs.exports import current_submissions, rank_of_groups, submitter_order
from service.outputs.pdf import Margins
from service.outputs.pdf import html_pdf as render_html_pdf
from service.outputs.pdf.images import pictures
from service.outputs.pdf.sanitize import strip_active_content
from service.outputs.pdf.stamp import Stamp, stamp_pages
from service.problems.catalogue import message
from service.store import Store
from service.store.audit import audit
from service.store.lifecycle import LABELS
from service.store.models import Attachment, ReviewDecision, Submission

COMPILE_STATUSES = ("accepted", "needs_review", "late", "returned")
# The dossier's own pages leave the bottom 30 mm to the compiled page number (GB/T 9704 keeps 35 mm).
PAGE_MARGINS = Margins(25, 22, 30, 25)
CHINA = dt.timezone(dt.timedelta(hours=8))
FONTS_CONF = ROOT / "config" / "fonts.conf"
SERIF = '"Noto Serif CJK SC", "宋体", serif'
SANS = '"Noto Sans CJK SC", "黑体", sans-serif'
# The converter's messages tell an uploader what to do; a placeholder page tells a reader what happened.
CONVERSION_REASONS = {
    CONVERT_FAILED: "文件已损坏、已加密或不是有效的 Word/Excel 文档",
    CONVERT_TIMEOUT: "转换超时（文件过大或内容异常）",
    CONVERT_UNSUPPORTED: "不支持的文件格式",
}


class CompileError(Exception):
    """The compilation itself failed (nothing to compile, no converter, contents that would not settle).

    Worded by the catalogue entry of ``code`` (its ``variant`` filled with ``fields``), which the API answers
    with as it is; ``str()`` is the message, which a failed job and the command line show.
    """

    def __init__(self, code: str, variant: str | None = None, /, **fields: Any) -> None:
        self.code, self.variant, self.fields = code, variant, fields
        self.message = message(code, variant, **fields)
        super().__init__(self.message)

    def __reduce__(self) -> tuple[Any, ...]:
        return _compile_error, (self.code, self.variant, self.fields)


def _compile_error(code: str, variant: str | None, fields: dict[str, Any]) -> CompileError:
    """A CompileError rebuilt after pickling (positional-only arguments and keyword fields)."""
    return CompileError(code, variant, **fields)


@dataclass
class Part:
    """One entry of the compilation: a bookmark and a line of the contents, with its pages (None for a heading)."""

    title: str
    level: int  # 0 submitter, 1 document, 2 attachment
    detail: str = ""  # the group a document is about: a second line in the contents
    pdf: bytes | None = None
    pages: int = 0
    first_page: int = 0  # 1-based page of the merged PDF where it starts
    status: str = ""  # a document's status (service.store.lifecycle), shown on its contents line
    own: bool = False  # pages the platform made (notice, picture, review record): no page numbers of their own

    @property
    def pending(self) -> bool:
        """A document not yet accepted: marked as such in the contents and on its first page."""
        return bool(self.status) and self.status != "accepted"

    @property
    def mark(self) -> str:
        return f"本材料尚未通过审核（{LABELS.get(self.status, self.status)}）" if self.pending else ""

    @property
    def bookmark(self) -> str:
        return f"{self.title}：{self.detail}" if self.detail else self.title


@dataclass
class Compilation:
    pdf: bytes
    pages: int
    documents: int
    failures: list[dict[str, Any]] = field(default_factory=list)


# -- HTML pages -----------------------------------------------------------------------------------------------

# The official sizes: 二号 22pt title, 三号 16pt, 四号 14pt, 小四 12pt.
_STYLE = f"""
body {{ font-family: {SERIF}; font-size: 14pt; color: #000; margin: 0; }}
h1 {{ font-family: {SANS}; font-weight: normal; text-align: center; }}
.cover {{ height: 240mm; position: relative; text-align: center; }}
.cover .docno {{ font-size: 14pt; padding-top: 4mm; }}
.cover .title {{ font-family: {SANS}; font-size: 20pt; line-height: 1.6; padding-top: 48mm; }}
.cover .name {{ font-family: {SANS}; font-size: 42pt; letter-spacing: 0.35em; padding-top: 14mm; }}
.cover .scope {{ font-size: 16pt; padding-top: 34mm; }}
.cover .facts {{ font-size: 14pt; padding-top: 4mm; }}
.cover .foot {{ position: absolute; bottom: 8mm; width: 100%; font-size: 16pt; line-height: 1.8; }}
.toc h1 {{ font-size: 22pt; letter-spacing: 1em; margin: 0 0 10mm 0; }}
.toc table {{ width: 100%; border-collapse: collapse; }}
.toc td {{ padding: 2.2mm 0 0.8mm 0; vertical-align: bottom; page-break-inside: avoid; font-size: 14pt; }}
.toc td.t {{ border-bottom: 0.5pt dotted #555; }}
.toc td.s {{ width: 27mm; text-align: center; border-bottom: 0.5pt dotted #555; font-size: 11pt; }}
.toc td.s span.pending {{ font-family: {SANS}; border: 0.6pt solid #000; padding: 0.3pt 2.5pt; }}
.toc td.p {{ width: 12mm; text-align: right; border-bottom: 0.5pt dotted #555; }}
.toc tr.l0 td {{ font-family: {SANS}; font-size: 16pt; padding-top: 5mm; }}
.toc tr.l1 td.t {{ padding-left: 2em; }}
.toc tr.l2 td {{ font-size: 12pt; }}
.toc tr.l2 td.t {{ padding-left: 4.7em; }}
.notice {{ padding-top: 45mm; text-align: center; }}
.notice h1 {{ font-size: 22pt; margin-bottom: 12mm; }}
.notice p {{ text-align: left; line-height: 1.9; text-indent: 2em; font-size: 16pt; margin: 0 0 3mm 0; }}
.notice .what {{ font-family: {SANS}; text-align: center; text-indent: 0; margin-bottom: 10mm; }}
.image {{ text-align: center; }}
.image img {{ max-width: 180mm; max-height: 256mm; }}
.review h1 {{ font-size: 22pt; letter-spacing: 0.5em; margin: 0 0 6mm 0; }}
.review .what {{ font-family: {SANS}; font-size: 16pt; text-align: center; text-indent: 0; line-height: 1.6;
                 margin: 0 0 6mm 0; }}
.review .facts {{ font-size: 12pt; line-height: 1.7; margin: 0 0 4mm 0; }}
.review p {{ font-size: 12pt; line-height: 1.7; text-indent: 2em; margin: 0 0 3mm 0; }}
.review table {{ width: 100%; border-collapse: collapse; table-layout: fixed; font-size: 10.5pt; line-height: 1.45; }}
.review th {{ font-family: {SANS}; font-weight: normal; border: 0.75pt solid #000; padding: 1.5mm 1mm; }}
.review td {{ border: 0.75pt solid #000; padding: 1.5mm 1mm; vertical-align: top; overflow-wrap: anywhere; }}
.review td.n {{ text-align: center; }}
.review .when {{ white-space: nowrap; }}
.review .returned {{ border: 0.75pt solid #000; padding: 2mm 3mm; margin-top: 5mm; text-indent: 0; }}
"""


def html_pdf(body: str, margins: Margins = PAGE_MARGINS) -> bytes:
    """An HTML body in the dossier's style as A4 PDF pages (the configured engine, CJK fonts embedded)."""
    return render_html_pdf(_STYLE, body, margins)


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def chinese_numeral(n: int) -> str:
    """1 → 一, 10 → 十, 23 → 二十三 (the numbering of the contents' sections)."""
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "") if n < 100 else str(n)


def _chinese_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _china_day(moment: dt.datetime | None) -> str:
    """A stored time (UTC; naive from SQLite) as the date in China: 2020年11月18日."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return _chinese_date(moment.astimezone(CHINA).date())


def cover_html(campaign, scope: str, facts: str, signer: str, day: dt.date) -> str:
    """The cover: notice number, campaign, 资料汇编, whose materials, and who compiled it when."""
    return (f'<div class="cover"><div class="docno">{_e(campaign.data.get("document_number", ""))}</div>'
            f'<div class="title">{_e(campaign.title)}</div><div class="name">资料汇编</div>'
            f'<div class="scope">{_e(scope)}</div><div class="facts">{_e(facts)}</div>'
            f'<div class="foot">{_e(signer) + "<br>" if signer else ""}{_chinese_date(day)}</div></div>')


def toc_html(parts: list[Part]) -> str:
    rows, section = [], 0
    for part in parts:
        title = _e(part.title)
        if part.level == 0:
            section += 1
            title = f"{chinese_numeral(section)}、{title}"
        if part.detail:  # 推荐书：<集团> in one line would wrap anywhere; the group gets its own line
            title = f"{title}：<br>{_e(part.detail)}"
        status = _e(LABELS.get(part.status, part.status)) if part.status else ""
        if part.pending:
            status = f'<span class="pending">{status}</span>'
        rows.append(f'<tr class="l{part.level}"><td class="t">{title}</td><td class="s">{status}</td>'
                    f'<td class="p">{part.first_page}</td></tr>')
    return f'<div class="toc"><h1>目录</h1><table>{"".join(rows)}</table></div>'


def placeholder_pdf(title: str, name: str, reason: str, where: str) -> bytes:
    """A page standing in for a file that could not go into the compilation."""
    return html_pdf(f'<div class="notice"><h1>本材料未能收入汇编</h1><p class="what">{_e(title)}</p>'
                    f"<p>文件“{_e(name)}”无法转换为 PDF：{_e(reason.rstrip('。'))}。</p>"
                    f"<p>原件完整保存在平台中（{_e(where)}），请在平台上查阅原件，或请报送单位重新提交。</p></div>")


# -- the reviewers' decisions ----------------------------------------------------------------------------------

REVIEW_COLUMNS = (("序号", "10mm"), ("栏目", "30mm"), ("文件中的内容", "28mm"), ("审核认定", "30mm"),
                  ("审核人、日期", "27mm"), ("说明", "38mm"))


def shown(value: Any) -> str:
    """A value of a record as the review record shows it."""
    if value is None or value == "" or value == []:
        return "（空）"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return "、".join("" if v is None else str(v) for v in value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def as_read(sub: Submission, decision: ReviewDecision) -> str:
    """The value as read from the file; where none could be read, the text the file has there (both boxes of a
    choice ticked: "☑是　☑否")."""
    if decision.path.startswith(DOCUMENT_DECISION):
        return "—"
    if decision.original not in (None, "", []):
        return shown(decision.original)
    raw = next((f.get("raw") for f in (sub.report or {}).get("fields", []) if f.get("path") == decision.path), None)
    return str(raw) if raw not in (None, "") else "（未读出）"


def as_decided(decision: ReviewDecision) -> str:
    if decision.path.startswith(DOCUMENT_DECISION):
        return "予以认可"
    return ("更正为：" if decision.action == "correct" else "确认：") + shown(decision.value)


def _lines(text: str) -> str:
    return "<br>".join(_e(line) for line in str(text).splitlines()) or "—"


def _why(decision: ReviewDecision) -> str:
    """The reviewer's note, and where a decision taken on an earlier version of the same content came from."""
    since = f"（沿用提交编号 {decision.carried_from} 的认定）" if decision.carried_from else ""
    return (_lines(decision.note) if decision.note else ("" if since else "—")) + since


def review_html(sub: Submission, form: Form | None, title: str, group: str, submitter: str,
                decisions: list[ReviewDecision]) -> str:
    """The page after a document: what the reviewers decided on it (the document itself stays as it was sent)."""
    rows = "".join(
        f'<tr><td class="n">{n}</td><td>{_e(decision_title(form, d.path))}</td><td>{_lines(as_read(sub, d))}</td>'
        f"<td>{_lines(as_decided(d))}</td><td>{_e(d.user)}<br><span class='when'>{_china_day(d.created_at)}</span>"
        f"</td><td>{_why(d)}</td></tr>" for n, d in enumerate(decisions, 1))
    head = "".join(f'<th style="width: {width}">{name}</th>' for name, width in REVIEW_COLUMNS)
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>" if decisions else ""
    lead = (f"<p>原件按报送时的样子收入本汇编，未作改动；审核人员的 {len(decisions)} 项认定如下：</p>"
            if decisions else "<p>原件按报送时的样子收入本汇编，未作改动。</p>")
    returned = ""
    if sub.status == "returned" and sub.state_note:
        who = "，".join(x for x in (sub.state_by, _china_day(sub.state_at)) if x)
        returned = (f'<p class="returned">已退回报送单位修改{f"（{_e(who)}）" if who else ""}。'
                    f"退回意见：{_lines(sub.state_note)}</p>")
    what = _e(title) + (f"<br>{_e(group)}" if group else "")
    return (f'<div class="review"><h1>审核记录</h1><p class="what">{what}</p>'
            f'<div class="facts">报送单位：{_e(submitter)}<br>文件：{_e(sub.original_name)}（提交编号 {sub.id}）<br>'
            f"审核状态：{_e(LABELS.get(sub.status, sub.status))}</div>{lead}{table}{returned}</div>")


# -- images ---------------------------------------------------------------------------------------------------

IMAGE_MARGINS = Margins(15, 15, 26, 15)  # the bottom 26 mm for the page number


def image_pdf(data: bytes) -> bytes:
    """Each page of the picture centred on an A4 page; ValueError in Chinese when it cannot be shown."""
    pages = []
    for picture in pictures(data):
        src = f"data:{picture.mime};base64,{base64.b64encode(picture.data).decode('ascii')}"
        # Scans fill the page: as wide as the text block, or as tall when the image is taller than the block.
        fit = "width: 180mm" if picture.width / picture.height > 180 / 256 else "height: 256mm"
        pages.append(f'<div class="image"><img style="{fit}" src="{src}"></div>')
    return html_pdf('<div style="page-break-after: always"></div>'.join(pages), IMAGE_MARGINS)


# -- one file to PDF ------------------------------------------------------------------------------------------

def checked_pdf(data: bytes) -> tuple[bytes, int]:
    """A PDF that pypdf reads and can rewrite, and its page count; ValueError in Chinese otherwise."""
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ValueError("PDF 文件已加密，无法打开")
        writer = PdfWriter(clone_from=reader)
        out = io.BytesIO()
        writer.write(out)
        pages = len(writer.pages)
    except (PyPdfError, OSError, KeyError, TypeError, AttributeError, IndexError, struct.error) as exc:
        raise ValueError("PDF 文件已损坏，无法读取") from exc
    if not pages:
        raise ValueError("PDF 文件没有页面")
    return out.getvalue(), pages


def _office_ext(name: str, data: bytes, media: str) -> str:
    ext = Path(name).suffix.lower()
    if ext in SOURCE_KINDS:
        return ext
    zipped = media_type(data) == ZIP
    if media == "excel":
        return ".xlsx" if zipped else ".xls"
    return ".docx" if zipped else ".doc"


def file_pdf(data: bytes, name: str, media: str) -> bytes:
    """Any accepted file as PDF: as is, an image on a page, or converted by LibreOffice; ValueError if not."""
    if media == "pdf":
        return data
    if media == "image":
        return image_pdf(data)
    try:
        return get_converter().convert(data, _office_ext(name, data, media), "pdf")
    except ConversionError as exc:
        if exc.code in (CONVERT_UNAVAILABLE, CONVERT_BUSY):  # every file would fail: stop, say why
            raise CompileError("COMPILE_FAILED", "converter", reason=exc.message) from exc
        raise ValueError(CONVERSION_REASONS.get(exc.code, exc.message)) from exc


# -- what goes in, in which order -----------------------------------------------------------------------------

@dataclass
class _Ranking:
    list_form: str
    table: str
    rank: str
    item_keys: dict[str, tuple[str, str]]  # item form → (key in the list's rows, key in the item's record)

    @classmethod
    def of(cls, campaign) -> _Ranking | None:
        rules = campaign.data.get("rules", {})
        spec = rules.get("ranking")
        if not spec:
            return None
        table, rank = spec["field"].split("[].", 1)
        keys = {c["item_form"]: (c["match"][0], c["match"][1]) for c in rules.get("cross_checks", [])
                if c.get("list_form") == spec["form"] and c.get("list") == table}
        return cls(spec["form"], table, rank, keys)

    def order(self, subs: list[Submission], forms: list[str]) -> list[Submission]:
        """One submitter's documents: the list first, then ranked items in rank order, then the rest."""
        lists = [s for s in subs if s.form_id == self.list_form]
        ranks: dict[str, dict[str, int]] = {}
        for item_form, (list_key, _) in self.item_keys.items():
            ranks[item_form] = {}
            for sub in lists:
                ranks[item_form].update(rank_of_groups(sub.record, self.table, self.rank, list_key))

        def key(sub: Submission) -> tuple:
            if sub.form_id == self.list_form:
                return (0, 0, 0, sub.id)
            item_key = self.item_keys.get(sub.form_id, (None, None))[1]
            name = normalize_name(str((sub.record or {}).get(item_key) or "")) if item_key else ""
            rank = ranks.get(sub.form_id, {}).get(name)
            return (1, forms.index(sub.form_id) if sub.form_id in forms else len(forms),
                    rank if rank is not None else 10**6, sub.id)

        return sorted(subs, key=key)


def _document_title(cat: Catalog, sub: Submission) -> tuple[str, str]:
    campaign = cat.campaign(sub.campaign_id)
    form = cat.form(sub.campaign_id, sub.form_id)
    group = (sub.record or {}).get("group_name")
    # Where the submitter is the group itself (辽宁 14 个集团), the bookmark above already names it.
    own_group = campaign.data.get("eligible_groups") and campaign.data.get("eligible_groups") == campaign.data.get(
        "submitters")
    if form.settings.get("one_per") == "group" and group and not own_group:
        return form.title, str(group)
    return form.title, ""


def _attachment_title(cat: Catalog, sub: Submission, att: Attachment) -> str:
    spec = next((a for a in cat.campaign(sub.campaign_id).data.get("attachments", []) if a["id"] == att.kind), {})
    return f"{spec.get('title', att.kind)}：{att.original_name}"


def _page_count(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def build_compilation(store: Store, campaign_id: str, recommender_id: str | None = None, *,
                      statuses: tuple[str, ...] = COMPILE_STATUSES, actor: str = "system",
                      today: dt.date | None = None, cat: Catalog | None = None,
                      progress: Callable[[int, int], None] | None = None) -> Compilation:
    """Build the 资料汇编 and say what could not go in (see the module's docstring).

    ``progress(done, total)`` is called after each document or attachment is converted (a job shows it).
    """
    cat = cat or catalog()
    campaign = cat.campaign(campaign_id)
    order = submitter_order(campaign_id, cat)
    if recommender_id and recommender_id not in order:
        raise LookupError(f"征集活动 {campaign_id} 的报送单位名单中没有编号 {recommender_id}")
    subs = current_submissions(store, campaign_id, statuses, recommender_id=recommender_id, cat=cat)
    if not subs:
        if recommender_id:
            raise CompileError("COMPILE_FAILED", "unit", campaign=campaign_id, recommender=recommender_id)
        raise CompileError("COMPILE_FAILED", campaign=campaign_id)
    # The converter's LibreOffice inherits the environment when it starts: give it the CJK font aliases.
    os.environ.setdefault("FONTCONFIG_FILE", str(FONTS_CONF))
    ranking = _Ranking.of(campaign)
    forms = list(campaign.forms)
    by_submitter: dict[str, list[Submission]] = {}
    for sub in subs:
        by_submitter.setdefault(sub.recommender_id, []).append(sub)

    parts: list[Part] = []
    failures: list[dict[str, Any]] = []
    total = sum(1 + len(sub.attachments) for sub in subs)
    if progress:
        progress(0, total)

    documents = 0

    def add(part: Part, sha256: str, name: str, media: str, where: str, sub_id: int) -> None:
        nonlocal documents
        try:
            try:
                data = store.files.get(sha256)
            except OSError as exc:
                raise ValueError("平台文件库中找不到这份原件，请联系管理员") from exc
            part.pdf, part.pages = checked_pdf(file_pdf(data, name, media))
            part.own = media == "image"
        except ValueError as exc:
            failures.append({"submission": sub_id, "name": name, "reason": str(exc)})
            part.pdf = placeholder_pdf(part.bookmark, name, str(exc), where)
            part.pages, part.own = _page_count(part.pdf), True
        parts.append(part)
        documents += 1
        if progress:
            progress(documents, total)

    decisions: dict[int, list[ReviewDecision]] = {}
    with store.session() as s:
        for decision in s.scalars(select(ReviewDecision).where(ReviewDecision.submission_id.in_([x.id for x in subs]))
                                  .order_by(ReviewDecision.created_at, ReviewDecision.id)):
            decisions.setdefault(decision.submission_id, []).append(decision)

    for submitter_id, own in by_submitter.items():
        submitter = order.get(submitter_id, (0, submitter_id))[1]
        parts.append(Part(submitter, 0))
        for sub in ranking.order(own, forms) if ranking else own:
            form = cat.form(campaign_id, sub.form_id)
            media = "excel" if form.kind == "xlsx" else "word"
            title, group = _document_title(cat, sub)
            add(Part(title, 1, group, status=sub.status), sub.sha256, sub.original_name, media, f"提交编号 {sub.id}",
                sub.id)
            noted = decisions.get(sub.id, [])
            if noted or sub.status == "returned" and sub.state_note:
                pdf = html_pdf(review_html(sub, form, title, group, submitter, noted))
                parts.append(Part(f"审核记录（{len(noted)} 项）" if noted else "审核记录（退回修改意见）", 2, pdf=pdf,
                                  pages=_page_count(pdf), own=True))
            for att in sub.attachments:
                add(Part(_attachment_title(cat, sub, att), 2), att.sha256, att.original_name, att.media,
                    f"提交编号 {sub.id} 的附件", sub.id)

    scope_label = "推荐单位" if campaign.data.get("recommender_types") else "报送单位"
    # One recommender's 汇编 is theirs to send (its name signs the cover); the whole campaign's is the platform's.
    signer = order.get(recommender_id, (0, recommender_id))[1] if recommender_id else ""
    scope = f"{scope_label}：{signer}" if recommender_id else f"全部{scope_label}（{len(by_submitter)} 个）"
    day = today or dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
    cover = html_pdf(cover_html(campaign, scope, f"共 {documents} 份材料", signer, day))
    cover_pages = _page_count(cover)

    # The contents' own length moves every page number after it: render until the page count settles.
    toc_pages, toc = 1, b""
    for _ in range(4):
        page = cover_pages + toc_pages + 1
        for part in parts:
            part.first_page = page
            page += part.pages
        toc = html_pdf(toc_html(parts))
        if _page_count(toc) == toc_pages:
            break
        toc_pages = _page_count(toc)
    else:
        raise CompileError("COMPILE_FAILED", "contents")

    writer = PdfWriter()
    for blob in (cover, toc, *(part.pdf for part in parts if part.pdf is not None)):
        writer.append(PdfReader(io.BytesIO(blob)), import_outline=False)
    strip_active_content(writer)  # attachments come from units; the panel's readers must not run what they ask
    stamp_pages(writer, page_stamps(cover_pages, toc_pages, parts),
                tick=(lambda: progress(documents, total)) if progress else None)
    # Before the bookmarks: merging identical objects replaces page objects the bookmarks would point to.
    writer.compress_identical_objects()
    parents: dict[int, Any] = {}
    for part in parts:
        parents[part.level] = writer.add_outline_item(
            title=part.bookmark, page_number=part.first_page - 1, parent=parents.get(part.level - 1),
            bold=part.level == 0, is_open=part.level == 0)
    writer.add_metadata({"/Title": f"{campaign.title} 资料汇编", "/Subject": scope,
                         "/Creator": "示范性职业教育集团（联盟）材料报送服务"})
    writer.page_mode = "/UseOutlines"
    out = io.BytesIO()
    writer.write(out)
    pdf, pages = out.getvalue(), len(writer.pages)

    with store.session.begin() as s:
        audit(s, actor, "compile", f"campaign:{campaign_id}", recommender=recommender_id, statuses=list(statuses),
              documents=documents, pages=pages, size=len(pdf), failures=failures)
    return Compilation(pdf, pages, documents, failures)


def page_stamps(cover_pages: int, toc_pages: int, parts: list[Part]) -> list[Stamp | None]:
    """Every page's marks: none on the cover; from the contents on, the page's number in the whole PDF (the number
    the contents give), the documents' own numbers taken out, and the note on a pending document's first page."""
    stamps: list[Stamp | None] = [None] * cover_pages
    stamps += [Stamp(f"— {n} —") for n in range(cover_pages + 1, cover_pages + toc_pages + 1)]
    for part in parts:
        for n in range(part.first_page, part.first_page + part.pages):
            stamps.append(Stamp(f"— {n} —", part.mark if n == part.first_page else "", clear=not part.own))
    return stamps


def compile_pdf(store: Store, campaign_id: str, recommender_id: str | None = None, **options: Any) -> bytes:
    """The 资料汇编 PDF of the campaign, or of one recommender (keyword options as :func:`build_compilation`)."""
    return build_compilation(store, campaign_id, recommender_id, **options).pdf
