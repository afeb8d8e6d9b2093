"""The stamped copy checked against the electronic one, and the pictures of what was read from a scan.

A unit sends its 推荐书 as a Word file and, beside it, the printed, signed and sealed copy scanned (the 盖章扫描件
attachment, or a second upload of the same form for the same group). Every value the scan read with certainty is
compared with the electronic record at the same path (spaces and full-width forms aside); each difference is a
review item on the electronic submission (FIELD_SCAN_DIFFERS: 扫描件：86；电子版：68), and so is each 盖章 place of
the scan without a seal (SEAL_MISSING). What was compared is kept in ``report["metrics"]["scan_check"]``; a
reviewer decides the items like any other (the electronic value, the scan's, or a correction).

Each value read from a picture has its cell's picture kept in the file store (by sha256, :class:`Pictures`), shown
to the reviewer beside the item it belongs to (:func:`pictures_of`).
"""

from __future__ import annotations

import copy
import hashlib
import re
import unicodedata
from typing import Any

from sqlalchemy.orm import Session

from service.forms.catalog import Catalog
from service.problems.report import ParseResult, problem
from service.store import Store
from service.store.models import StoredFile

#: What the submission's report keeps about the check (``metrics[CHECK]``).
CHECK = "scan_check"
#: Problems this check adds to the electronic submission's report (replaced when another scan is checked).
CODES = frozenset({"FIELD_SCAN_DIFFERS", "SEAL_MISSING", "SCAN_UNCHECKED"})
#: Review items shown with the picture of the cell they are about.
PICTURED = frozenset({"FIELD_FROM_SCAN", "FIELD_SCAN_UNCERTAIN", "FIELD_SCAN_DIFFERS"})
#: Where a page was read from a picture (not a PDF's text layer).
SCANNED = frozenset({"pdf_scan", "picture"})
_SPACE = re.compile(r"\s+")
_SHA = re.compile(r"^[0-9a-f]{64}$")


class Pictures:
    """``keep_picture`` for :func:`service.parse.pipeline.parse`: each cell's PNG kept by its sha256 (the reference
    the report holds), stored when the submission is filed. A plain object: it pickles to and from a parse worker."""

    def __init__(self) -> None:
        self.pngs: dict[str, bytes] = {}

    def __call__(self, png: bytes, path: str) -> str:
        sha = hashlib.sha256(png).hexdigest()
        self.pngs[sha] = png
        return sha

    def save(self, store: Store, s: Session) -> None:
        """Put every picture in the file store, with its row (the backup copies what the rows name)."""
        for sha, png in self.pngs.items():
            store.files.put(png)
            if s.get(StoredFile, sha) is None:
                s.add(StoredFile(sha256=sha, size=len(png)))
        s.flush()


def stamped_kind(cat: Catalog, campaign_id: str, form_id: str | None) -> str | None:
    """The campaign's attachment kind for the stamped copy of this form (盖章扫描件), if it has one."""
    for spec in cat.campaign(campaign_id).data.get("attachments", []):
        if "盖章" in spec.get("title", "") and (not form_id or form_id in spec.get("for_forms", [])):
            return spec["id"]
    return None


def scanned(report: dict[str, Any]) -> bool:
    """Whether a report is of pages read from pictures (a scan, a photo)."""
    return (report.get("metrics") or {}).get("scan", {}).get("source") in SCANNED


def electronic(report: dict[str, Any]) -> bool:
    """A readable form that was not read from pictures (Word, Excel, a PDF's text layer)."""
    return bool(report.get("readable", True) and report.get("form")) and not scanned(report)


def same(a: Any, b: Any) -> bool:
    """Equal once normalised: full-width forms folded, every space removed, lists compared item by item."""
    return _norm(a) == _norm(b)


def _norm(value: Any) -> Any:
    if isinstance(value, list):
        return [_norm(v) for v in value]
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    if value is None:
        return ""
    return _SPACE.sub("", unicodedata.normalize("NFKC", str(value)))


def _shown(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "（空）"
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)


def _get(record: dict[str, Any], path: str) -> Any:
    node: Any = record
    for part in path.split("."):
        try:
            node = node[int(part)] if part.isdigit() and isinstance(node, list) else node[part]
        except (KeyError, IndexError, TypeError, ValueError):
            return None
    return node


