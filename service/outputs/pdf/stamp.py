"""The 资料汇编's own marks on pages it did not make: the compiled page number and, on a document not yet accepted,
a boxed note in the top margin.

A document converted from Word usually numbers its own pages (the forms' footer is "— 1 —"); in the compiled PDF
that number would contradict the compiled one. Its own number is therefore taken out of the page's content (the
text-showing operations of a page-number line in the footer or header band are deleted), so it neither shows nor
comes back when the text is extracted or searched, and the compiled number is drawn where the forms have theirs
(centred, 四号宋体, baseline 54 pt above the bottom edge), so that a page reads as if it had been printed with it;
on a page whose text comes closer to the edge it goes below that text. A number that cannot be taken out (drawn
inside a form XObject, say) is covered by a white box instead. Only text that reads as a page number goes: the rest
of the footer, and everything else on the page, stays as sent. The compiled number has a white ground of its own,
so that it reads on a full-page scan too.

The marks are one HTML document (one sheet per page, each the size of its page) rendered by WeasyPrint with the
fonts embedded, and merged over the pages with pypdf.
"""

from __future__ import annotations

import html
import io
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pypdf import PageObject, PdfReader, PdfWriter, Transformation
from pypdf.generic import ContentStream

from service.outputs.pdf import Margins

NUMBER_BASELINE = 54.0  # pt above the bottom edge: where the forms' own footers put "— 1 —"
NUMBER_SIZE = 14.0  # 四号
NUMBER_ASCENT = 16.0  # pt the number's white ground reaches above its baseline
NUMBER_HALF_WIDTH = 40.0  # pt either side of the middle the number and its ground take ("— 123 —")
MIN_BASELINE = 14.0  # nearer the edge than that a printer may not print
MARK_TOP = 24.0  # pt below the top edge: the note on a document not yet accepted
MARK_HEIGHT = 24.0
MARK_HALF_WIDTH = 120.0
MIN_MARK_TOP = 6.0
GAP = 6.0  # pt kept clear between a mark and the page's text
FOOTER_BAND = 90.0  # pt: a page number's baseline is this close to the bottom edge (公文: about 75 pt) …
HEADER_BAND = 72.0  # … or to the top edge
SHOW_TEXT = (b"Tj", b"TJ", b"'", b'"')
SERIF = '"Noto Serif CJK SC", "宋体", serif'
SANS = '"Noto Sans CJK SC", "黑体", sans-serif'

# A piece of text that can be part of a page number; what adjacent pieces must read as together: a page number
# anywhere on a line of the band ("— 3 —", "第 3 页 共 9 页", "Page 3 of 9"), or a line that is nothing but "3" or
# "3/9" (a table's last row in the band has numbers too, never alone on their line).
_PIECE = re.compile(r"(?i:[\d\s\-—–－―~·•/第页共]|page|of)+")
_DASHES = r"[\-—–－―~·•]+"
_NUMBERED = re.compile(
    rf"\s*({_DASHES}\s*\d+\s*{_DASHES}|第\s*\d+\s*页(\s*[,，/]?\s*共\s*\d+\s*页)?"
    rf"|共\s*\d+\s*页\s*[,，]?\s*第\s*\d+\s*页|(?i:page)\s*\d+(\s*(?i:of)\s*\d+)?)\s*")
_ALONE = re.compile(r"\s*\d+(\s*/\s*\d+)?\s*")


@dataclass(frozen=True)
class Box:
    """A rectangle in a page's default user space (points, origin bottom left)."""

    left: float
    bottom: float
    right: float
    top: float

    def holds(self, x: float, y: float, slack: float = 1.0) -> bool:
        return self.left - slack <= x <= self.right + slack and self.bottom - slack <= y <= self.top + slack


@dataclass
class Stamp:
    """What one page gets: its compiled number (e.g. "— 12 —"), a note in the top margin, and whether its own
    page numbers are to be taken out (a page the platform made itself has none)."""

    number: str = ""
    mark: str = ""
    clear: bool = False


