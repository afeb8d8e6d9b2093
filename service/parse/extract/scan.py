"""Fields found on pages (a PDF or a picture): each value's place and confidence, what OCR read made sure of by
a person, and whether each 盖章 place is sealed.

The fields themselves are found as in a Word file (:mod:`service.parse.extract.docx` runs on the pages laid out
as paragraphs and tables); this adds what only pages have. Text from a PDF's text layer is what the unit
typed, exactly. Text read from a picture is not: every value read by OCR goes to a person (FIELD_FROM_SCAN,
the value kept in the record and offered to accept), and a value the engine was not sure of, a cell with ink
and no text, a label not found, or a tick box in a field that is not a choice is not put in the record at all
(FIELD_SCAN_UNCERTAIN): a wrong value is never taken unflagged. Each value's cell is cut from the page and
handed to ``keep_picture`` so a reviewer sees what was read.

A 盖章 place is a field whose label or template text asks for a seal (牵头单位（盖章）); its value cell and the
row under it (the date, where seals land) is where a seal is looked for. On a picture a place without a seal is
a review item (SEAL_MISSING); on a text page what is found is reported only.

The result's ``metrics["scan"]`` holds all of it, field by field, for the report, the review queue and the
cross-check against the electronic copy of the same submission (see :meth:`PagesRead.to_dict`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

from service.forms.catalog import Form
from service.forms.fields import Field
from service.forms.layout import Layout, Locator, label_key
from service.office.marks import STRUCK_START
from service.office.pages import Box, PagedDocument, Place
from service.office.picture import crop_png
from service.office.xlsx import col_index
from service.parse.extract.found import NOT_FOUND, Extracted, Found
from service.problems.report import ParseResult, problem
from service.validate.schema import check_record

#: A line read by OCR with every character at least this sure is taken as read (and still shown to a person).
CERTAIN = 0.9
SEAL_WORD = "盖章"
TICKS = frozenset("☑☐")
_REF = re.compile(r"^([A-Z]+)(\d+)$")
#: A picture of a value: PNG bytes and the field's path in, the reference to keep (a file id, a path) out.
KeepPicture = Callable[[bytes, str], str]


@dataclass
class PageValue:
    """One value as it was found on the pages, for a reviewer and for comparing with another copy."""

    path: str
    text: str  # as read, before normalization
    confidence: float  # 0–1; 1 for a text layer
    page: int  # 1-based
    box: Box
    picture: bool  # read by OCR from a picture
    certain: bool  # taken into the record (a picture's value is still shown to a person)
    image: str | None = None  # what keep_picture returned for the cell's picture
    value: Any = None  # the value in the record, once the record is built

    def to_dict(self) -> dict[str, Any]:
        out = {"value": self.value, "text": self.text, "confidence": round(self.confidence, 3), "page": self.page,
               "box": self.box.to_list(), "ocr": self.picture, "certain": self.certain}
        if self.image:
            out["image"] = self.image
        return out


@dataclass
class SealPlace:
    """A place the form asks to be sealed, and whether a seal was found there."""

    path: str  # the field whose cell holds the place
    label: str  # 牵头单位（盖章）
    page: int  # 1-based
    box: Box  # where a seal was looked for
    picture: bool
    seal: Box | None = None
    score: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "label": self.label, "page": self.page, "box": self.box.to_list(),
                               "sealed": self.seal is not None, "ocr": self.picture}
        if self.seal is not None:
            out["seal"] = {"box": self.seal.to_list(), "score": self.score}
        return out


@dataclass
class PagesRead:
    """Everything the pages added to what was extracted."""

    paged: PagedDocument
    form: Form
    values: dict[str, PageValue] = field(default_factory=dict)
    seals: list[SealPlace] = field(default_factory=list)
    tables: dict[str, int] = field(default_factory=dict)  # each repeated table read by OCR: the page it starts on

    def to_dict(self) -> dict[str, Any]:
        """``metrics["scan"]``: how the pages were read, each value with its place, each 盖章 place.

        ``fields[path]``: value (as in the record, None when not taken), text (as read), confidence (0–1), page
        (1-based), box ([x0, y0, x1, y1] in ``unit`` from the page's top left), ocr, certain, image (the
        reference keep_picture gave). ``seals``: path, label, page, box, sealed, ocr, seal {box, score}.
        """
        paged = self.paged
        return {
            "source": paged.source,
            "engine": paged.engine,
            "pages": len(paged.pages),
            "unit": paged.pages[0].unit if paged.pages else "pt",
            "page_sizes": [[round(p.width), round(p.height)] for p in paged.pages],
            "seconds": paged.seconds,
            "ocr_seconds": paged.ocr_seconds,
            "fields": {path: v.to_dict() for path, v in self.values.items()},
            "seals": [s.to_dict() for s in self.seals],
        }

    def report(self, result: ParseResult) -> None:
        """Add the review items of what OCR read to ``result`` (after the record is built, before it is
        checked), and ``metrics["scan"]``."""
        reports = {f.path: f for f in result.fields}
        self._not_allowed(result, reports)
        ocr_pages = sum(1 for p in self.paged.pages if p.image is not None)
        if ocr_pages:
            result.add(problem("SCAN_READ", pages=len(self.paged.pages), engine=self.paged.engine or "OCR"))
        else:
            result.add(problem("SCAN_READ", variant="text_layer", pages=len(self.paged.pages)))
        for path, read in self.values.items():
            fr = reports.get(path)
            if fr is None:
                continue
            read.value = fr.value
            if read.picture and fr.value is not None and not fr.flag:
                result.add(problem("FIELD_FROM_SCAN", path=path, title=fr.title, where=fr.where,
                                   candidates=[fr.value], page=read.page, value=_shown(fr.value),
                                   confidence=read.confidence))
        for array, page in self.tables.items():  # a row the ruling lost would be missing without a word
            fr = reports.get(array)
            if fr is not None and isinstance(fr.value, int):
                result.add(problem("FIELD_FROM_SCAN", variant="rows", path=array, title=fr.title, where=fr.where,
                                   page=page, rows=fr.value))
        for place in self.seals:
            if place.picture and place.seal is None:
                result.add(problem("SEAL_MISSING", page=place.page, place=place.label))
        result.metrics["scan"] = self.to_dict()

    def _not_allowed(self, result: ParseResult, reports: dict[str, Any]) -> None:
        """A value read by OCR that the form does not allow (a date that is no date, a letter in a number) is a
        misreading until a person says otherwise: out of the record, flagged, never reported as the unit's."""
        wrong = {p.path for p in check_record(self.form, result.record, partial=True)}
        for path, read in self.values.items():
            fr = reports.get(path)
            if not read.picture or path not in wrong or fr is None or fr.value is None or fr.flag:
                continue
            _drop(result.record, path)
            fr.value, fr.flag, read.certain = None, "FIELD_SCAN_UNCERTAIN", False
            result.add(problem("FIELD_SCAN_UNCERTAIN", path=path, title=fr.title, where=fr.where,
                               candidates=[read.text] if read.text.strip() else [], page=read.page,
                               text=read.text[:80], confidence=read.confidence))


