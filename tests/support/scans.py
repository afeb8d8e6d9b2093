"""Paper copies made from a filled form's PDF, as units send them back: scans and phone photos — test helper.

A filled form exported to PDF by LibreOffice (text layer, the electronic copy) is rendered at 150–200 dpi,
sealed where its 盖章 text is (a red ring with a star and the unit's name, stamped over the text the way ink
lies on paper), then made to look scanned (turned a little, blurred, speckled, saved as JPEG) or photographed
(the sheet on a desk, seen slightly from the side, brighter on one side). Deterministic for a seed.
"""

from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

#: The 推荐书 printed after its contact's name was changed in the Word file: the paper says 张小明.
CHANGED = ("contact_name", "张小明")
#: LibreOffice's export filters to PDF, by the kind of form.
PDF_FILTER = {"docx": "writer_pdf_Export", "xlsx": "calc_pdf_Export"}
SEAL_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"
SEAL_RED = (214, 36, 40)


@dataclass(frozen=True)
class Variant:
    """How one copy is made."""

    name: str
    dpi: int = 200
    rotate: float = 0.0  # degrees, counter-clockwise
    blur: float = 0.0  # Gaussian radius in pixels
    noise: float = 0.0  # standard deviation of grey noise
    jpeg: int = 0  # JPEG quality, 0: PNG
    photo: bool = False  # on a desk, in perspective, uneven light
    seal: bool = True


def typed(field_: Any, value: Any, kind: str) -> str:
    """How a person types a value into the form: boxes ticked (☑/☐) in a Word form, names one per line."""
    if isinstance(value, list):
        return "\n".join(value)
    if field_.enum and kind == "docx" and not field_.array:
        return "　".join(("☑" if o == value else "☐") + o for o in field_.enum)
    return str(value)


def fills_for(form_id: str, campaign: str, record: dict) -> list[dict]:
    """Fill operations (tests/support/lo_fill.py) that type ``record`` into the form by its labels, keeping the
    template's “（盖章）” line under an opinion, where the seal goes."""
    from service.forms.catalog import catalog
    from service.forms.layout import layout

    form = catalog().form(campaign, form_id)
    lay = layout(form)
    ops: list[dict] = []
    for field_ in form.fields:
        loc = lay.locators[field_.path]
        if field_.array or field_.path not in record:
            continue
        value = typed(field_, record[field_.path], form.kind)
        value += "".join("\n" + s for s in loc.static if "盖章" in s)
        if loc.kind in ("cell_right", "sheet_label"):
            ops.append({"label": loc.label, "value": value})
        elif loc.kind == "cell_below":
            ops.append({"label": loc.label, "value": value, "below": True})
        else:
            ops.append({"heading": loc.label, "value": value})
    for array in lay.arrays:
        columns = lay.columns(array)
        fields = {f.path: f for f in form.fields}
        rows = [[typed(fields[c.path], item.get(c.path.split("[].")[1], ""), form.kind) for c in columns]
                for item in record.get(array, [])]
        ops.append({"table": [c.label for c in columns], "rows": rows, "delete_extra": True})
    return ops