@dataclass
class _Run:
    text: str
    x: float
    y: float
    size: float

    @property
    def right(self) -> float:
        # No font metrics here: ideographs and dashes take a full em, the rest about half (generous on purpose).
        return self.x + self.size * sum(1.0 if ord(c) >= 0x2000 else 0.6 for c in self.text)


@dataclass
class _Page:
    """The text of a page as pypdf reads it: runs with their positions, and the page's own show-text operations."""

    runs: list[_Run] = field(default_factory=list)
    operators: list[bytes] = field(default_factory=list)  # every top-level operator, in order
    shows: list[tuple[int, float, float]] = field(default_factory=list)  # (operation index, x, y) of text shown


def _apply(m: list[float], x: float, y: float) -> tuple[float, float]:
    return m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]


def _read(page: PageObject) -> _Page:
    seen = _Page()
    depth = [0]  # inside a form XObject, operations are the form's, not the page's

    def before(operator: bytes, operands: Any, cm: list[float], tm: list[float]) -> None:
        if depth[0] == 0:
            if operator in SHOW_TEXT:
                x, y = _apply(cm, tm[4], tm[5])
                seen.shows.append((len(seen.operators), x, y))
            seen.operators.append(operator)
        if operator == b"Do":
            depth[0] += 1

    def after(operator: bytes, operands: Any, cm: list[float], tm: list[float]) -> None:
        if operator == b"Do":
            depth[0] -= 1

    def text(content: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        if not content.strip():
            return
        a, b = tm[0] * cm[0] + tm[1] * cm[2], tm[0] * cm[1] + tm[1] * cm[3]
        if abs(b) > 1e-3 * max(abs(a), 1e-9):
            return  # turned text is no page number of this page
        x, y = _apply(cm, tm[4], tm[5])
        seen.runs.append(_Run(content.replace("\n", " "), x, y, abs(size * math.hypot(a, b)) or 1.0))

    page.extract_text(visitor_operand_before=before, visitor_operand_after=after, visitor_text=text)
    return seen


def _lines(runs: list[_Run]) -> list[list[_Run]]:
    lines: list[list[_Run]] = []
    for run in sorted(runs, key=lambda r: (-r.y, r.x)):
        if lines and abs(lines[-1][0].y - run.y) <= 0.3 * max(run.size, lines[-1][0].size):
            lines[-1].append(run)
        else:
            lines.append([run])
    return [sorted(line, key=lambda r: r.x) for line in lines]


def _numbers(line: list[_Run], alone: bool) -> list[list[_Run]]:
    """The runs of a line that together read as a page number: adjacent pieces (not the cells of a table's row)
    that say "— 3 —", "第 3 页" …, or, where ``alone`` allows it, a line that is only "3" or "3/9"."""
    found, group = [], []
    for run in [*line, None]:
        if run is not None and _PIECE.fullmatch(run.text) and (
                not group or run.x - group[-1].right <= max(run.size, group[-1].size)):
            group.append(run)
            continue
        joined = "".join(r.text for r in group)
        if group and (_NUMBERED.fullmatch(joined) or alone and len(group) == len(line) and _ALONE.fullmatch(joined)):
            found.append(group)
        group = [run] if run is not None and _PIECE.fullmatch(run.text) else []
    return found


def page_number_boxes(page: PageObject, seen: _Page | None = None) -> list[Box]:
    """Where the page shows its own page number: on a line in the footer band (a bare "3" only as the page's
    lowest line) or in the header band."""
    seen = seen or _read(page)
    box = page.cropbox
    bottom, top = float(box.bottom), float(box.top)
    lines = _lines(seen.runs)
    boxes = []
    for i, line in enumerate(lines):
        y = line[0].y
        if y - bottom <= FOOTER_BAND and bottom - NUMBER_SIZE <= y:
            groups = _numbers(line, alone=i == len(lines) - 1)
        elif top - y <= HEADER_BAND and y <= top:
            groups = _numbers(line, alone=True)
        else:
            continue
        for group in groups:
            size = max(r.size for r in group)
            boxes.append(Box(min(r.x for r in group) - 1, min(r.y for r in group) - 0.3 * size,
                             max(r.right for r in group) + 1, max(r.y for r in group) + 0.95 * size))
    return boxes


def clear_page_numbers(page: PageObject, pdf: Any, seen: _Page | None = None) -> tuple[list[Box], list[Box]]:
    """Take the page's own page numbers out of its content; returns where they were, and the boxes that could
    not be emptied that way (to be covered white)."""
    seen = seen or _read(page)
    boxes = page_number_boxes(page, seen)
    if not boxes:
        return [], []
    content = ContentStream(page.get_contents(), pdf)
    operations = content.operations
    if [op for _, op in operations] != seen.operators:  # not the stream that was read: do not guess
        return boxes, boxes
    doomed = {index for index, x, y in seen.shows if any(b.holds(x, y) for b in boxes)}
    left = [b for b in boxes if not any(b.holds(x, y) for index, x, y in seen.shows if index in doomed)]
    if doomed:
        content.operations = [op for index, op in enumerate(operations) if index not in doomed]
        page.replace_contents(content)
    return boxes, left


@dataclass(frozen=True)
class Place:
    """Where the marks go on a page: the number's baseline (pt above the foot), the note's top (pt below the
    head)."""

    baseline: float = NUMBER_BASELINE
    mark_top: float = MARK_TOP


def room(page: PageObject, seen: _Page, numbers: list[Box]) -> Place:
    """Where the marks cover none of the page's text: where the forms have their numbers, or nearer the edge on
    a page whose text comes closer (a document with narrow margins, a table that fills the page)."""
    box = page.cropbox
    bottom, top, middle = float(box.bottom), float(box.top), float(box.left) + float(box.width) / 2
    runs = [r for r in seen.runs if not any(b.holds(r.x, r.y) for b in numbers)]

    def near(run: _Run, half: float) -> bool:
        return run.x <= middle + half and run.right >= middle - half

    lowest = min((r.y - 0.3 * r.size - bottom for r in runs if near(r, NUMBER_HALF_WIDTH)), default=math.inf)
    highest = min((top - r.y - 0.95 * r.size for r in runs if near(r, MARK_HALF_WIDTH)), default=math.inf)
    return Place(max(MIN_BASELINE, min(NUMBER_BASELINE, lowest - GAP - NUMBER_ASCENT)),
                 max(MIN_MARK_TOP, min(MARK_TOP, highest - GAP - MARK_HEIGHT)))


def _upright(page: PageObject, boxes: list[Box]) -> list[Box]:
    """Turn a page with /Rotate into one drawn upright (pypdf's transfer_rotation_to_content), and the boxes with
    it (the same transformation, worked out as pypdf does)."""
    media = page.mediabox
    turn = Transformation().translate(-float(media.left + media.width / 2),
                                      -float(media.bottom + media.height / 2)).rotate(-page.rotation)
    corners = [turn.apply_on(media.lower_left), turn.apply_on(media.upper_right)]
    turn = turn.translate(-min(x for x, _ in corners), -min(y for _, y in corners))
    page.transfer_rotation_to_content()
    out = []
    for box in boxes:
        (x1, y1), (x2, y2) = turn.apply_on((box.left, box.bottom)), turn.apply_on((box.right, box.top))
        out.append(Box(min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)))
    return out