def _drop(record: dict[str, Any], path: str) -> None:
    """Take the value at ``path`` (``group_name``, ``members.0.name``) out of ``record``."""
    parts = path.split(".")
    holder: Any = record
    for part in parts[:-1]:
        holder = holder[int(part)] if isinstance(holder, list) else holder.get(part, {})
    if isinstance(holder, dict):
        holder.pop(parts[-1], None)


def _shown(value: Any) -> str:
    return "、".join(map(str, value)) if isinstance(value, list) else str(value)


def read_pages(paged: PagedDocument, form: Form, lay: Layout, extracted: Extracted,
               keep_picture: KeepPicture | None = None) -> PagesRead:
    """Place and weigh every value ``extracted`` found on ``paged``; flag in ``extracted`` what a person must
    read; find the seals of the form's 盖章 places."""
    read = PagesRead(paged, form)
    fields = {f.path: f for f in form.fields}
    for path, found in extracted.scalars.items():
        _weigh(read, path, found, fields.get(path), lay.locators.get(path), keep_picture)
    for array, items in extracted.arrays.items():
        _how, where = extracted.array_how.get(array, ("", None))
        header = paged.places.get(_key(Found(array, where=where))) if where is not None else None
        if header is not None and paged.pages[header.page].image is not None:
            read.tables[array] = header.page + 1
        for i, item in enumerate(items):
            for key, found in item.items():
                f = fields.get(f"{array}[].{key}")
                _weigh(read, f"{array}.{i}.{key}", found, f, lay.locators.get(f"{array}[].{key}"), keep_picture)
    read.seals = _seal_places(paged, lay, extracted)
    return read


def _key(found: Found) -> tuple[object, ...] | None:
    where = found.where
    if where is None:
        return None
    if where.part == "table":
        return ("table", where.table, where.row, where.cell)
    if where.part == "paragraph":
        return ("paragraph", where.paragraph)
    if where.part == "sheet" and where.ref and (ref := _REF.match(where.ref)):
        return ("sheet", int(ref.group(2)) - 1, col_index(ref.group(1)))
    return None


def _place(paged: PagedDocument, found: Found, loc: Locator | None) -> Place | None:
    """Where the value is and how sure its text is: its cell or paragraph, and for a section the rows or
    paragraphs after it that the value was made of."""
    key = _key(found)
    place = paged.places.get(key) if key else None
    if place is None or key is None or loc is None or loc.kind not in ("heading_rows", "heading_paras"):
        return place
    raw = label_key(str(found.raw or ""))
    box, confidence = place.box, place.confidence
    following: list[tuple[object, ...]] = []
    if key[0] == "table":
        table = paged.document.tables[key[1]]
        following = [("table", key[1], r.index, c.index) for r in table.rows[key[2] + 1:] for c in r.cells
                     if c.text and not c.continued and label_key(c.text) in raw]
    else:
        following = [("paragraph", p) for p in range(key[1] + 1, key[1] + 200) if ("paragraph", p) in paged.places]
        following = [k for k in following if label_key(paged.document.paragraphs[k[1]].text) in raw]
    for k in following:
        other = paged.places[k]
        confidence = min(confidence, other.confidence)
        if other.page == place.page:
            box = box.union(other.box)
    return Place(place.page, box, confidence)


