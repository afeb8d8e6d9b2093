"""One picture of a page read into a :class:`~service.office.pages.Page`: straightened, its table cells found,
every line of text in and outside them recognized, tick boxes read from their pixels, seals found.

Every line of a page goes to the recognizer in one batch (no text detector: the lines were cut from the ink
already), which is most of the time a page takes. A line whose recognized text holds a box character, or that
holds two or more like-sized square frames, is a line of choices: each box is then written as ☑ or ☐ from the
ink inside its frame, whatever the recognizer guessed, and a box the recognizer skipped is put back where it is.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from service.office.grid import Square, bands, clean, find_ruling, split_wide_gaps, squares
from service.office.ocr import Clock, Recognized, recognize
from service.office.pages import Box, CellRead, Doubt, Line, Page
from service.office.picture import PX_PER_MM, ink_of, straighten
from service.office.rejected import InputRejected
from service.office.seal import bright_red, find_seals, red_ink
from service.problems.catalogue import message

#: Characters a recognizer writes for a box (printed ☐/☑, or a square it took for one).
BOXES = frozenset("☐□☑☒■▣◻◼❑❒⊠⊡▢")
#: Characters a box is also read as when the line is one of choices.
BOX_LOOKALIKES = BOXES | frozenset("口囗回团区図田目日四√✓✔")
TICKED, EMPTY = "☑", "☐"
#: Brackets of a document number (辽教发〔2012〕88号) and their look-alikes.
BRACKETS = frozenset("[]〔〕【】［］「」『』〖〗")
#: What may be lost in a line a seal was stamped over: nothing known, so no character, and not sure.
UNDER_SEAL = Doubt("", 0.75, True)
#: A character read at least this surely is no doubt.
SURE = 0.995
PAD = 6


@dataclass
class Deadline:
    """The time a file may take to read: checked between steps, a refusal (SCAN_TIMEOUT) when it has passed."""

    seconds: float
    started: float = field(default_factory=time.monotonic)

    def check(self) -> None:
        if time.monotonic() - self.started > self.seconds:
            raise InputRejected("SCAN_TIMEOUT", message=message("SCAN_TIMEOUT", "measured", seconds=int(self.seconds)),
                                detail={"seconds": self.seconds})


@dataclass
class _Job:
    """A line to recognize: its place on the page, its ink, and the cell it belongs to (None: outside tables)."""

    box: Box
    ink: np.ndarray
    cell: CellRead | None


def _line_squares(ink: np.ndarray) -> list[Square]:
    found = squares(ink)
    if len(found) < 2:
        return found
    sizes = sorted(s.box.height for s in found)
    typical = sizes[len(sizes) // 2]
    return [s for s in found if abs(s.box.height - typical) <= 0.15 * typical]


def with_boxes(rec: Recognized, found: list[Square], width: float) -> tuple[str, list[Doubt]]:
    """The line's text with each tick box read from its pixels, and the characters it is not sure of."""
    chars = [(frac * width, ch, conf) for ch, frac, conf in rec.chars]
    # A line of choices: the recognizer saw a box in it (it reads printed boxes as □ or ☑, if not every one).
    choice = any(ch in BOXES for _x, ch, _c in chars)
    boxes = BOX_LOOKALIKES if choice and found else BOXES
    doubts = [Doubt(ch, conf) for _x, ch, conf in chars if not ch.isspace() and ch not in boxes and conf < SURE]
    # Brackets the recognizer confuses with each other however sure it says it is (〔2012〕 read as [2012]).
    doubts += [Doubt(ch, 0.6) for _x, ch, _c in chars if ch in BRACKETS]
    # A character the recognizer may have passed over (a box it skipped is read from the pixels anyway).
    doubts += [Doubt(ch, 1.0 - p, True) for ch, _x, p in rec.missed if not (ch in BOX_LOOKALIKES and found)]
    if not choice or not found:
        if choice:
            doubts.append(Doubt(EMPTY, 0.5))  # a box the pixels do not show: a person looks
        return rec.text, doubts
    for square in found:
        cx = (square.box.x0 + square.box.x1) / 2
        near = [i for i, (x, ch, _c) in enumerate(chars) if abs(x - cx) <= 0.9 * square.box.width
                and (ch in BOX_LOOKALIKES or abs(x - cx) <= 0.35 * square.box.width)]
        for i in sorted(near, reverse=True):
            del chars[i]
        mark = TICKED if square.ticked else EMPTY
        chars.append((cx, mark, 1.0))
        if not square.clear:
            doubts.append(Doubt(mark, 0.5))
    chars.sort(key=lambda c: c[0])
    if any(ch in BOXES and ch not in (TICKED, EMPTY) for _x, ch, _c in chars):
        doubts.append(Doubt(EMPTY, 0.5))  # the recognizer saw a box no frame was found for
    text = ""
    for _x, ch, _c in chars:  # a box after an option is set apart from it (☐是 ☑否), as typed
        text += " " + ch if ch in (TICKED, EMPTY) and text and not text.endswith(" ") else ch
    return text.strip(), doubts