# -- the overlay ----------------------------------------------------------------------------------------------

_STYLE = f"""
body {{ margin: 0; }}
.sheet {{ position: relative; overflow: hidden; break-after: page; }}
.sheet:last-child {{ break-after: auto; }}
.white {{ position: absolute; background: #fff; }}
.number {{ position: absolute; left: 0; width: 100%; text-align: center; font-family: {SERIF};
           font-size: {NUMBER_SIZE}pt; line-height: {NUMBER_SIZE * 1.3}pt; }}
.number span {{ background: #fff; padding: 2pt 5pt; white-space: pre; }}
.mark {{ position: absolute; left: 0; width: 100%; text-align: center; }}
.mark span {{ display: inline-block; font-family: {SANS}; font-size: 12pt; line-height: 15pt; color: #000;
             background: #fff; border: 1pt solid #000; padding: 3pt 9pt; }}
"""


def _pt(value: float) -> str:
    return f"{value:.2f}pt"


def _sheet(name: str, width: float, height: float, stamp: Stamp, place: Place, white: list[Box],
           origin: tuple[float, float]) -> str:
    x0, y0 = origin
    parts = [f'<div class="white" style="left:{_pt(b.left - x0)};top:{_pt(height - (b.top - y0))};'
             f'width:{_pt(b.right - b.left)};height:{_pt(b.top - b.bottom)}"></div>' for b in white]
    if stamp.number:
        # The line box is 1.3 em; its baseline sits about 1.02 em below its top for Noto Serif CJK.
        top = height - place.baseline - NUMBER_SIZE * 1.02
        parts.append(f'<div class="number" style="top:{_pt(top)}"><span>{html.escape(stamp.number)}</span></div>')
    if stamp.mark:
        parts.append(f'<div class="mark" style="top:{_pt(place.mark_top)}"><span>{html.escape(stamp.mark)}</span>'
                     "</div>")
    return (f'<div class="sheet" style="page:{name};width:{_pt(width)};height:{_pt(height - 0.5)}">'
            f'{"".join(parts)}</div>')


