"""Pictures of a page (scans, phone photos, rasterized PDF pages): opened within bounds, then straightened.

A picture is decoded only after its header says it is small enough: a 100,000 × 100,000 PNG is a few
kilobytes and 30 GB once decoded. Pillow's own decompression-bomb guard is set from the same limit as a second
line; a TIFF's frames are counted like a PDF's pages. A JPEG photo is decoded at a reduced scale from the start
(``draft``), since nothing is read at more than 200 dpi.

Straightening makes every picture look like a flat scan at 200 dpi: the sheet of paper found in a photo and its
perspective removed, the page turned so its ruling is level, scaled to an A4 page's pixels, and the light made
even (a photo is brighter in one corner). Grey is taken from the red channel, so a red seal stamped over text
fades out of what the OCR reads while black and blue ink stay.
"""

from __future__ import annotations

import io
import math
import re
import warnings

import cv2
import numpy as np
from PIL import Image, ImageOps

from service.office.limits import DEFAULT_LIMITS, Limits
from service.office.pages import Box
from service.office.rejected import InputRejected
from service.problems.catalogue import message

#: Formats decoded (Pillow's names); anything else that looks like a picture is refused before decoding.
FORMATS = ("PNG", "JPEG", "TIFF", "BMP", "WEBP", "GIF")
#: The long side of an A4 page at 200 dpi: every picture is scaled to it.
A4_LONG = 2339
#: Pixels per millimetre at that size.
PX_PER_MM = A4_LONG / 297.0

# Pillow's own guard (a warning above it, an error above twice it) for every picture this process opens; each
# picture read here is also checked against its Limits before it is decoded.
Image.MAX_IMAGE_PIXELS = DEFAULT_LIMITS.max_picture_pixels


