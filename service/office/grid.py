"""A straightened page's table ruling, its cells, and the lines of text and the tick boxes inside them.

The ruling is what a form is made of: long horizontal and vertical strokes, kept by opening the ink with long
thin kernels (text strokes are too short to survive). Each hole the ruling encloses is a cell, whatever rows
and columns it spans, so merged cells need no special case. Inside a cell the ruling is removed and the ink
that is left is cut into lines by the blank rows between them (printed forms keep their lines apart), each
line cut as tight as its ink, for the recognizer.

A tick box (☐ ☑ □ ■) is read from the pixels, not from the recognizer's guess: a square frame of the size of
the text around it, empty inside or marked.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from service.office.pages import Box


@dataclass
class Ruling:
    """The ruling of a page: the tables (each its cells' boxes, the table's box) and the ruling's own pixels."""

    tables: list[tuple[Box, list[Box]]]
    lines: np.ndarray  # 255 where ruling is (thickened a little), to be taken out of a cell's ink


def find_ruling(ink: np.ndarray) -> Ruling:
    """Tables as the cells their ruling encloses. A table is a connected piece of ruling at least a fifth of the
    page wide that encloses at least one cell."""
    h, w = ink.shape
    horizontal = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (max(w // 25, 30), 1)))
    # Longer than a character's strokes (about 30 px at 200 dpi), shorter than a table row (about 65 px).
    vertical = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(h // 50, 18))))
    ruling = cv2.dilate(cv2.bitwise_or(horizontal, vertical), np.ones((5, 5), np.uint8))
    contours, hierarchy = cv2.findContours(ruling, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    tables: list[tuple[Box, list[Box]]] = []
    kept = np.zeros_like(ruling)
    if hierarchy is None:
        return Ruling(tables, kept)
    links = hierarchy[0]
    for i, contour in enumerate(contours):
        if links[i][3] != -1:
            continue  # a hole, not a piece of ruling
        x, y, cw, ch = cv2.boundingRect(contour)
        if cw < w // 5 or ch < 20:
            continue
        cells: list[Box] = []
        child = links[i][2]
        while child != -1:
            cx, cy, cww, chh = cv2.boundingRect(contours[child])
            filled = cv2.contourArea(contours[child]) / float(max(cww * chh, 1))
            if cww >= 20 and chh >= 15 and filled > 0.6:
                # The hole's edges are the inner edges of the thickened ruling: out to the ruling's middle.
                cells.append(Box(cx - 3, cy - 3, cx + cww + 3, cy + chh + 3))
            child = links[child][0]
        if cells:
            tables.append((Box(x, y, x + cw, y + ch), cells))
            cv2.drawContours(kept, contours, i, 255, thickness=cv2.FILLED)
    tables.sort(key=lambda t: t[0].y0)
    return Ruling(tables, cv2.bitwise_and(ruling, kept))


def clean(ink: np.ndarray, min_area: int = 8) -> np.ndarray:
    """Ink without specks (scanner noise, dust): connected pieces smaller than ``min_area`` pixels dropped."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    keep = np.zeros(count, dtype=bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_area
    return np.where(keep[labels], 255, 0).astype(np.uint8)


def bands(ink: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Lines of text in a piece of ink: (x0, y0, x1, y1) each, top to bottom, cut at the blank rows between
    them; a piece too thin to be a line by itself (the top strokes of 二, a stray mark) joins its neighbour."""
    rows = np.flatnonzero(ink.max(axis=1) > 0)
    if rows.size == 0:
        return []
    runs: list[list[int]] = [[int(rows[0]), int(rows[0])]]
    for r in rows[1:]:
        if r - runs[-1][1] <= 2:
            runs[-1][1] = int(r)
        else:
            runs.append([int(r), int(r)])
    heights = sorted(b - a + 1 for a, b in runs)
    ref = heights[int(len(heights) * 0.75)] if len(heights) > 1 else heights[0]
    merged: list[list[int]] = []
    for run in runs:
        height = run[1] - run[0] + 1
        if merged and (height < 0.45 * ref or merged[-1][1] - merged[-1][0] + 1 < 0.45 * ref) \
                and run[0] - merged[-1][1] < 0.5 * ref and run[1] - merged[-1][0] + 1 <= 1.4 * ref:
            merged[-1][1] = run[1]
        else:
            merged.append(run)
    out = []
    for y0, y1 in merged:
        if y1 - y0 + 1 < 5:
            continue  # a speck line: nothing to read
        cols = np.flatnonzero(ink[y0:y1 + 1].max(axis=0) > 0)
        out.append((int(cols[0]), y0, int(cols[-1]) + 1, y1 + 1))
    return out


def split_wide_gaps(ink: np.ndarray, band: tuple[int, int, int, int], gap: float) -> list[tuple[int, int, int, int]]:
    """One line of ink cut where a blank wider than ``gap`` pixels separates two pieces (text in two places)."""
    x0, y0, x1, y1 = band
    cols = np.flatnonzero(ink[y0:y1, x0:x1].max(axis=0) > 0)
    if cols.size == 0:
        return []
    pieces = [[int(cols[0]), int(cols[0])]]
    for c in cols[1:]:
        if c - pieces[-1][1] > gap:
            pieces.append([int(c), int(c)])
        else:
            pieces[-1][1] = int(c)
    return [(x0 + a, y0, x0 + b + 1, y1) for a, b in pieces]


@dataclass(frozen=True)
class Square:
    """A tick box found in a line's ink: its box (in the line's coordinates) and how much of its inside is inked."""

    box: Box
    filled: float

    @property
    def ticked(self) -> bool:
        return self.filled >= 0.08

    @property
    def clear(self) -> bool:
        """Clearly empty or clearly marked; in between a person looks."""
        return self.filled < 0.03 or self.filled >= 0.12


def squares(ink: np.ndarray) -> list[Square]:
    """Square frames about as tall as the line (a box glyph, printed or drawn), left to right."""
    h = ink.shape[0]
    contours, _ = cv2.findContours(ink, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    found: list[Square] = []
    for contour in contours:
        x, y, w, hh = cv2.boundingRect(contour)
        # A box glyph is about as tall as the line's characters (the 口 inside 治 or 结 is half as tall).
        if not (0.65 * h <= hh <= 1.05 * h and 0.75 <= w / float(hh) <= 1.33 and hh >= 10):
            continue
        piece = ink[y:y + hh, x:x + w] > 0
        t = max(2, int(round(0.15 * hh)))
        sides = (piece[:t].mean(axis=0), piece[-t:].mean(axis=0), piece[:, :t].mean(axis=1), piece[:, -t:].mean(axis=1))
        if min(float((s > 0).mean()) for s in sides) < 0.9:
            continue  # not a closed frame on all four sides: a character (国 is closed, but not straight)
        m = max(int(round(0.25 * hh)), t + 1)
        inside = piece[m:hh - m, m:w - m]
        filled = float(inside.mean()) if inside.size else 0.0
        if filled > 0.5:
            continue  # a character drawn in a frame (团, 回): a tick fills a quarter of a box (blurred, 0.4)
        found.append(Square(Box(x, y, x + w, y + hh), filled))
    return sorted(found, key=lambda s: s.box.x0)