def stamp_pages(writer: PdfWriter, stamps: list[Stamp | None], tick: Callable[[], None] | None = None,
                every: int = 50) -> None:
    """Mark each page of ``writer`` as ``stamps`` say (None: leave it as it is), in one rendering; ``tick()`` is
    called every ``every`` pages (reading a page's text takes some 10 ms: a job keeps its heartbeat)."""
    from service.outputs.pdf import weasy  # the overlay needs sheets of any size: WeasyPrint whatever the engine

    sizes: dict[tuple[float, float], str] = {}
    sheets, targets = [], []
    for n, (page, stamp) in enumerate(zip(writer.pages, stamps, strict=True), 1):
        if tick and n % every == 0:
            tick()
        if stamp is None or not (stamp.number or stamp.mark or stamp.clear):
            continue
        # A page's own number is looked for as its content draws it; the marks go upright on the page as it is seen.
        white, place = [], Place()
        if stamp.clear:
            seen = _read(page)
            numbers, white = clear_page_numbers(page, writer, seen)
            place = room(page, seen, numbers)
        if page.rotation % 360:
            white, place = _upright(page, white), Place()
        if not (stamp.number or stamp.mark or white):
            continue
        box = page.cropbox
        width, height = float(box.width), float(box.height)
        name = sizes.setdefault((round(width, 2), round(height, 2)), f"s{len(sizes)}")
        sheets.append(_sheet(name, width, height, stamp, place, white, (float(box.left), float(box.bottom))))
        targets.append((page, float(box.left), float(box.bottom)))
    if not sheets:
        return
    style = "".join(f"@page {name} {{ size: {_pt(w)} {_pt(h)}; margin: 0; }}" for (w, h), name in sizes.items())
    overlay = PdfReader(io.BytesIO(weasy.render(style + _STYLE, "".join(sheets), Margins(0, 0, 0, 0))))
    if len(overlay.pages) != len(targets):
        raise RuntimeError(f"page marks: {len(overlay.pages)} sheets rendered for {len(targets)} pages")
    for (page, x, y), sheet in zip(targets, overlay.pages, strict=True):
        page.merge_transformed_page(sheet, Transformation().translate(x, y))