def too_large(pixels: int, limits: Limits) -> InputRejected:
    """PICTURE_TOO_LARGE, saying how many pixels (in 万) the picture has and may have."""
    return InputRejected("PICTURE_TOO_LARGE", message=message(
        "PICTURE_TOO_LARGE", "measured", pixels=max(pixels // 10_000, 1), limit=limits.max_picture_pixels // 10_000),
        detail={"pixels": pixels, "limit": limits.max_picture_pixels})


_BOMB = re.compile(r"\((\d+) pixels\)")


def load_pictures(data: bytes, limits: Limits) -> list[np.ndarray]:
    """The picture's pages (a TIFF may hold several) as RGB arrays, each turned as its EXIF orientation says.

    Raises :class:`InputRejected`: PICTURE_TOO_LARGE before decoding too many pixels, PDF_TOO_MANY_PAGES for a
    TIFF with too many frames, PICTURE_CORRUPT for what Pillow cannot decode.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=FORMATS)
            frames = getattr(img, "n_frames", 1)
            if frames > limits.max_pages:
                raise InputRejected("PDF_TOO_MANY_PAGES", message=message(
                    "PDF_TOO_MANY_PAGES", "measured", pages=frames, limit=limits.max_pages),
                    detail={"pages": frames, "limit": limits.max_pages})
            out = []
            for frame in range(frames):
                if frame:
                    img.seek(frame)
                width, height = img.size
                if width * height > limits.max_picture_pixels:
                    raise too_large(width * height, limits)
                if img.format == "JPEG":
                    scale = max(width, height) / (A4_LONG * 1.6)
                    if scale >= 2:
                        img.draft("RGB", (int(width / scale), int(height / scale)))
                page = ImageOps.exif_transpose(img) if frame == 0 else img.copy()
                out.append(np.asarray(page.convert("RGB")))
            return out
    except InputRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own guard, on opening a picture far over its limit: the size is in its message.
        said = _BOMB.search(str(exc))
        raise too_large(int(said.group(1)) if said else limits.max_picture_pixels + 1, limits) from None
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError, Image.UnidentifiedImageError) as exc:
        raise InputRejected("PICTURE_CORRUPT", detail={"error": str(exc)[:200]}) from None


def _order(quad: np.ndarray) -> np.ndarray:
    """Corners as top-left, top-right, bottom-right, bottom-left."""
    pts = quad.reshape(4, 2).astype(np.float32)
    s, d = pts.sum(axis=1), np.diff(pts, axis=1).ravel()
    return np.array([pts[np.argmin(s)], pts[np.argmin(d)], pts[np.argmax(s)], pts[np.argmax(d)]], dtype=np.float32)


def _unwarp(rgb: np.ndarray) -> np.ndarray:
    """The sheet of paper in a photo, seen straight on: the largest bright four-cornered shape that leaves some
    background around it, warped to a rectangle. A scan (all paper) is returned as it is."""
    h, w = rgb.shape[:2]
    scale = 800.0 / max(h, w)
    small = cv2.resize(rgb, (max(int(w * scale), 1), max(int(h * scale), 1)), interpolation=cv2.INTER_AREA)
    gray = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), (7, 7), 0)
    _, bright = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    bright = cv2.morphologyEx(bright, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))
    contours, _ = cv2.findContours(bright, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return rgb
    sheet = max(contours, key=cv2.contourArea)
    share = cv2.contourArea(sheet) / float(small.shape[0] * small.shape[1])
    if not 0.25 <= share <= 0.93:
        return rgb
    quad = cv2.approxPolyDP(sheet, 0.02 * cv2.arcLength(sheet, True), True)
    if len(quad) != 4 or not cv2.isContourConvex(quad):
        return rgb
    src = _order(quad) / scale
    tl, tr, br, bl = src
    width = max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl))
    height = max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr))
    dst = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(rgb, matrix, (int(width), int(height)), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)


def _scaled(rgb: np.ndarray) -> np.ndarray:
    """The page at A4's pixels at 200 dpi (by its long side)."""
    h, w = rgb.shape[:2]
    scale = A4_LONG / float(max(h, w))
    if abs(scale - 1) < 0.02:
        return rgb
    size = (max(int(round(w * scale)), 1), max(int(round(h * scale)), 1))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)


def skew_angle(ink: np.ndarray) -> float:
    """The angle (degrees, within ±6) the page's lines (table ruling, text baselines) are turned by: the angle at
    which the ink, projected on the page's height, piles up in the fewest, fullest rows."""
    h, w = ink.shape
    scale = min(1.0, 900.0 / w)
    small = cv2.resize(ink, (max(int(w * scale), 1), max(int(h * scale), 1)), interpolation=cv2.INTER_AREA)
    ys, xs = np.nonzero(small > 60)
    if ys.size < 100:
        return 0.0
    if ys.size > 150_000:
        pick = np.random.default_rng(0).choice(ys.size, 150_000, replace=False)
        ys, xs = ys[pick], xs[pick]
    ys, xs = ys.astype(np.float32), xs.astype(np.float32) - small.shape[1] / 2

    def sharpness(angle: float) -> float:
        t = math.radians(angle)
        rows = np.round(ys * math.cos(t) - xs * math.sin(t)).astype(np.int64)
        counts = np.bincount(rows - rows.min())
        return float(np.dot(counts, counts))

    best = max(np.arange(-6.0, 6.01, 0.25), key=sharpness)
    return float(max(np.arange(best - 0.25, best + 0.251, 0.02), key=sharpness))


def _rotate(rgb: np.ndarray, angle: float) -> np.ndarray:
    h, w = rgb.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    return cv2.warpAffine(rgb, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=(255, 255, 255))


def flatten(rgb: np.ndarray) -> np.ndarray:
    """Grey from the red channel (red seals fade, black and blue ink stay) with the light made even: each pixel
    divided by the paper's brightness around it."""
    red = rgb[:, :, 0]
    h, w = red.shape
    # The paper's brightness changes slowly: measured on a quarter-size copy (text taken out by a maximum
    # filter wider than a stroke), then spread back over the page.
    small = cv2.resize(red, (max(w // 4, 1), max(h // 4, 1)), interpolation=cv2.INTER_AREA)
    paper = cv2.medianBlur(cv2.dilate(small, np.ones((5, 5), np.uint8)), 7)
    paper = cv2.resize(paper, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.divide(red, np.maximum(paper, 1), scale=255)


def ink_of(gray: np.ndarray) -> np.ndarray:
    """Ink as 255 on 0: dark enough against its paper."""
    _, ink = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    return ink


def straighten(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A picture of a page as a flat, level scan at 200 dpi: (its colours, its evened grey)."""
    rgb = _scaled(_unwarp(rgb))
    angle = skew_angle(ink_of(rgb[:, :, 0]))
    if abs(angle) >= 0.05:
        rgb = _rotate(rgb, angle)
    return rgb, flatten(rgb)


def crop_png(gray: np.ndarray, box: Box, margin: int = 6) -> bytes:
    """The part of a page inside ``box`` (and a small margin), as PNG bytes for a reviewer to see."""
    h, w = gray.shape[:2]
    x0, y0 = max(int(box.x0) - margin, 0), max(int(box.y0) - margin, 0)
    x1, y1 = min(int(box.x1) + margin, w), min(int(box.y1) + margin, h)
    ok, png = cv2.imencode(".png", gray[y0:y1, x0:x1])
    return png.tobytes() if ok else b""
