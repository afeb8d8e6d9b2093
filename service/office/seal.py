"""Red seals (公章) on a page: round or oval red ink of a seal's size.

An official seal is stamped in red: a ring 38–45 mm across with text and a star inside (an oval for some
organisations), often over the unit's name and the date. On a colour picture it is the one large red thing on
a form; this finds red pixels (hue near 0° with some saturation, as red ink looks under any light), joins the
pieces of one impression, and keeps the shapes of a seal's size that are roughly round. What it cannot tell is
whose seal it is: that is for the reviewer, who sees the place.
"""

from __future__ import annotations

import cv2
import numpy as np

from service.office.pages import Box, Seal

#: A seal's size across, in millimetres (company seals are 38–45, some smaller, an oval up to 45 × 30).
SIZE_MM = (18.0, 60.0)


def red_ink(rgb: np.ndarray) -> np.ndarray:
    """255 where the picture is red ink."""
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    hue, sat, val = hsv[:, :, 0], hsv[:, :, 1], hsv[:, :, 2]
    red = ((hue <= 10) | (hue >= 160)) & (sat >= 70) & (val >= 60)
    return np.where(red, 255, 0).astype(np.uint8)


def bright_red(rgb: np.ndarray) -> np.ndarray:
    """255 where the picture is a seal's ink on paper and nothing else: red and light (over black text a seal's
    ink is dark, and that text is kept)."""
    r = rgb[:, :, 0].astype(np.int16)
    others = np.maximum(rgb[:, :, 1], rgb[:, :, 2]).astype(np.int16)
    return np.where((r >= 140) & (r - others >= 70), 255, 0).astype(np.uint8)


def find_seals(rgb: np.ndarray, px_per_mm: float) -> list[Seal]:
    """The seals on a page (boxes in the picture's pixels), best first."""
    red = red_ink(rgb)
    if cv2.countNonZero(red) < 50:
        return []
    k = max(int(px_per_mm * 2.5), 3)
    joined = cv2.morphologyEx(red, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    contours, _ = cv2.findContours(joined, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    low, high = SIZE_MM[0] * px_per_mm, SIZE_MM[1] * px_per_mm
    seals: list[Seal] = []
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        if not (low <= max(w, h) <= high and min(w, h) >= 0.55 * max(w, h)):
            continue
        hull = cv2.convexHull(contour)
        roundness = cv2.contourArea(hull) / (np.pi * w * h / 4.0)  # 1 for a filled ellipse in its box
        ink = cv2.countNonZero(red[y:y + h, x:x + w]) / float(w * h)
        if roundness < 0.75 or ink < 0.04:
            continue
        score = min(1.0, 0.5 * min(roundness, 1.0) + 0.5 * min(ink / 0.12, 1.0))
        seals.append(Seal(Box(x, y, x + w, y + h), round(score, 3)))
    return sorted(seals, key=lambda s: -s.score)