def compare(report: dict[str, Any], scan: ParseResult, *, file: str, attachment_id: int | None = None,
            sha256: str = "") -> dict[str, Any]:
    """``report`` (an electronic submission's) with the check against ``scan`` in it: the problems of an earlier
    check replaced by this one's, and ``metrics["scan_check"]``. The report given is not changed."""
    report = copy.deepcopy(report)
    metrics = report.setdefault("metrics", {})
    report["warnings"] = [p for p in report.get("warnings", []) if p["code"] not in CODES]
    report["errors"] = [p for p in report.get("errors", []) if p["code"] not in CODES]
    check: dict[str, Any] = {"file": file, "attachment": attachment_id, "sha256": sha256, "fields": {},
                             "seals": [], "compared": 0}
    metrics[CHECK] = check
    read = scan.metrics.get("scan")
    theirs, mine = scan.record.get("group_name"), (report.get("record") or {}).get("group_name")
    unchecked: dict[str, Any] | None = None
    if not scan.readable or read is None:
        unchecked = {"variant": "unreadable"}
    elif scan.form != report.get("form"):
        unchecked = {"variant": "other_form", "form": report.get("form_title") or report.get("form") or ""}
    elif theirs and mine and not same(theirs, mine):
        unchecked = {"variant": "other_group", "group": theirs}
    if unchecked is not None:
        check["unchecked"] = unchecked["variant"]
        report["warnings"].append(problem("SCAN_UNCHECKED", file=file, **unchecked).to_dict())
        return report
    check["source"], check["engine"] = read.get("source"), read.get("engine")
    electronic_record = report.get("record") or {}
    fields = {f["path"]: f for f in report.get("fields", []) if f.get("path")}
    for path, value in read.get("fields", {}).items():
        if not value.get("certain") or value.get("value") is None:
            continue
        check["compared"] += 1
        typed = _get(electronic_record, path)
        if same(value["value"], typed):
            continue
        check["fields"][path] = {"scan": value["value"], "electronic": typed, "text": value.get("text"),
                                 "page": value.get("page"), "box": value.get("box"),
                                 "confidence": value.get("confidence"), "image": value.get("image")}
        found = fields.get(path) or {}
        candidates = [c for c in (typed, value["value"]) if c is not None]
        item = problem("FIELD_SCAN_DIFFERS", path=path, title=found.get("title") or path,
                       candidates=candidates, scan=_shown(value["value"]), electronic=_shown(typed),
                       page=value.get("page")).to_dict()
        if found.get("where"):
            item["where"] = found["where"]
        report["warnings"].append(item)
    for place in read.get("seals", []):
        check["seals"].append(place)
        if place.get("ocr") and not place.get("sealed"):
            report["warnings"].append(problem("SEAL_MISSING", page=place.get("page"),
                                              place=place.get("label", "")).to_dict())
    return report


def kept(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The check's document-level notes, which checking the record again must not drop (SCAN_UNCHECKED)."""
    return [p for p in report.get("warnings", []) if p["code"] == "SCAN_UNCHECKED"]


def pictures_of(report: dict[str, Any]) -> dict[str, str]:
    """Each pictured path's picture (sha256): the values read from this file's own pages, and the scan's values
    that differ from this electronic copy."""
    metrics = report.get("metrics") or {}
    out = {}
    for source in (metrics.get("scan", {}).get("fields", {}), metrics.get(CHECK, {}).get("fields", {})):
        for path, value in source.items():
            image = value.get("image")
            if isinstance(image, str) and _SHA.match(image):
                out[path] = image
    return out


def picture_for(report: dict[str, Any], item: dict[str, Any]) -> str | None:
    """The picture to show beside a review item, if it is about a value read from a picture."""
    if item.get("code") not in PICTURED or not item.get("path"):
        return None
    metrics = report.get("metrics") or {}
    if item["code"] == "FIELD_SCAN_DIFFERS":
        image = metrics.get(CHECK, {}).get("fields", {}).get(item["path"], {}).get("image")
    else:
        image = metrics.get("scan", {}).get("fields", {}).get(item["path"], {}).get("image")
    return image if isinstance(image, str) and _SHA.match(image) else None
