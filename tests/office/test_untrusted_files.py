"""Tests for the office layer's gate (sniff, zip guard, XML, OLE, RTF): every case is built as real bytes here.

No mocks: documents come from python-docx/openpyxl/msoffcrypto-tool (and a
LibreOffice .doc), hostile archives are written with zipfile and patched
byte-by-byte, and legacy OLE files are produced by a tiny compound-file
writer below because olefile can only rewrite existing streams.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import os
import pickle
import re
import shutil
import signal
import struct
import subprocess
import threading
import time
import warnings
import zipfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docx
import msoffcrypto
import olefile
import openpyxl
import pytest

from service.office import sniff as sniff_module
from service.office import xml as office_xml
from service.office.batch import read_batch
from service.office.limits import DEFAULT_LIMITS, Limits
from service.office.rejected import InputRejected
from service.office.sniff import Sniffed, media_type, open_package, sniff
from service.office.xml import parse_xml
from service.office.zipguard import read_member
from service.problems.catalogue import CATALOGUE
from tests.support.hostile import BILLION_LAUGHS, XXE, encrypt_ooxml

CHINESE = re.compile(r"[\u4e00-\u9fff]")
PARAGRAPH = "Hello safety 申报书正文"

# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def rejected(code: str, func, *args, **kwargs) -> InputRejected:
    """Call ``func`` expecting InputRejected(code) with a Chinese message."""
    with pytest.raises(InputRejected) as info:
        func(*args, **kwargs)
    exc = info.value
    assert exc.code == code, (exc.code, exc.detail)
    assert CHINESE.search(exc.message), exc.message
    assert 400 <= exc.http_status < 500
    return exc


def make_docx(text: str = PARAGRAPH) -> bytes:
    document = docx.Document()
    document.add_paragraph(text)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def make_xlsx() -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet["A1"] = "姓名"
    sheet["B1"] = 95
    buf = io.BytesIO()
    workbook.save(buf)
    return buf.getvalue()


def rezip(
    source: bytes,
    add: dict[str, bytes] | None = None,
    replace: dict[str, bytes] | None = None,
    drop: Iterable[str] = (),
    compression: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    """Copy a zip, adding/replacing/dropping members."""
    add = add or {}
    replace = replace or {}
    dropped = set(drop)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(source)) as src,
        zipfile.ZipFile(out, "w", compression) as dst,
    ):
        for info in src.infolist():
            if info.filename in dropped:
                continue
            dst.writestr(info.filename, replace.get(info.filename, src.read(info)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # duplicate-name tests
            for name, payload in add.items():
                dst.writestr(name, payload)
    return out.getvalue()


def make_zip(
    members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED
) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as zf:
        for name, payload in members.items():
            zf.writestr(name, payload)
    return out.getvalue()


def central_records(data: bytes) -> list[int]:
    """Offsets of the central-directory records of a (non-zip64) zip."""
    eocd = data.rfind(b"PK\x05\x06")
    count, _size, offset = struct.unpack_from("<HLL", data, eocd + 10)
    records, pos = [], offset
    for _ in range(count):
        records.append(pos)
        n, m, k = struct.unpack_from("<HHH", data, pos + 28)
        pos += 46 + n + m + k
    return records


CONTENT_TYPES_PPTX = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/ppt/presentation.xml" ContentType="application/'
    b'vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"/>'
    b"</Types>"
)
ROOT_RELS_PPTX = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/officeDocument" Target="ppt/presentation.xml"/>'
    b"</Relationships>"
)


# --- minimal OLE2 compound file writer -------------------------------------

_ENDOFCHAIN = 0xFFFFFFFE
_FREESECT = 0xFFFFFFFF
_FATSECT = 0xFFFFFFFD
_NOSTREAM = 0xFFFFFFFF


def build_cfb(streams: dict[str, bytes]) -> bytes:
    """Write a version-3 compound file holding ``streams``.

    Keys are paths such as ``"Workbook"`` or ``"_VBA_PROJECT_CUR/VBA/dir"``
    (storages are created on the way).  Streams are padded to the 4096-byte
    mini-stream cutoff so everything lives in regular sectors, which keeps
    the writer tiny.  Siblings are chained to the right, which olefile and
    msoffcrypto-tool accept.
    """
    tree: dict = {"name": "Root Entry", "type": 5, "children": {}}
    for path, payload in streams.items():
        node = tree
        *folders, leaf = path.split("/")
        for folder in folders:
            node = node["children"].setdefault(
                folder, {"name": folder, "type": 1, "children": {}}
            )
        padded = payload.ljust(4096, b"\x00")
        node["children"][leaf] = {
            "name": leaf,
            "type": 2,
            "children": {},
            "data": padded,
        }

    nodes: list[dict] = []

    def number(node: dict) -> None:
        node["id"] = len(nodes)
        nodes.append(node)
        for child in node["children"].values():
            number(child)

    number(tree)
    n_dir_sectors = -(-len(nodes) * 128 // 512)
    next_sector = 1 + n_dir_sectors  # sector 0 holds the FAT
    fat = [_FATSECT] + [i + 2 for i in range(n_dir_sectors - 1)] + [_ENDOFCHAIN]
    body = b""
    for node in nodes:
        node["start"], node["size"] = _ENDOFCHAIN, 0
        if node["type"] == 2:
            data = node["data"].ljust(-(-len(node["data"]) // 512) * 512, b"\x00")
            count = len(data) // 512
            node["start"], node["size"] = next_sector, len(node["data"])
            fat += [next_sector + i + 1 for i in range(count - 1)] + [_ENDOFCHAIN]
            next_sector += count
            body += data
        elif node["type"] == 1:
            node["start"] = 0
    assert len(fat) <= 128, "test writer supports one FAT sector only"
    fat += [_FREESECT] * (128 - len(fat))

    def entry(node: dict | None) -> bytes:
        if node is None:
            return struct.pack(
                "<64sHBBIII16sIQQIQ",
                b"",
                0,
                0,
                0,
                _NOSTREAM,
                _NOSTREAM,
                _NOSTREAM,
                b"",
                0,
                0,
                0,
                0,
                0,
            )
        kids = list(node["children"].values())
        name = node["name"].encode("utf-16-le") + b"\x00\x00"
        return struct.pack(
            "<64sHBBIII16sIQQIQ",
            name,
            len(name),
            node["type"],
            1,
            _NOSTREAM,
            node.get("right", _NOSTREAM),
            kids[0]["id"] if kids else _NOSTREAM,
            b"",
            0,
            0,
            0,
            node["start"],
            node["size"],
        )

    for node in nodes:
        kids = list(node["children"].values())
        for left, right in itertools.pairwise(kids):
            left["right"] = right["id"]
    directory = b"".join(entry(n) for n in nodes)
    directory += b"".join(entry(None) for _ in range(n_dir_sectors * 4 - len(nodes)))
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII",
        bytes.fromhex("D0CF11E0A1B11AE1"),
        b"",
        0x3E,
        3,
        0xFFFE,
        9,
        6,
        b"",
        0,
        1,
        1,
        0,
        4096,
        _ENDOFCHAIN,
        0,
        _ENDOFCHAIN,
        0,
    )
    header += struct.pack("<109I", 0, *([_FREESECT] * 108))
    return header + struct.pack("<128I", *fat) + directory + body


def biff_workbook(encrypted: bool = False) -> bytes:
    """BOF [FILEPASS] EOF: enough BIFF8 for msoffcrypto's FILEPASS probe."""
    records = struct.pack("<HH", 0x0809, 16) + struct.pack(
        "<HHHHII", 0x0600, 5, 0, 0, 0, 0
    )
    if encrypted:
        records += struct.pack("<HH", 0x002F, 6) + struct.pack(
            "<HHH", 0, 0x1234, 0x5678
        )
    return records + struct.pack("<HH", 0x000A, 0)


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def docx_bytes() -> bytes:
    return make_docx()