def _crop(gray: np.ndarray, box: Box, limit: Box) -> np.ndarray:
    x0, y0 = max(int(box.x0) - PAD, int(limit.x0)), max(int(box.y0) - PAD, int(limit.y0))
    x1, y1 = min(int(box.x1) + PAD, int(limit.x1)), min(int(box.y1) + PAD, int(limit.y1))
    return gray[y0:y1, x0:x1]


def read_page(rgb: np.ndarray, index: int, clock: Clock, deadline: Deadline) -> Page:
    """Read one picture of a page (see the module's description)."""
    color, gray = straighten(rgb)
    deadline.check()
    h, w = gray.shape
    ink = clean(ink_of(gray))
    ruling = find_ruling(ink)
    # Neither the ruling nor a seal's red is text: both are taken out of the ink that is cut into lines and out
    # of the grey the recognizer sees (black ink under a seal is not red, and stays).
    hidden = cv2.bitwise_or(ruling.lines, bright_red(color))
    text_ink = clean(cv2.bitwise_and(ink, cv2.bitwise_not(hidden)), 12)
    text_gray = np.where(hidden > 0, 255, gray).astype(np.uint8)
    page_box = Box(0, 0, w, h)
    jobs: list[_Job] = []
    tables: list[list[CellRead]] = []
    outside = text_ink.copy()
    for table_box, boxes in ruling.tables:
        top, left = max(int(table_box.y0) - 4, 0), max(int(table_box.x0) - 4, 0)
        outside[top:int(table_box.y1) + 4, left:int(table_box.x1) + 4] = 0  # the table's text is read by cell
        cells = []
        for box in boxes:
            cell = CellRead(box)
            inner = Box(box.x0 + 4, box.y0 + 4, box.x1 - 4, box.y1 - 4)
            piece = text_ink[int(inner.y0):int(inner.y1), int(inner.x0):int(inner.x1)]
            for x0, y0, x1, y1 in bands(piece):
                band = Box(inner.x0 + x0, inner.y0 + y0, inner.x0 + x1, inner.y0 + y1)
                jobs.append(_Job(band, piece[y0:y1, x0:x1], cell))
            cells.append(cell)
        tables.append(cells)
    outside = _without_edges(outside)
    for band in bands(outside):
        height = band[3] - band[1]
        for x0, y0, x1, y1 in split_wide_gaps(outside, band, 1.5 * height):
            jobs.append(_Job(Box(x0, y0, x1, y1), outside[y0:y1, x0:x1], None))
    jobs = _not_seal(_split_tall(jobs), color)
    for job in jobs:
        if job.cell is not None:
            job.cell.inked = True
    deadline.check()
    lines = _recognize(jobs, text_gray, page_box, clock)
    page = Page(index, w, h, tables=tables, image=gray, unit="px")
    for job, line in zip(jobs, lines, strict=True):
        if job.cell is not None:
            job.cell.lines.append(line)
        elif line.text.strip():
            page.lines.append(line)
    page.seals = find_seals(color, PX_PER_MM)
    _under_seals(page)
    return page


