"""Hostile and broken PDFs and pictures: each refused before it costs time or memory, with a coded Chinese
message that tells the unit what to send instead."""

from __future__ import annotations

import io
import re
import struct
import zlib

import pytest
from PIL import Image

from service.office.limits import DEFAULT_LIMITS
from service.parse.pipeline import parse
from tests.support.records import ON_TIME

CHINESE = re.compile(r"[\u4e00-\u9fff]{4}")


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A few hundred bytes that say 10 gigapixels: a decompression bomb's header (its rows would follow)."""
    rows = zlib.compress(b"\x00" * (width + 1) * 4, 9)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + png_chunk(b"IDAT", rows) + png_chunk(b"IEND", b""))


def pdf(objects: list[bytes]) -> bytes:
    """A PDF of ``objects`` (object 1 the catalog) with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def pdf_pages(count: int, box: bytes = b"[0 0 595 842]", content: bytes = b"") -> bytes:
    """A PDF of ``count`` empty pages of ``box`` (each with ``content`` as its stream, if given)."""
    kids = b" ".join(b"%d 0 R" % (3 + i) for i in range(count))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, count)]
    stream = 3 + count if content else None
    for _ in range(count):
        extra = b" /Contents %d 0 R" % stream if stream else b""
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox %s%s >>" % (box, extra))
    if content:
        objects.append(content)
    return pdf(objects)


def flate_bomb(size: int) -> bytes:
    """A content stream of ``size`` bytes of spaces, deflated to a few hundred kilobytes."""
    packer = zlib.compressobj(9)
    chunk = b" " * (1 << 20)
    data = b"".join(packer.compress(chunk) for _ in range(size >> 20)) + packer.flush()
    return b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream"


def image_bomb() -> bytes:
    """A page whose image says it is 100,000 × 100,000 pixels (PDFium would decode it to render the page)."""
    data = zlib.compress(b"\x00" * 1000)
    image = (b"<< /Type /XObject /Subtype /Image /Width 100000 /Height 100000 /ColorSpace /DeviceGray "
             b"/BitsPerComponent 8 /Filter /FlateDecode /Length %d >>\nstream\n" % len(data) + data + b"\nendstream")
    content = b"q 500 0 0 700 40 60 cm /Im0 Do Q"
    return pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im0 4 0 R >> >>"
                b" /Contents 5 0 R >>", image, b"<< /Length %d >>\nstream\n" % len(content) + content
                + b"\nendstream"])


def tiff_frames(count: int) -> bytes:
    frames = [Image.new("L", (8, 8), 255) for _ in range(count)]
    out = io.BytesIO()
    frames[0].save(out, "TIFF", save_all=True, append_images=frames[1:])
    return out.getvalue()


def jpeg_cut() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (255, 255, 255)).save(out, "JPEG")
    return out.getvalue()[:400]


def blank_picture() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1240, 1754), (255, 255, 255)).save(out, "PNG")
    return out.getvalue()


HOSTILE = {
    "png-bomb": (png_bomb, "扫描件.png", "PICTURE_TOO_LARGE"),
    "pdf-broken": (lambda: b"%PDF-1.7\n" + bytes(range(256)) * 40, "推荐书.pdf", "PDF_CORRUPT"),
    "pdf-cut": (lambda: pdf_pages(3)[:180], "推荐书.pdf", "PDF_CORRUPT"),
    "pdf-5000-pages": (lambda: pdf_pages(5000), "推荐书.pdf", "PDF_TOO_MANY_PAGES"),
    "pdf-huge-page": (lambda: pdf_pages(1, b"[0 0 200000 200000]"), "推荐书.pdf", "PDF_PAGE_TOO_LARGE"),
    "pdf-flate-bomb": (lambda: pdf_pages(1, content=flate_bomb(300 << 20)), "推荐书.pdf", "PDF_UNSAFE"),
    "pdf-image-bomb": (image_bomb, "推荐书.pdf", "PICTURE_TOO_LARGE"),
    "tiff-frames": (lambda: tiff_frames(DEFAULT_LIMITS.max_pages + 10), "扫描件.tif", "PDF_TOO_MANY_PAGES"),
    "jpeg-cut": (jpeg_cut, "扫描件.jpg", "PICTURE_CORRUPT"),
    "heic": (lambda: b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00" + bytes(200), "IMG_0001.HEIC", "FILE_IMAGE_OR_PDF"),
    "no-form": (blank_picture, "照片.png", "FORM_UNKNOWN"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_pdfs_and_pictures_get_a_coded_chinese_refusal(case):
    make, name, code = HOSTILE[case]
    result = parse(make(), name, received_at=ON_TIME["jth-2020"])
    assert not result.readable and result.status == "rejected"
    assert [p.code for p in result.errors] == [code]
    assert CHINESE.search(result.errors[0].message), result.errors[0].message
    assert result.record == {}


def test_refusals_say_what_was_measured():
    """The unit is told the numbers: how many pages, how large a page or a picture, and the limit."""
    pages = parse(pdf_pages(5000), "a.pdf").errors[0].message
    assert pages.startswith("文件共 5000 页，超过平台可读取的 30 页")
    page = parse(pdf_pages(1, b"[0 0 200000 200000]"), "a.pdf").errors[0].message
    assert page.startswith("PDF 第 1 页的页面为 70556×70556 毫米，超过平台可读取的 847 毫米")
    picture = parse(png_bomb(), "a.png").errors[0].message
    assert picture.startswith("图片约有 1000000 万像素，超过平台上限 5000 万像素")