@pytest.fixture(scope="module")
def xlsx_bytes() -> bytes:
    return make_xlsx()


@pytest.fixture(scope="module")
def legacy_doc(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real Word 97 .doc, converted once per module by LibreOffice."""
    soffice = shutil.which("soffice") or "/usr/bin/soffice"
    if not os.path.exists(soffice):
        pytest.skip("LibreOffice (soffice) is not installed")
    work = tmp_path_factory.mktemp("soffice")
    source = work / "sample.docx"
    source.write_bytes(make_docx())
    profile = (work / "profile").as_uri()
    proc = subprocess.Popen(
        [
            soffice,
            f"-env:UserInstallation={profile}",
            "--headless",
            "--norestore",
            "--convert-to",
            "doc",
            "--outdir",
            str(work),
            str(source),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # our own session only
        proc.communicate()
        pytest.skip("LibreOffice conversion timed out")
    target = work / "sample.doc"
    if not target.exists():
        pytest.skip(f"LibreOffice conversion failed: {output[-500:]!r}")
    return target.read_bytes()


# ---------------------------------------------------------------------------
# accepted documents
# ---------------------------------------------------------------------------


def test_real_docx_sniffs_as_docx(docx_bytes: bytes) -> None:
    assert sniff(docx_bytes, "申报书.docx") == Sniffed("docx", ".docx", False)


def test_real_xlsx_sniffs_as_xlsx(xlsx_bytes: bytes) -> None:
    assert sniff(xlsx_bytes, "成绩.xlsx") == Sniffed("xlsx", ".xlsx", False)


@pytest.mark.parametrize(
    "name", ["申报书.xlsx", "申报书.doc", "申报书", "", "C:\\x\\a.pdf"]
)
def test_name_never_overrides_content(docx_bytes: bytes, name: str) -> None:
    assert sniff(docx_bytes, name).kind == "docx"


def test_xlsx_named_docx_is_xlsx(xlsx_bytes: bytes) -> None:
    assert sniff(xlsx_bytes, "a.docx").ext == ".xlsx"


def test_main_part_found_through_relationships(docx_bytes: bytes) -> None:
    """Word Online writes word/document2.xml; the rels, not the name, decide."""
    with zipfile.ZipFile(io.BytesIO(docx_bytes)) as zf:
        body = zf.read("word/document.xml")
        rels = zf.read("_rels/.rels").replace(
            b"word/document.xml", b"word/document2.xml"
        )
        types = zf.read("[Content_Types].xml").replace(
            b"/word/document.xml", b"/word/document2.xml"
        )
        word_rels = zf.read("word/_rels/document.xml.rels")
    moved = rezip(
        docx_bytes,
        add={"word/document2.xml": body, "word/_rels/document2.xml.rels": word_rels},
        replace={"_rels/.rels": rels, "[Content_Types].xml": types},
        drop={"word/document.xml", "word/_rels/document.xml.rels"},
    )
    assert sniff(moved, "a.docx").kind == "docx"


@pytest.mark.parametrize(
    "data",
    [
        b"{\\rtf1\\ansi {\\*\\blip\\bin2147483647 x}}",  # binary run far longer than the file
        b"{\\rtf1" + b"{" * 250_000 + b"}" * 250_000 + b"}",  # nesting that costs LibreOffice gigabytes
        b"{\\rtf1\\trowd" + b"\\cellx100" * 60_000 + b"x\\cell" * 60_000 + b"\\row}",  # one row of 60,000 cells
    ],
)
def test_rtf_built_to_stall_the_converter_is_refused(data: bytes) -> None:
    with pytest.raises(InputRejected) as info:
        sniff(data, "推荐书.rtf")
    assert info.value.code == "RTF_CORRUPT"


def test_rtf_needs_conversion() -> None:
    result = sniff("{\\rtf1\\ansi 你好}".encode("gbk"), "通知.doc")
    assert result == Sniffed("rtf", ".rtf", True)


def test_chart_data_embedding_is_not_a_nested_zip(
    docx_bytes: bytes, xlsx_bytes: bytes
) -> None:
    data = rezip(
        docx_bytes, add={"word/embeddings/Microsoft_Excel_Worksheet.xlsx": xlsx_bytes}
    )
    assert sniff(data, "a.docx").kind == "docx"


# --- ODF -------------------------------------------------------------------


def make_odf(
    mimetype: bytes, extra: dict[str, bytes] | None = None, manifest: bytes = b""
) -> bytes:
    manifest = manifest or (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
        b'<manifest:file-entry manifest:full-path="/" manifest:media-type="'
        + mimetype
        + b'"/></manifest:manifest>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("mimetype", mimetype, compress_type=zipfile.ZIP_STORED)
        zf.writestr("content.xml", b"<office:document-content/>")
        zf.writestr("META-INF/manifest.xml", manifest)
        for name, payload in (extra or {}).items():
            zf.writestr(name, payload)
    return out.getvalue()


def test_odt_and_ods_need_conversion() -> None:
    odt = make_odf(b"application/vnd.oasis.opendocument.text")
    ods = make_odf(b"application/vnd.oasis.opendocument.spreadsheet")
    assert sniff(odt, "a.doc") == Sniffed("odt", ".odt", True)
    assert sniff(ods, "a.xls") == Sniffed("ods", ".ods", True)


def test_odp_is_unsupported() -> None:
    rejected(
        "FILE_UNSUPPORTED",
        sniff,
        make_odf(b"application/vnd.oasis.opendocument.presentation"),
        "a.odp",
    )


def test_encrypted_odt() -> None:
    manifest = (
        b'<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
        b'<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml">'
        b'<manifest:encryption-data manifest:checksum-type="SHA1/1K" manifest:checksum="x"/>'
        b"</manifest:file-entry></manifest:manifest>"
    )
    data = make_odf(b"application/vnd.oasis.opendocument.text", manifest=manifest)
    rejected("FILE_ENCRYPTED", sniff, data, "a.odt")


def test_odt_with_basic_macros() -> None:
    data = make_odf(
        b"application/vnd.oasis.opendocument.text",
        extra={"Basic/Standard/Module1.xml": b"<script:module/>"},
    )
    rejected("FILE_MACRO", sniff, data, "a.odt")


# --- legacy OLE --------------------------------------------------------------


def test_libreoffice_doc_is_ole_doc(legacy_doc: bytes) -> None:
    assert sniff(legacy_doc, "旧版.doc") == Sniffed("ole-doc", ".doc", True)


def test_doc_named_wps_keeps_wps_extension(legacy_doc: bytes) -> None:
    assert sniff(legacy_doc, "WPS文字.wps") == Sniffed("ole-doc", ".wps", True)


def test_doc_named_docx_is_still_a_doc(legacy_doc: bytes) -> None:
    assert sniff(legacy_doc, "伪装.docx").ext == ".doc"


def test_doc_with_encryption_flag(legacy_doc: bytes) -> None:
    """Set FibBase.fEncrypted (bit 8 of the flags word at offset 10)."""
    buf = io.BytesIO(legacy_doc)
    ole = olefile.OleFileIO(buf, write_mode=True)
    stream = bytearray(ole.openstream("WordDocument").read())
    (flags,) = struct.unpack_from("<H", stream, 10)
    struct.pack_into("<H", stream, 10, flags | 0x0100)
    ole.write_stream("WordDocument", bytes(stream))
    ole.close()
    data = buf.getvalue()
    assert msoffcrypto.OfficeFile(io.BytesIO(data)).is_encrypted()
    rejected("FILE_ENCRYPTED", sniff, data, "a.doc")


def test_cfb_writer_produces_real_ole() -> None:
    data = build_cfb({"Workbook": biff_workbook(), "_VBA_PROJECT_CUR/VBA/dir": b"x"})
    ole = olefile.OleFileIO(io.BytesIO(data))
    assert ole.exists("Workbook")
    assert ole.exists("_VBA_PROJECT_CUR/VBA/dir")
    ole.close()


def test_ole_workbook_is_ole_xls_and_et_hint() -> None:
    data = build_cfb({"Workbook": biff_workbook()})
    assert sniff(data, "成绩.xls") == Sniffed("ole-xls", ".xls", True)
    assert sniff(data, "成绩.et") == Sniffed("ole-xls", ".et", True)
    assert sniff(data, "成绩.docx") == Sniffed("ole-xls", ".xls", True)


def test_ole_workbook_with_filepass_is_encrypted() -> None:
    data = build_cfb({"Workbook": biff_workbook(encrypted=True)})
    rejected("FILE_ENCRYPTED", sniff, data, "成绩.xls")


@pytest.mark.parametrize(
    "storage", ["_VBA_PROJECT_CUR/VBA/dir", "Macros/VBA/dir", "Macros/PROJECT"]
)
def test_ole_macro_storages(storage: str) -> None:
    data = build_cfb({"Workbook": biff_workbook(), storage: b"Attribute VB_Name"})
    rejected("FILE_MACRO", sniff, data, "a.xls")


def test_ole_powerpoint_is_unsupported() -> None:
    rejected(
        "FILE_UNSUPPORTED", sniff, build_cfb({"PowerPoint Document": b"x"}), "a.ppt"
    )


def test_unknown_ole_is_not_office() -> None:
    rejected("FILE_NOT_OFFICE", sniff, build_cfb({"Contents": b"x"}), "a.doc")


def test_truncated_ole_is_corrupt() -> None:
    data = build_cfb({"Workbook": biff_workbook()})
    rejected("OLE_CORRUPT", sniff, data[:600], "a.xls")


# ---------------------------------------------------------------------------
# simple rejections
# ---------------------------------------------------------------------------


def test_empty() -> None:
    rejected("FILE_EMPTY", sniff, b"", "a.docx")


def test_too_large_with_small_limits(docx_bytes: bytes) -> None:
    exc = rejected(
        "FILE_TOO_LARGE", sniff, docx_bytes, "a.docx", Limits(max_file_bytes=1000)
    )
    assert exc.detail == {"size": len(docx_bytes), "limit": 1000}
    assert exc.http_status == 413


def test_plain_text() -> None:
    rejected("FILE_NOT_OFFICE", sniff, "这是一段普通文字。\n".encode(), "a.docx")


def test_random_bytes() -> None:
    import random

    data = random.Random(20240901).randbytes(4096)
    rejected("FILE_NOT_OFFICE", sniff, data, "a.xlsx")


def test_html_saved_as_xls_gets_specific_message() -> None:
    data = "<html><body><table><tr><td>姓名</td></tr></table></body></html>".encode()
    exc = rejected("FILE_NOT_OFFICE", sniff, data, "导出.xls")
    assert "网页" in exc.message


def test_executable() -> None:
    rejected("FILE_NOT_OFFICE", sniff, b"MZ\x90\x00" + bytes(200), "a.doc")


@pytest.mark.parametrize(
    "head",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
        b"GIF89a\x01\x00\x01\x00",
        b"II*\x00\x08\x00\x00\x00",
        b"BM\x3a\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00" + bytes(16),
        b"RIFF\x24\x00\x00\x00WEBPVP8 ",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n",
    ],
    ids=["png", "jpeg", "gif", "tiff", "bmp", "webp", "pdf"],
)
def test_images_and_pdf(head: bytes) -> None:
    """A scan or photo (even renamed .docx) is taken, to be read by its pages (service.office.paper)."""
    sniffed = sniff(head + bytes(64), "盖章页.docx")
    assert sniffed.kind == ("pdf" if head.startswith(b"%PDF") else "picture") and not sniffed.needs_conversion


def test_a_heic_photo_is_refused_saying_how_to_save_it() -> None:
    exc = rejected("FILE_IMAGE_OR_PDF", sniff, b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00" + bytes(64), "IMG_1.HEIC")
    assert "HEIC" in exc.message and "JPEG" in exc.message


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
        (b"GIF87a\x01\x00", "image/gif"),
        (b"MM\x00*\x00\x00\x00\x08", "image/tiff"),
        (b"BM\x3a\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00" + bytes(16), "image/bmp"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "image/heif"),
        (b"junk before the header %PDF-1.4\n", "application/pdf"),
        (b"PK\x03\x04\x14\x00", "application/zip"),
        (b"PK\x05\x06" + bytes(18), "application/zip"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(8), "application/x-ole-storage"),
        (b"{\\rtf1\\ansi ", "application/rtf"),
        (b"Rar!\x1a\x07\x01\x00", "application/vnd.rar"),
        (b"7z\xbc\xaf\x27\x1c\x00\x04", "application/x-7z-compressed"),
        (b"\x1f\x8b\x08\x00", "application/gzip"),
        (b"MZ\x90\x00", "application/vnd.microsoft.portable-executable"),
        (b"BMW annual report", None),  # a text that starts like a bitmap is no bitmap
        ("<html>网页</html>".encode(), None),
        (b"", None),
    ],
)
def test_media_type_reads_the_one_table(data: bytes, expected: str | None) -> None:
    assert media_type(data) == expected


def test_ofd_is_treated_like_pdf() -> None:
    data = make_zip({"OFD.xml": b"<ofd:OFD/>", "Doc_0/Document.xml": b"<x/>"})
    rejected("FILE_IMAGE_OR_PDF", sniff, data, "公文.ofd")


# ---------------------------------------------------------------------------
# encryption and macros
# ---------------------------------------------------------------------------


def test_encrypted_docx_named_docx(docx_bytes: bytes) -> None:
    data = encrypt_ooxml(docx_bytes)
    assert data.startswith(bytes.fromhex("D0CF11E0A1B11AE1"))
    exc = rejected("FILE_ENCRYPTED", sniff, data, "申报书.docx")
    assert "密码" in exc.message


def test_encrypted_xlsx(xlsx_bytes: bytes) -> None:
    rejected("FILE_ENCRYPTED", sniff, encrypt_ooxml(xlsx_bytes), "成绩.xlsx")


def test_open_package_on_encrypted_docx_gives_precise_code(docx_bytes: bytes) -> None:
    rejected("FILE_ENCRYPTED", open_package, encrypt_ooxml(docx_bytes), Limits())


def test_zip_level_encryption_flag(docx_bytes: bytes) -> None:
    data = bytearray(docx_bytes)
    record = central_records(docx_bytes)[0]
    struct.pack_into(
        "<H", data, record + 8, struct.unpack_from("<H", data, record + 8)[0] | 1
    )
    rejected("FILE_ENCRYPTED", sniff, bytes(data), "a.docx")


def test_vba_project_in_docx(docx_bytes: bytes) -> None:
    data = rezip(docx_bytes, add={"word/vbaProject.bin": b"\xd0\xcf\x11\xe0fake"})
    rejected("FILE_MACRO", sniff, data, "a.docx")


def test_macro_enabled_content_type(docx_bytes: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(docx_bytes)) as zf:
        types = zf.read("[Content_Types].xml")
    types = types.replace(
        b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
        b"application/vnd.ms-word.document.macroEnabled.main+xml",
    )
    data = rezip(docx_bytes, replace={"[Content_Types].xml": types})
    rejected("FILE_MACRO", sniff, data, "a.docm")


def test_embedded_macro_workbook(docx_bytes: bytes, xlsx_bytes: bytes) -> None:
    data = rezip(docx_bytes, add={"word/embeddings/Book1.xlsm": xlsx_bytes})
    rejected("FILE_MACRO", sniff, data, "a.docx")


# ---------------------------------------------------------------------------
# zip structure
# ---------------------------------------------------------------------------


def test_truncated_docx(docx_bytes: bytes) -> None:
    rejected("ZIP_CORRUPT", sniff, docx_bytes[: len(docx_bytes) // 2], "a.docx")


def test_bad_crc() -> None:
    # Long body so the 4-byte peek in open_package does not reach the CRC check.
    stored = rezip(make_docx(PARAGRAPH + "。" * 5000), compression=zipfile.ZIP_STORED)
    marker = PARAGRAPH.encode()
    assert stored.count(marker) == 1
    damaged = stored.replace(marker, b"J" + marker[1:])
    rejected("ZIP_CORRUPT", sniff, damaged, "a.docx")
    # The CRC pass is what catches it; without it the structure looks fine.
    assert sniff(damaged, "a.docx", Limits(verify_crc=False)).kind == "docx"


def test_garbage_after_zip_magic() -> None:
    rejected("ZIP_CORRUPT", sniff, b"PK\x03\x04" + bytes(500), "a.docx")


def test_plain_zip_is_not_ooxml() -> None:
    rejected(
        "OOXML_INVALID", sniff, make_zip({"readme.txt": "说明".encode()}), "资料.docx"
    )


def test_content_types_without_main_part(docx_bytes: bytes) -> None:
    data = rezip(docx_bytes, drop={"word/document.xml", "_rels/.rels"})
    rejected("OOXML_INVALID", sniff, data, "a.docx")


def test_relationship_to_missing_main_part(docx_bytes: bytes) -> None:
    rejected(
        "OOXML_INVALID", sniff, rezip(docx_bytes, drop={"word/document.xml"}), "a.docx"
    )


def test_pptx_is_unsupported() -> None:
    data = make_zip(
        {
            "[Content_Types].xml": CONTENT_TYPES_PPTX,
            "_rels/.rels": ROOT_RELS_PPTX,
            "ppt/presentation.xml": b"<p:presentation/>",
        }
    )
    rejected("FILE_UNSUPPORTED", sniff, data, "课件.docx")


@pytest.mark.parametrize(
    "name",
    [
        "../evil.txt",
        "word/../../evil.txt",
        "/etc/cron.d/evil",
        "..\\..\\evil.txt",
        "C:/Windows/evil.txt",
        "word\\..\\..\\evil",
    ],
)
def test_unsafe_paths(docx_bytes: bytes, name: str) -> None:
    rejected("ZIP_UNSAFE_PATH", sniff, rezip(docx_bytes, add={name: b"x"}), "a.docx")


def test_duplicate_entries_differing_in_case(docx_bytes: bytes) -> None:
    data = rezip(docx_bytes, add={"Word/Document.xml": b"<x/>"})
    rejected("ZIP_UNSAFE_PATH", sniff, data, "a.docx")


def test_too_many_entries_default_limit(docx_bytes: bytes) -> None:
    extra = {f"customXml/item{i}.xml": b"" for i in range(2001)}
    exc = rejected("ZIP_BOMB", sniff, rezip(docx_bytes, add=extra), "a.docx")
    assert exc.detail["reason"] == "too_many_entries"


def test_too_many_entries_small_limit(docx_bytes: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(docx_bytes)) as zf:
        count = len(zf.infolist())
    limits = Limits(max_zip_entries=count - 1)
    rejected("ZIP_BOMB", open_package, docx_bytes, limits)
    with open_package(docx_bytes, Limits(max_zip_entries=count)) as zf:
        assert zf.testzip() is None


@pytest.fixture(scope="module")
def bomb_200mb() -> bytes:
    """One entry inflating to 200 MiB of zeros, written in streaming fashion."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", b"<Types/>")
        with zf.open("word/document.xml", "w", force_zip64=True) as fh:
            chunk = bytes(1 << 20)
            for _ in range(200):
                fh.write(chunk)
    return out.getvalue()


