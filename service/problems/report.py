"""The result of reading one returned file: what it is, the record, how each field was found, and the problems.

Status follows from the problems: any ``error`` rejects the file (the submitter must fix and resend it),
any ``review`` item sends it to a person on the platform, otherwise it is accepted. ``info`` items are
reported and change nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from service.problems.catalogue import entry
from service.problems.location import Where

ERROR, REVIEW, INFO = "error", "review", "info"
ACCEPTED, NEEDS_REVIEW, REJECTED = "accepted", "needs_review", "rejected"
STATUS_LABELS = {ACCEPTED: "通过", NEEDS_REVIEW: "需人工复核", REJECTED: "不予受理"}


@dataclass
class Problem:
    """One finding with a stable code, a Chinese message that says how to fix it, and where it is."""

    code: str
    message: str
    severity: str = ERROR
    path: str = ""
    title: str = ""
    where: Where | None = None
    candidates: list[Any] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "severity": self.severity, "message": self.message}
        if self.path:
            out["path"] = self.path
            out["title"] = self.title
        if self.where is not None:
            out["where"] = self.where.to_dict()
        if self.candidates:
            out["candidates"] = self.candidates
        return out


def problem(code: str, /, *, variant: str | None = None, path: str = "", title: str = "", where: Where | None = None,
            candidates: Iterable[Any] = (), **fields: Any) -> Problem:
    """The one way to make a problem: its wording and severity come from the catalogue entry of ``code``.

    ``fields`` fill the entry's template (``variant`` picks another wording of the same code); ``title`` is the
    field's Chinese title, shown in the message when the template names it. An unknown code or variant raises
    UnknownProblem, a missing or unexpected field TypeError, so a typo fails the first test that reaches it.
    """
    spec = entry(code)
    if "title" in spec.fields(variant):
        if not title:
            raise TypeError(f"{code}: the message names the field, give its title")
        fields["title"] = title
    return Problem(code, spec.text(variant, **fields), spec.severity, path, title, where, list(candidates))


def reported(code: str, message: str, *, path: str = "", title: str = "", where: Where | None = None) -> Problem:
    """A problem another layer has already worded (the office's rejections and conversion failures carry their
    own texts, a schema check its field problems); the code must still be in the catalogue, which gives its
    severity."""
    return Problem(code, message, entry(code).severity, path, title, where)


@dataclass
class FieldReport:
    """How one field (or one cell of a repeated table) was read."""

    path: str
    title: str
    how: str
    where: Where | None = None
    value: Any = None
    raw: str | None = None
    note: str = ""
    flag: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "title": self.title, "found": self.how, "value": self.value}
        if self.where is not None:
            out["where"] = self.where.to_dict()
        if self.raw is not None and self.raw != self.value:
            out["raw"] = self.raw
        if self.note:
            out["note"] = self.note
        if self.flag:
            out["flag"] = self.flag
        return out


@dataclass
class ParseResult:
    """Everything known about one returned file."""

    file: str
    readable: bool = True
    format: str = ""
    converted: bool = False
    campaign: str | None = None
    form: str | None = None
    form_title: str = ""
    schema_version: str = ""
    entity: str = ""
    issuance: str = ""
    identified_by: str = ""  # stamp | structure
    record: dict[str, Any] = field(default_factory=dict)
    fields: list[FieldReport] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    received_at: str = ""

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity != ERROR]

    @property
    def status(self) -> str:
        if self.errors:
            return REJECTED
        if any(p.severity == REVIEW for p in self.problems):
            return NEEDS_REVIEW
        return ACCEPTED

    def add(self, problem: Problem) -> None:
        key = (problem.code, problem.path, problem.message)
        if all((p.code, p.path, p.message) != key for p in self.problems):
            self.problems.append(problem)

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> ParseResult:
        """Rebuild a result from :meth:`to_dict` (stored reports are re-checked when related files change)."""
        result = cls(file=doc.get("file", ""))
        for key in ("readable", "format", "converted", "campaign", "form", "form_title", "schema_version", "entity",
                    "issuance", "identified_by", "record", "metrics", "received_at"):
            if key in doc:
                setattr(result, key, doc[key])
        result.fields = [FieldReport(f["path"], f["title"], f["found"], _where(f.get("where")), f.get("value"),
                                     f.get("raw", f.get("value") if isinstance(f.get("value"), str) else None),
                                     f.get("note", ""), f.get("flag", "")) for f in doc.get("fields", [])]
        result.problems = [Problem(p["code"], p["message"], p["severity"], p.get("path", ""), p.get("title", ""),
                                   _where(p.get("where")), list(p.get("candidates", [])))
                           for p in [*doc.get("errors", []), *doc.get("warnings", [])]]
        return result

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "readable": self.readable,
            "status": self.status,
            "status_label": STATUS_LABELS[self.status],
            "campaign": self.campaign,
            "form": self.form,
            "form_title": self.form_title,
            "schema_version": self.schema_version,
            "entity": self.entity,
            "issuance": self.issuance,
            "identified_by": self.identified_by,
            "format": self.format,
            "converted": self.converted,
            "received_at": self.received_at,
            "record": self.record,
            "fields": [f.to_dict() for f in self.fields],
            "errors": [p.to_dict() for p in self.errors],
            "warnings": [p.to_dict() for p in self.warnings],
            "metrics": self.metrics,
        }


def _where(doc: dict[str, Any] | None) -> Where | None:
    if not doc:
        return None
    return Where(**{k: v for k, v in doc.items() if k != "text"})


def text_report(result: ParseResult) -> str:
    """A readable Chinese report of one file, for the command line."""
    lines = [f"文件：{result.file}", f"结论：{STATUS_LABELS[result.status]}"]
    if result.form:
        how = "按身份标识" if result.identified_by == "stamp" else "按版式推断"
        lines.append(f"表单：{result.form_title}（{result.campaign}/{result.form}，{how}识别）")
    if result.entity:
        lines.append(f"单位编号：{result.entity}")
    for key, value in result.metrics.items():
        if key == "char_count":
            lines.append(f"正文字数：{value}（上限 {result.metrics.get('char_limit', '—')}）")
    if result.errors:
        lines.append(f"错误（{len(result.errors)}）：")
        lines.extend(_problem_line(p) for p in result.errors)
    if result.warnings:
        lines.append(f"提示与复核（{len(result.warnings)}）：")
        lines.extend(_problem_line(p) for p in result.warnings)
    if result.readable and result.form:
        found = sum(1 for f in result.fields if f.how != "not_found")
        lines.append(f"字段：共 {len(result.fields)} 项，找到 {found} 项")
    return "\n".join(lines)


def _problem_line(p: Problem) -> str:
    where = f"（{p.where.text()}）" if p.where is not None else ""
    return f"  [{p.code}] {p.message}{where}"