def _under_seals(page: Page) -> None:
    """Text a seal was stamped over is where the recognizer drops or mistakes characters (a stroke of 位 under
    the star, a “。” under the ring) without knowing it: each such line is doubted."""
    if not page.seals:
        return
    for line in [*page.lines, *(ln for cells in page.tables for cell in cells for ln in cell.lines)]:
        if any(seal.box.overlap(line.box) > 0.1 * line.box.width * line.box.height for seal in page.seals):
            line.doubts += (UNDER_SEAL,)
            line.confidence = min(line.confidence, UNDER_SEAL.score)


def _recognize(jobs: list[_Job], gray: np.ndarray, page_box: Box, clock: Clock) -> list[Line]:
    limits = [job.cell.box if job.cell is not None else page_box for job in jobs]
    crops = [_crop(gray, job.box, limit) for job, limit in zip(jobs, limits, strict=True)]
    results = recognize(crops, clock)
    out = []
    for job, crop, rec, limit in zip(jobs, crops, results, limits, strict=True):
        left = job.box.x0 - max(int(job.box.x0) - PAD, int(limit.x0))
        found = [Square(Box(s.box.x0 + left, s.box.y0, s.box.x1 + left, s.box.y1), s.filled)
                 for s in _line_squares(job.ink)]
        text, doubts = with_boxes(rec, found, crop.shape[1])
        confidence = min([d.score for d in doubts], default=1.0 if text else rec.confidence)
        out.append(Line(text, job.box, round(confidence, 4), tuple(doubts)))
    return out


def _not_seal(jobs: list[_Job], color: np.ndarray) -> list[_Job]:
    """Lines that are mostly red ink are what is left of a seal (its text, its star), not text."""
    red = cv2.dilate(red_ink(color), np.ones((3, 3), np.uint8))
    out = []
    for job in jobs:
        x0, y0 = int(job.box.x0), int(job.box.y0)
        h, w = job.ink.shape
        ink = job.ink > 0
        reddish = red[y0:y0 + h, x0:x0 + w] > 0
        if reddish.shape == ink.shape and ink.any() and (ink & reddish).sum() > 0.5 * ink.sum():
            continue
        out.append(job)
    return out


def _split_tall(jobs: list[_Job]) -> list[_Job]:
    """Lines that touch each other come out as one band twice as tall as the page's lines: each such band is
    cut at its thinnest row near the middle, until every band is one line tall."""
    heights = sorted(job.box.height for job in jobs)
    if not heights:
        return jobs
    typical = heights[len(heights) // 2]
    out: list[_Job] = []
    todo = list(jobs)
    while todo:
        job = todo.pop(0)
        h = job.ink.shape[0]
        if h <= 1.7 * typical or h < 20:
            out.append(job)
            continue
        profile = (job.ink > 0).sum(axis=1)
        lo, hi = int(0.3 * h), int(0.7 * h)
        cut = lo + int(np.argmin(profile[lo:hi]))
        for a, b in ((0, cut), (cut, h)):
            part = job.ink[a:b]
            cols = np.flatnonzero(part.max(axis=0) > 0) if part.size else np.array([])
            if cols.size == 0:
                continue
            box = Box(job.box.x0 + cols[0], job.box.y0 + a, job.box.x0 + cols[-1] + 1, job.box.y0 + b)
            todo.append(_Job(box, part[:, cols[0]:cols[-1] + 1], job.cell))
    return out


def _without_edges(ink: np.ndarray) -> np.ndarray:
    """Ink touching the picture's edge is the scanner's shadow or the table the paper lay on, not text."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    h, w = ink.shape
    x, y = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    right, bottom = x + stats[:, cv2.CC_STAT_WIDTH], y + stats[:, cv2.CC_STAT_HEIGHT]
    edge = (x <= 1) | (y <= 1) | (right >= w - 1) | (bottom >= h - 1)
    edge[0] = True
    return np.where(edge[labels], 0, 255).astype(np.uint8)