def test_zip_bomb_rejected_from_metadata(bomb_200mb: bytes) -> None:
    assert len(bomb_200mb) < 1 << 20
    started = time.perf_counter()
    exc = rejected("ZIP_BOMB", sniff, bomb_200mb, "a.docx")
    assert time.perf_counter() - started < 2.0
    assert exc.detail["reason"] in {"entry_too_large", "compression_ratio"}
    # Proof that nothing was inflated: wreck the deflate stream; a reader
    # would now report ZIP_CORRUPT, yet the verdict is still ZIP_BOMB.
    with zipfile.ZipFile(io.BytesIO(bomb_200mb)) as zf:
        info = zf.getinfo("word/document.xml")
    middle = info.header_offset + 100 + info.compress_size // 2
    wrecked = bomb_200mb[:middle] + b"\xff" * 64 + bomb_200mb[middle + 64 :]
    rejected("ZIP_BOMB", sniff, wrecked, "a.docx")


def test_high_ratio_entry_below_size_limit(docx_bytes: bytes) -> None:
    data = rezip(docx_bytes, add={"customXml/bomb.xml": bytes(10 << 20)})
    exc = rejected("ZIP_BOMB", sniff, data, "a.docx")
    assert exc.detail["reason"] == "compression_ratio"


def test_declared_total_over_limit(docx_bytes: bytes) -> None:
    limits = Limits(max_uncompressed_bytes=len(docx_bytes))  # docx inflates to more
    exc = rejected("ZIP_BOMB", open_package, docx_bytes, limits)
    assert exc.detail["reason"] == "total_uncompressed"