def render_pages(pdf: bytes, dpi: int) -> list[Image.Image]:
    """Every page of a PDF as an RGB picture."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        pages = []
        for page in doc:
            bitmap = page.render(scale=dpi / 72.0)
            pages.append(bitmap.to_pil().convert("RGB"))
            bitmap.close()
            page.close()
        return pages
    finally:
        doc.close()


def seal_places(pdf: bytes) -> list[tuple[int, float, float]]:
    """Where each “（盖章）” text is: (page, x, y) in points from the top left."""
    import pdfplumber

    places = []
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        for index, page in enumerate(doc.pages):
            for word in page.extract_words():
                if "盖章" in word["text"] and "签章" not in word["text"]:
                    places.append((index, (word["x0"] + word["x1"]) / 2, (word["top"] + word["bottom"]) / 2))
    return places


def draw_seal(page: Image.Image, center: tuple[float, float], px_per_mm: float, name: str, seed: int) -> Image.Image:
    """A round red seal, 42 mm across, pressed over ``center``: ring, five-pointed star, the name on an arc.
    Ink multiplies with what is under it (text stays readable through it), unevenly inked."""
    rng = random.Random(seed)
    size = int(42 * px_per_mm)
    layer = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(layer)
    ring = max(int(1.4 * px_per_mm), 2)
    draw.ellipse((ring // 2, ring // 2, size - ring // 2, size - ring // 2), outline=255, width=ring)
    c, r = size / 2, size * 0.16
    star = [(c + (r if k % 2 == 0 else r * 0.4) * math.sin(k * math.pi / 5),
             c - (r if k % 2 == 0 else r * 0.4) * math.cos(k * math.pi / 5)) for k in range(10)]
    draw.polygon(star, fill=255)
    font = ImageFont.truetype(SEAL_FONT, int(4.8 * px_per_mm), index=0)
    chars = list(name)
    span = math.radians(220)
    for i, ch in enumerate(chars):
        angle = -span / 2 + span * i / max(len(chars) - 1, 1)
        glyph = Image.new("L", (int(6 * px_per_mm),) * 2, 0)
        ImageDraw.Draw(glyph).text((glyph.width / 2, glyph.height / 2), ch, fill=255, font=font, anchor="mm")
        glyph = glyph.rotate(-math.degrees(angle), resample=Image.BICUBIC)
        radius = size / 2 - ring - 3.6 * px_per_mm
        gx = c + radius * math.sin(angle) - glyph.width / 2
        gy = c - radius * math.cos(angle) - glyph.height / 2
        layer.paste(255, (int(gx), int(gy)), glyph)
    # Uneven ink: some of the impression is fainter.
    mask = np.asarray(layer, dtype=np.float32) / 255.0
    fade = np.clip(0.75 + 0.35 * np.random.default_rng(seed).random(mask.shape), 0, 1)
    alpha = mask * fade
    out = np.asarray(page, dtype=np.float32).copy()
    x0, y0 = int(center[0] - size / 2 + rng.uniform(-2, 2) * px_per_mm), int(center[1] - size / 2)
    h, w = out.shape[:2]
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x0 + size, w), min(y0 + size, h)
    a = alpha[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0, None]
    ink = np.array(SEAL_RED, dtype=np.float32) / 255.0
    region = out[sy0:sy1, sx0:sx1]
    out[sy0:sy1, sx0:sx1] = region * (1 - a) + region * ink * a
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))


def scanned(page: Image.Image, variant: Variant, seed: int) -> Image.Image:
    """A page as a scanner gives it back: turned, blurred, speckled."""
    rng = np.random.default_rng(seed)
    img = page
    if variant.rotate:
        img = img.rotate(variant.rotate, resample=Image.BICUBIC, expand=False, fillcolor=(255, 255, 255))
    if variant.blur:
        img = img.filter(ImageFilter.GaussianBlur(variant.blur))
    if variant.noise:
        arr = np.asarray(img, dtype=np.float32)
        arr = arr + rng.normal(0, variant.noise, arr.shape[:2])[:, :, None]
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    return img


def photographed(page: Image.Image, seed: int) -> Image.Image:
    """A page photographed on a desk: the sheet smaller than the frame, seen slightly from one side, lit from
    one corner, a little soft."""
    import cv2

    rng = np.random.default_rng(seed)
    src = np.asarray(page)
    h, w = src.shape[:2]
    frame_w, frame_h = int(w * 1.25), int(h * 1.18)
    jitter = lambda s: rng.uniform(-0.025, 0.025) * s  # noqa: E731 - a small helper for four corners
    ox, oy = (frame_w - w) / 2, (frame_h - h) / 2
    corners = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    target = np.float32([[ox + jitter(w), oy + jitter(h)], [ox + w + jitter(w), oy + jitter(h) + 0.012 * h],
                         [ox + w + jitter(w) - 0.02 * w, oy + h + jitter(h)], [ox + jitter(w) + 0.015 * w,
                                                                               oy + h + jitter(h)]])
    matrix = cv2.getPerspectiveTransform(corners, target)
    desk = np.zeros((frame_h, frame_w, 3), dtype=np.uint8)
    desk[:] = (92, 78, 64)
    warped = cv2.warpPerspective(src, matrix, (frame_w, frame_h), dst=desk, borderMode=cv2.BORDER_TRANSPARENT)
    yy, xx = np.mgrid[0:frame_h, 0:frame_w].astype(np.float32)
    light = 0.78 + 0.24 * (xx / frame_w) * 0.6 + 0.24 * (1 - yy / frame_h) * 0.4
    lit = np.clip(warped.astype(np.float32) * light[:, :, None], 0, 255).astype(np.uint8)
    return Image.fromarray(lit).filter(ImageFilter.GaussianBlur(0.8))


def encoded(img: Image.Image, variant: Variant) -> bytes:
    """The picture's bytes as the scanner or phone saves it."""
    out = io.BytesIO()
    if variant.jpeg:
        img.save(out, "JPEG", quality=variant.jpeg)
    else:
        img.save(out, "PNG")
    return out.getvalue()


