"""Uploaded pictures (scans, phone photos of a stamped page) made ready to put on a PDF page.

Every picture is decoded in full by Pillow before any engine sees it: a truncated or corrupt file is found here
(and becomes a notice page), not left to an engine that would draw an empty box. The decoder is bounded:
Pillow's decompression-bomb limit is lowered to what a scanner makes (an A4 page at 600 dpi is 35 megapixels),
and a multi-page TIFF is cut off at a page count no real scan reaches.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

MAX_PIXELS = 60_000_000
MAX_FRAMES = 100
EMBEDDABLE = "PNG、JPEG、GIF、BMP、TIFF、WebP"
# Pillow raises DecompressionBombError beyond twice this; below that it only warns (made an error below).
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


@dataclass(frozen=True)
class Picture:
    """One page's picture: bytes an engine embeds as they are, their type, and the size in pixels."""

    data: bytes
    mime: str
    width: int
    height: int


ORIENTATION = 0x0112  # EXIF tag: 1 is upright; phones store the others and leave the turning to the viewer


def _encoded(frame: Image.Image) -> Picture:
    if frame.mode not in ("1", "L", "LA", "RGB", "RGBA", "P"):
        frame = frame.convert("RGBA" if "A" in frame.getbands() else "RGB")
    out = io.BytesIO()
    frame.save(out, "PNG")
    return Picture(out.getvalue(), "image/png", *frame.size)


def pictures(data: bytes) -> list[Picture]:
    """The pages of an image file, upright (EXIF orientation applied); ValueError in Chinese when unusable.

    An upright JPEG is embedded as it came (no second lossy encoding); everything else as PNG.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            out: list[Picture] = []
            for index, frame in enumerate(ImageSequence.Iterator(image)):
                if index >= MAX_FRAMES:
                    raise ValueError(f"图片页数超过 {MAX_FRAMES} 页，请拆分后上传")
                frame.load()
                upright = frame.getexif().get(ORIENTATION, 1) == 1
                if image.format == "JPEG" and upright and frame.mode in ("RGB", "L"):
                    out.append(Picture(data, "image/jpeg", *frame.size))
                else:
                    out.append(_encoded(frame if upright else ImageOps.exif_transpose(frame)))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ValueError("图片像素过多，无法嵌入（请以 300 dpi 左右重新扫描）") from exc
    except UnidentifiedImageError as exc:
        raise ValueError(f"图片格式无法嵌入（可嵌入 {EMBEDDABLE} 图片）") from exc
    except (OSError, SyntaxError, EOFError, struct.error) as exc:
        raise ValueError("图片已损坏，无法显示") from exc
    if not out or not all(p.width and p.height for p in out):
        raise ValueError("图片已损坏，无法显示")
    return out