def test_declared_size_lie_is_caught_by_streaming(docx_bytes: bytes) -> None:
    """Central directory claims 10 bytes; the real member is larger."""
    data = bytearray(docx_bytes)
    with zipfile.ZipFile(io.BytesIO(docx_bytes)) as zf:
        names = [i.filename for i in zf.infolist()]
    record = central_records(docx_bytes)[names.index("word/document.xml")]
    struct.pack_into("<L", data, record + 24, 10)
    # zipfile stops at the declared size, so the surplus shows up as a CRC error.
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        rejected("ZIP_CORRUPT", read_member, zf, "word/document.xml", Limits())
    rejected("ZIP_CORRUPT", open_package, bytes(data), Limits())
    rejected("ZIP_CORRUPT", sniff, bytes(data), "a.docx")


def test_read_member_entry_limit(docx_bytes: bytes) -> None:
    with open_package(docx_bytes) as zf:
        size = zf.getinfo("word/document.xml").file_size
        assert len(read_member(zf, "word/document.xml", Limits())) == size
        exc = rejected(
            "ZIP_BOMB",
            read_member,
            zf,
            "word/document.xml",
            Limits(max_entry_bytes=size - 1),
        )
        assert exc.detail["reason"] == "entry_too_large"
        rejected("OOXML_INVALID", read_member, zf, "word/missing.xml", Limits())