def paper_copies(pdf: bytes, variant: Variant, seal_name: str, seed: int = 1) -> list[Image.Image]:
    """Every page of a filled form's PDF as the variant's paper copy, sealed over each “（盖章）” if it says so."""
    pages = render_pages(pdf, variant.dpi)
    px_per_pt = variant.dpi / 72.0
    if variant.seal:
        for index, x, y in seal_places(pdf):
            pages[index] = draw_seal(pages[index], (x * px_per_pt, y * px_per_pt), variant.dpi / 25.4, seal_name,
                                     seed + index)
    out = []
    for index, page in enumerate(pages):
        img = scanned(page, variant, seed + index)
        out.append(photographed(img, seed + index) if variant.photo else img)
    return out


def as_pdf(pages: list[Image.Image], dpi: int, jpeg: int = 75) -> bytes:
    """Pictures of pages bound into one PDF, as a scanner's “scan to PDF” does (no text layer)."""
    out = io.BytesIO()
    first, *rest = [p.convert("RGB") for p in pages]
    first.save(out, "PDF", resolution=float(dpi), save_all=True, append_images=rest, quality=jpeg)
    return out.getvalue()


def leaves(record: dict, prefix: str = "") -> dict[str, Any]:
    """A record's values by the paths problems name them with (``members.0.name``)."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            for i, item in enumerate(value):
                out.update(leaves(item, f"{prefix}{key}.{i}."))
        else:
            out[prefix + key] = value
    return out


@dataclass
class Tally:
    """What a read of a paper copy got right: each expected value exact, flagged for a person (not taken into
    the record), or wrong (taken, and not what was typed)."""

    exact: list[str]
    flagged: list[str]
    wrong: list[tuple[str, Any, Any]]

    def __str__(self) -> str:
        return f"exact {len(self.exact)}, flagged {len(self.flagged)}, wrong {len(self.wrong)}"


def tally(expected: dict, result: Any) -> Tally:
    """Compare a read with the record typed into the form. A value read by OCR is always shown to a person
    (FIELD_FROM_SCAN); “flagged” here means it was not taken (FIELD_SCAN_UNCERTAIN and the like)."""
    got = leaves(result.record)
    flagged = {p.path for p in result.problems if p.severity == "review" and p.path and p.code != "FIELD_FROM_SCAN"}
    out = Tally([], [], [])
    for path, value in leaves(expected).items():
        if value in (None, "", []):
            continue
        if path in flagged:
            out.flagged.append(path)
        elif got.get(path) == value:
            out.exact.append(path)
        else:
            out.wrong.append((path, value, got.get(path)))
    return out


def with_electronic_seals(pdf: bytes, name: str) -> bytes:
    """The PDF with a seal's picture placed over each “（盖章）” (an electronic seal, as signing software adds it);
    its text layer is unchanged."""
    import pypdfium2 as pdfium

    size = 300
    picture = draw_seal(Image.new("RGB", (size, size), (255, 255, 255)), (size / 2, size / 2), size / 42.0, name, 1)
    doc = pdfium.PdfDocument(pdf)
    try:
        side = 42 / 25.4 * 72  # 42 mm in points
        for index, x, y in seal_places(pdf):
            page = doc[index]
            image = pdfium.PdfImage.new(doc)
            image.set_bitmap(pdfium.PdfBitmap.from_pil(picture))
            height = page.get_height()
            image.set_matrix(pdfium.PdfMatrix().scale(side, side).translate(x - side / 2, height - y - side / 2))
            page.insert_obj(image)
            page.gen_content()
        out = io.BytesIO()
        doc.save(out)
        return out.getvalue()
    finally:
        doc.close()