def _is_choice(field_: Field | None) -> bool:
    return field_ is not None and bool(field_.enum)


def _template_residue(text: str, loc: Locator | None) -> bool:
    """A line of the value that is nearly, not quite, the template's own text in its cell (“牵头单（盖章）” for
    牵头单位（盖章））: the template's words misread, left in the value, where they cannot be told apart from
    what the unit wrote."""
    if loc is None or not loc.static:
        return False
    statics = [label_key(s) for s in loc.static]
    for line in text.split("\n"):
        key = label_key(line)
        if key and any(key != st and SequenceMatcher(None, key, st).ratio() >= 0.6 for st in statics):
            return True
    return False


def _confidence(place: Place, field_: Field | None) -> float:
    """How sure the value is: its least sure character; for a date or a number only its digits (whatever a
    separator was read as, the date reads the same or is flagged by the normaliser)."""
    if field_ is not None and (field_.format in ("date", "month") or field_.type == "integer"):
        return min([d.score for d in place.doubts if d.char.isdigit() or d.char in TICKS or not d.char],
                   default=1.0) if place.confidence > 0 else 0.0
    return place.confidence


def _weigh(read: PagesRead, path: str, found: Found, field_: Field | None, loc: Locator | None,
           keep: KeepPicture | None) -> None:
    paged = read.paged
    place = _place(paged, found, loc)
    if place is None:
        if (paged.from_picture and found.how == NOT_FOUND and field_ is not None and field_.required
                and not field_.array and not found.flag):
            found.flag, found.variant = "FIELD_SCAN_UNCERTAIN", "not_found"
            found.details = {"label": label_key(found.label or field_.title)}
        return
    page = paged.pages[place.page]
    picture = page.image is not None
    text = "" if found.raw is None else str(found.raw)
    confidence = _confidence(place, field_) if picture else 1.0
    certain = confidence >= CERTAIN
    value = PageValue(path, text, confidence, place.page + 1, place.box, picture, certain)
    if picture and keep is not None:
        value.image = keep(crop_png(page.image, place.box), path)
    read.values[path] = value
    if not picture or found.flag:
        return
    details = {"page": place.page + 1, "text": text[:80], "confidence": confidence}
    if TICKS & set(text) and not _is_choice(field_):
        found.flag, found.variant, found.details = "FIELD_SCAN_UNCERTAIN", "not_a_choice", \
            {"page": place.page + 1, "text": text[:80]}
        found.candidates = []
        value.certain = False
    elif (not certain or STRUCK_START in text or _template_residue(text, loc)
          or (_is_choice(field_) and "☐" in text and "☑" not in text)):
        # (boxes on a picture and none of them read as ticked: faint ink, or a tick the pixels did not show)
        found.flag, found.variant, found.details = "FIELD_SCAN_UNCERTAIN", None, details
        kept = "\n".join(line for line in text.split("\n") if not _template_residue(line, loc)).strip()
        found.candidates = [kept] if kept else []
        value.certain = False


def _seal_places(paged: PagedDocument, lay: Layout, extracted: Extracted) -> list[SealPlace]:
    """Each 盖章 place of the form on the pages, with the seal found there (if any)."""
    out: list[SealPlace] = []
    for path, loc in lay.locators.items():
        label = next((text for text in (*loc.static, loc.label) if SEAL_WORD in text), None)
        found = extracted.scalars.get(path)
        if label is None or found is None or (key := _key(found)) is None or key not in paged.places:
            continue
        place = paged.places[key]
        region = place.box
        if key[0] == "sheet":  # the label and its value, and the height of a seal above and below them
            label_place = paged.places.get(("sheet", key[1], key[2] - 1))
            if label_place is not None and label_place.page == place.page:
                region = region.union(label_place.box)
            page = paged.pages[place.page]
            reach = 15 * max(page.width, page.height) / 297.0  # 15 mm on an A4 page
            region = Box(region.x0, region.y0 - reach, region.x1 + reach, region.y1 + reach)
        if key[0] == "table":  # and the row under it: the date, where a seal usually lands
            table = paged.document.tables[key[1]]
            if key[2] + 1 < len(table.rows):
                for cell in table.rows[key[2] + 1].cells:
                    below = paged.places.get(("table", key[1], key[2] + 1, cell.index))
                    if below is not None and below.page == place.page:
                        region = region.union(below.box)
        page = paged.pages[place.page]
        seal = next((s for s in page.seals if s.box.overlap(region) >= 0.4 * s.box.width * s.box.height), None)
        out.append(SealPlace(path, label.strip(), place.page + 1, region, page.image is not None,
                             seal.box if seal else None, seal.score if seal else 0.0))
    return out