def test_read_member_bounds_a_zipfile_that_bypassed_open_package() -> None:
    """read_member re-applies the entry limits; it does not trust its caller."""
    payload = bytes(3 << 20)
    with zipfile.ZipFile(io.BytesIO(make_zip({"big.xml": payload}))) as zf:
        exc = rejected("ZIP_BOMB", read_member, zf, "big.xml", Limits())
        assert exc.detail["reason"] == "compression_ratio"


def test_nested_zip_in_media(docx_bytes: bytes) -> None:
    inner = make_zip({"a.txt": b"a"})
    rejected(
        "ZIP_BOMB",
        sniff,
        rezip(docx_bytes, add={"word/media/image1.png": inner}),
        "a.docx",
    )
    rejected(
        "ZIP_BOMB", sniff, rezip(docx_bytes, add={"word/media/x.zip": b"abc"}), "a.docx"
    )


def test_overlapping_entries() -> None:
    """Two central records pointing at one local header (non-recursive bomb)."""
    data = make_zip({"[Content_Types].xml": b"<Types/>", "a.xml": b"<a/>" * 100})
    records = central_records(data)
    eocd = data.rfind(b"PK\x05\x06")
    second = data[records[1] : eocd]
    clone = second.replace(b"a.xml", b"b.xml")
    count, size, _offset = struct.unpack_from("<HLL", data, eocd + 10)
    tail = bytearray(data[eocd:])
    struct.pack_into("<HHL", tail, 8, count + 1, count + 1, size + len(clone))
    crafted = data[:eocd] + clone + bytes(tail)
    exc = rejected("ZIP_BOMB", open_package, crafted, Limits())
    assert exc.detail["reason"] == "overlapping_entries"


def test_open_package_returns_readable_zip(docx_bytes: bytes) -> None:
    with open_package(docx_bytes) as zf:
        root = parse_xml(read_member(zf, "word/document.xml", Limits()))
    assert etree_localname(root.tag) == "document"
    assert PARAGRAPH in "".join(root.itertext())


def etree_localname(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


# ---------------------------------------------------------------------------
# a batch of uploads (bulk ingest), read from disk behind the same guard
# ---------------------------------------------------------------------------


def batch_verdicts(path: Path, limits: Limits = DEFAULT_LIMITS) -> dict[str, str]:
    """Entry name -> "ok" or the code of its verdict."""
    return {entry.name: entry.problem.code if entry.problem else "ok" for entry in read_batch(path, limits)}


def test_batch_gives_each_entry_its_own_verdict(tmp_path: Path, docx_bytes: bytes) -> None:
    data = bytearray(make_zip({"a.docx": docx_bytes, "b.docx": docx_bytes, "../c.docx": docx_bytes,
                               "big.docx": bytes(len(docx_bytes) + 1)}))
    record = central_records(bytes(data))[1]  # b.docx: password-protected, as far as its flag says
    struct.pack_into("<H", data, record + 8, struct.unpack_from("<H", data, record + 8)[0] | 1)
    path = tmp_path / "batch.zip"
    path.write_bytes(bytes(data))
    assert batch_verdicts(path, Limits(max_file_bytes=len(docx_bytes))) == {
        "a.docx": "ok", "b.docx": "FILE_ENCRYPTED", "../c.docx": "ZIP_UNSAFE_PATH", "big.docx": "FILE_TOO_LARGE"}
    entries = list(read_batch(path, Limits(max_batch_bytes=len(docx_bytes) + 1)))
    assert [e.data == docx_bytes for e in entries[:1]] == [True]
    assert entries[-1].problem.code == "ZIP_BOMB" and CHINESE.search(entries[-1].problem.message)
    assert len(entries) == 2  # nothing is read after the batch's total is spent


def test_batch_names_are_read_as_their_authors_wrote_them(tmp_path: Path) -> None:
    data = make_zip({"0000000000000000.docx": b"x"})
    path = tmp_path / "gbk.zip"
    path.write_bytes(data.replace(b"0000000000000000", "旧版推荐书甲乙丙".encode("gbk")))
    assert list(batch_verdicts(path)) == ["旧版推荐书甲乙丙.docx"]


def test_a_hostile_or_broken_batch_is_refused_whole(tmp_path: Path) -> None:
    path = tmp_path / "many.zip"
    path.write_bytes(make_zip({f"{i}.docx": b"x" for i in range(5)}))
    exc = rejected("ZIP_BOMB", batch_verdicts, path, Limits(max_batch_entries=4))
    assert "4 个" in exc.message
    path.write_bytes(path.read_bytes()[:-30])
    rejected("ZIP_CORRUPT", batch_verdicts, path)
    rejected("ZIP_CORRUPT", batch_verdicts, tmp_path / "missing.zip")


# ---------------------------------------------------------------------------
# XML
# ---------------------------------------------------------------------------


def test_billion_laughs() -> None:
    started = time.perf_counter()
    rejected("XML_HOSTILE", parse_xml, BILLION_LAUGHS)
    assert time.perf_counter() - started < 1.0


def test_external_entity() -> None:
    exc = rejected("XML_HOSTILE", parse_xml, XXE)
    assert "DTD" in exc.message


def test_doctype_in_utf16() -> None:
    rejected(
        "XML_HOSTILE",
        parse_xml,
        XXE.decode().replace("UTF-8", "UTF-16").encode("utf-16"),
    )


def test_ucs4_is_refused() -> None:
    rejected("XML_MALFORMED", parse_xml, "<a/>".encode("utf-32-be"))


def test_hostile_content_types_in_package(docx_bytes: bytes) -> None:
    data = rezip(docx_bytes, replace={"[Content_Types].xml": XXE})
    rejected("XML_HOSTILE", sniff, data, "a.docx")


def test_hostile_document_part_via_reading_layer(docx_bytes: bytes) -> None:
    data = rezip(docx_bytes, replace={"word/document.xml": BILLION_LAUGHS})
    rejected("XML_HOSTILE", sniff, data, "a.docx")  # every XML part is scanned as sniff verifies it
    with open_package(data) as zf:  # and the reading layer refuses it on its own
        rejected(
            "XML_HOSTILE", parse_xml, read_member(zf, "word/document.xml", Limits())
        )


@pytest.mark.parametrize(
    "payload", [b"<a><b></a>", b"", b"not xml", b"<a>&undefined;</a>"]
)
def test_malformed_xml(payload: bytes) -> None:
    rejected("XML_MALFORMED", parse_xml, payload)


def test_xml_size_limit() -> None:
    rejected(
        "XML_TOO_LARGE",
        parse_xml,
        b"<a>" + b"x" * 200 + b"</a>",
        Limits(max_xml_bytes=100),
    )


def test_parse_xml_accepts_ooxml_and_utf16() -> None:
    root = parse_xml(
        '<?xml version="1.0" encoding="UTF-16"?><r>中文</r>'.encode("utf-16")
    )
    assert root.text == "中文"


def test_parse_xml_rejects_text() -> None:
    with pytest.raises(TypeError):
        parse_xml("<a/>")  # type: ignore[arg-type]


def test_parser_is_cached_per_thread() -> None:
    main_parser = office_xml._xml_parser()
    assert office_xml._xml_parser() is main_parser

    def work(i: int) -> tuple[int, int]:
        root = parse_xml(f"<r><v>{i}</v></r>".encode())
        return int(root[0].text), id(office_xml._xml_parser())

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(work, range(200)))
    assert [value for value, _ in results] == list(range(200))
    assert id(main_parser) not in {parser_id for _, parser_id in results}
    assert threading.current_thread() is threading.main_thread()


# ---------------------------------------------------------------------------
# catalogue and exception
# ---------------------------------------------------------------------------

EXPECTED_CODES = {
    "FILE_EMPTY",
    "FILE_TOO_LARGE",
    "FILE_ENCRYPTED",
    "FILE_MACRO",
    "FILE_IMAGE_OR_PDF",
    "FILE_NOT_OFFICE",
    "FILE_UNSUPPORTED",
    "ZIP_CORRUPT",
    "ZIP_BOMB",
    "ZIP_UNSAFE_PATH",
    "OOXML_INVALID",
    "OLE_CORRUPT",
    "RTF_CORRUPT",
    "SHEET_TOO_LARGE",
    "XML_HOSTILE",
    "XML_MALFORMED",
    "XML_TOO_LARGE",
    "PDF_CORRUPT",
    "PDF_TOO_MANY_PAGES",
    "PDF_PAGE_TOO_LARGE",
    "PDF_UNSAFE",
    "PICTURE_CORRUPT",
    "PICTURE_TOO_LARGE",
    "SCAN_TIMEOUT",
}


def test_catalogue_documents_every_code() -> None:
    assert set(CATALOGUE) == EXPECTED_CODES
    for code, entry in CATALOGUE.items():
        assert set(entry) == {"title", "message", "http_status"}, code
        assert CHINESE.search(entry["title"]) and CHINESE.search(entry["message"]), code
        assert 400 <= entry["http_status"] < 500, code
        assert "请" in entry["message"], f"{code} message must say how to fix it"


def test_every_raised_code_is_catalogued() -> None:
    office = Path(sniff_module.__file__).parent
    source = "".join(path.read_text(encoding="utf-8") for path in office.rglob("*.py"))
    raised = set(re.findall(r'InputRejected\(\s*"([A-Z_]+)"', source))
    assert raised and raised <= set(CATALOGUE)


def test_input_rejected_contract() -> None:
    exc = InputRejected("FILE_ENCRYPTED", detail={"container": "ole"})
    assert exc.message == CATALOGUE["FILE_ENCRYPTED"]["message"]
    assert exc.to_dict()["code"] == "FILE_ENCRYPTED"
    assert exc.title == "文件已加密"
    clone = pickle.loads(pickle.dumps(exc))
    assert (clone.code, clone.message, clone.detail) == (
        exc.code,
        exc.message,
        exc.detail,
    )
    with pytest.raises(ValueError):
        InputRejected("NOT_A_CODE")


def test_limits_are_frozen_and_validated() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Limits().max_ratio = 5  # type: ignore[misc]
    with pytest.raises(ValueError):
        Limits(max_entry_bytes=0)
    assert dataclasses.replace(Limits(), max_ratio=10).max_ratio == 10
