"""Tests for the supervised LibreOffice converter, against a real LibreOffice (no mocks).

Inputs in legacy formats (.doc/.xls/.odt/.ods) are produced by LibreOffice
itself, through the worker's JSON-lines protocol with explicit export filters,
from .docx/.xlsx files written with python-docx/openpyxl.  One converter is
shared per module so soffice starts only a few times.
"""

from __future__ import annotations

import glob
import io
import json
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import threading
import time
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import docx
import openpyxl
import pytest
from msoffcrypto.format.ooxml import OOXMLFile

from service.office.convert.client import Converter, get_converter, shutdown_converter
from service.office.convert.process import WORKER_SCRIPT
from service.office.convert.protocol import (
    CONVERT_FAILED,
    CONVERT_TIMEOUT,
    CONVERT_UNAVAILABLE,
    CONVERT_UNSUPPORTED,
    ConversionError,
)

TEXT = "示范性职业教育集团"
NUMBER = 42
CJK = re.compile(r"[\u4e00-\u9fff]")

UNO_PYTHON = os.environ.get("UNO_PYTHON") or "/usr/bin/python3"
SOFFICE = os.environ.get("SOFFICE_BIN") or shutil.which("soffice")


def _uno_available() -> bool:
    if not SOFFICE or not os.path.exists(UNO_PYTHON):
        return False
    probe = subprocess.run(
        [UNO_PYTHON, "-I", "-c", "import uno"], capture_output=True, check=False
    )
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(
    not _uno_available(), reason="LibreOffice + python3-uno not installed"
)


# -- helpers -------------------------------------------------------------------


def _group_alive(pgid: int) -> bool:
    """True if any non-zombie process is still in process group ``pgid``."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text(errors="replace")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def _wait_gone(pgid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _group_alive(pgid):
            return True
        time.sleep(0.05)
    return False


def _docx_text(data: bytes) -> str:
    return "\n".join(p.text for p in docx.Document(io.BytesIO(data)).paragraphs)


def _xlsx_cells(data: bytes) -> tuple[object, object]:
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    return sheet["A1"].value, sheet["B2"].value


def _pdf_text(data: bytes, tmp_path: Path) -> str:
    """pdftotext output, NFKC-normalised: CJK fonts may map to compatibility code points."""
    pdf = tmp_path / "out.pdf"
    pdf.write_bytes(data)
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"],
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8")
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", out))


def _start_worker() -> tuple[subprocess.Popen[bytes], int]:
    """Start convert_worker.py directly; return it and its soffice pid once ready."""
    proc = subprocess.Popen(
        [UNO_PYTHON, "-I", str(WORKER_SCRIPT), "--connect-timeout", "60"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    assert proc.stdout is not None
    soffice_pid = 0
    for raw in proc.stdout:
        message = json.loads(raw)
        if message.get("event") == "spawned":
            soffice_pid = message["soffice_pid"]
        elif message.get("event") == "ready":
            return proc, soffice_pid
        else:
            break
    proc.kill()
    pytest.fail(f"worker did not become ready: {message}")


# -- fixtures --------------------------------------------------------------------


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """.docx/.xlsx from python-docx/openpyxl, plus .doc/.xls/.odt/.ods made by LibreOffice.

    Also checks the worker protocol itself: explicit filters, one answer per
    request, and that stdin EOF ends the worker *and* its soffice.
    """
    tmp = tmp_path_factory.mktemp("samples")
    document = docx.Document()
    document.add_paragraph(TEXT)
    document.save(tmp / "a.docx")
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = TEXT
    workbook.active["B2"] = NUMBER
    workbook.save(tmp / "a.xlsx")

    jobs = [
        ("a.docx", "a.doc", "MS Word 97"),
        ("a.xlsx", "a.xls", "MS Excel 97"),
        ("a.docx", "a.odt", "writer8"),
        ("a.xlsx", "a.ods", "calc8"),
    ]
    requests = "".join(
        json.dumps({"src": str(tmp / s), "dst": str(tmp / d), "filter": f}) + "\n"
        for s, d, f in jobs
    )
    proc = subprocess.Popen(
        [UNO_PYTHON, "-I", str(WORKER_SCRIPT)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        stdout, _ = proc.communicate(requests.encode(), timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    messages = [json.loads(line) for line in stdout.splitlines()]
    assert messages[0]["event"] == "spawned"
    assert messages[1]["event"] == "ready"
    replies = messages[2:]
    assert [r["ok"] for r in replies] == [True] * len(jobs), replies
    assert proc.returncode == 0
    assert _wait_gone(messages[0]["soffice_pid"]), "soffice survived worker EOF"
    for path in messages[1]["sockets"]:
        assert not os.path.exists(path), f"leftover pipe {path}"

    names = ["a.docx", "a.xlsx", "a.doc", "a.xls", "a.odt", "a.ods"]
    return {Path(n).suffix: (tmp / n).read_bytes() for n in names}


@pytest.fixture(scope="module")
def converter() -> Iterator[Converter]:
    conv = Converter(workers=1, timeout=60)
    conv.start()
    yield conv
    conv.shutdown()


# -- happy paths -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "ext"),
    [(".doc", ".doc"), (".doc", ".wps"), (".odt", ".odt"), (".docx", ".docx")],
)
def test_text_documents_to_docx(
    converter: Converter, samples: dict[str, bytes], fmt: str, ext: str
) -> None:
    # .wps is a .doc renamed: LibreOffice detects the format by content.
    out = converter.convert(samples[fmt], ext, "docx")
    assert TEXT in _docx_text(out)


def test_rtf_to_docx(converter: Converter) -> None:
    escaped = "".join(f"\\u{ord(ch)}?" for ch in TEXT)
    rtf = "{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 SimSun;}}\\f0 " + escaped + "\\par}"
    out = converter.convert(rtf.encode("ascii"), ".RTF", "docx")
    assert TEXT in _docx_text(out)


@pytest.mark.parametrize(
    ("fmt", "ext"),
    [(".xls", ".xls"), (".xls", ".et"), (".ods", ".ods"), (".xlsx", ".xlsx")],
)
def test_spreadsheets_to_xlsx(
    converter: Converter, samples: dict[str, bytes], fmt: str, ext: str
) -> None:
    # .et is an .xls renamed.
    out = converter.convert(samples[fmt], ext, "xlsx")
    text, number = _xlsx_cells(out)
    assert text == TEXT
    assert number == NUMBER


@pytest.mark.parametrize("fmt", [".docx", ".xls"])
def test_to_pdf(
    converter: Converter, samples: dict[str, bytes], fmt: str, tmp_path: Path
) -> None:
    out = converter.convert(samples[fmt], fmt, "pdf")
    assert out.startswith(b"%PDF")
    assert TEXT in _pdf_text(out, tmp_path)


def test_reuses_one_worker_process(
    converter: Converter, samples: dict[str, bytes]
) -> None:
    """20 files through one long-lived LibreOffice, not a process per file."""
    converter.convert(samples[".doc"], ".doc", "docx")  # make sure a worker is up
    before = converter.workers()[0]
    starts = converter.worker_starts
    for _ in range(20):
        assert TEXT in _docx_text(converter.convert(samples[".doc"], ".doc", "docx"))
    after = converter.workers()[0]
    assert (after.pid, after.soffice_pid) == (before.pid, before.soffice_pid)
    assert after.conversions == before.conversions + 20
    assert converter.worker_starts == starts


# -- failures ----------------------------------------------------------------------


def test_garbage_fails_cleanly_and_next_file_converts(
    converter: Converter, samples: dict[str, bytes]
) -> None:
    garbage = random.Random(0).randbytes(4096)
    with pytest.raises(ConversionError) as info:
        converter.convert(garbage, ".doc", "docx")
    assert info.value.code == CONVERT_FAILED
    assert CJK.search(info.value.message)
    assert "LibreOffice" in info.value.message
    assert TEXT in _docx_text(converter.convert(samples[".doc"], ".doc", "docx"))


def test_empty_file(converter: Converter) -> None:
    with pytest.raises(ConversionError) as info:
        converter.convert(b"", ".xls", "xlsx")
    assert info.value.code == CONVERT_FAILED
    assert ".xlsx" in info.value.message


def test_encrypted_file_fails_fast(
    converter: Converter, samples: dict[str, bytes]
) -> None:
    """No password prompt can hang a headless LibreOffice: it fails and the worker survives."""
    encrypted = io.BytesIO()
    OOXMLFile(io.BytesIO(samples[".xlsx"])).encrypt("secret", encrypted)
    converter.convert(samples[".xls"], ".xls", "xlsx")
    pid = converter.workers()[0].pid
    started = time.monotonic()
    with pytest.raises(ConversionError) as info:
        converter.convert(encrypted.getvalue(), ".xlsx", "xlsx")
    assert info.value.code == CONVERT_FAILED
    assert "加密" in info.value.message
    assert time.monotonic() - started < 10
    assert converter.workers()[0].pid == pid


@pytest.mark.parametrize(
    ("ext", "target"),
    [(".pdf", "docx"), (".doc", "pptx"), (".xls", "docx"), (".doc", "xlsx")],
)
def test_unsupported_combinations(converter: Converter, ext: str, target: str) -> None:
    with pytest.raises(ConversionError) as info:
        converter.convert(b"whatever", ext, target)
    assert info.value.code == CONVERT_UNSUPPORTED
    assert CJK.search(info.value.message)


def test_content_type_mismatch(converter: Converter, samples: dict[str, bytes]) -> None:
    """A spreadsheet uploaded as .doc cannot become a .docx."""
    with pytest.raises(ConversionError) as info:
        converter.convert(samples[".xls"], ".doc", "docx")
    assert info.value.code == CONVERT_UNSUPPORTED
    assert TEXT in _docx_text(converter.convert(samples[".doc"], ".doc", "docx"))


def test_timeout_kills_worker_and_next_file_converts(
    converter: Converter, samples: dict[str, bytes]
) -> None:
    converter.convert(samples[".doc"], ".doc", "docx")
    old = converter.workers()[0]
    with pytest.raises(ConversionError) as info:
        converter.convert(samples[".doc"], ".doc", "docx", timeout=0.001)
    assert info.value.code == CONVERT_TIMEOUT
    assert CJK.search(info.value.message)
    assert _wait_gone(old.pid) and _wait_gone(old.soffice_pid)

    assert TEXT in _docx_text(converter.convert(samples[".doc"], ".doc", "docx"))
    new = converter.workers()[0]
    assert new.pid != old.pid
    assert new.generation > old.generation


def test_hung_soffice_is_killed_and_replaced(
    converter: Converter, samples: dict[str, bytes]
) -> None:
    """A frozen LibreOffice (SIGSTOP) costs one file a CONVERT_TIMEOUT, nothing more."""
    converter.convert(samples[".doc"], ".doc", "docx")
    old = converter.workers()[0]
    os.killpg(old.soffice_pid, signal.SIGSTOP)
    with pytest.raises(ConversionError) as info:
        converter.convert(samples[".doc"], ".doc", "docx", timeout=2)
    assert info.value.code == CONVERT_TIMEOUT
    assert _wait_gone(old.pid) and _wait_gone(old.soffice_pid)
    assert TEXT in _docx_text(converter.convert(samples[".doc"], ".doc", "docx"))


def test_dead_soffice_is_replaced_before_use(
    converter: Converter, samples: dict[str, bytes]
) -> None:
    converter.convert(samples[".doc"], ".doc", "docx")
    old = converter.workers()[0]
    os.killpg(old.soffice_pid, signal.SIGKILL)
    assert _wait_gone(old.soffice_pid)
    # No ConversionError: the health check / stale retry restarts the worker.
    assert TEXT in _docx_text(converter.convert(samples[".doc"], ".doc", "docx"))
    assert converter.workers()[0].pid != old.pid


# -- pool, recycling, lifecycle ---------------------------------------------------


def test_concurrent_pool_recycles_and_shuts_down(samples: dict[str, bytes]) -> None:
    conv = Converter(workers=2, max_jobs_per_worker=2, timeout=60)
    results: list[bytes] = []
    errors: list[BaseException] = []
    seen: set[tuple[int, int]] = set()

    def run() -> None:
        try:
            for _ in range(2):
                results.append(conv.convert(samples[".doc"], ".doc", "docx"))
                seen.update(
                    (w.pid, w.soffice_pid)
                    for w in conv.workers()
                    if w.pid and w.soffice_pid
                )
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            errors.append(exc)

    try:
        threads = [threading.Thread(target=run) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors, errors
        assert len(results) == 6
        assert all(TEXT in _docx_text(out) for out in results)
        # 6 files, 2 workers, at most 2 files each: at least one recycle happened.
        assert conv.worker_starts >= 3
        assert all(w.conversions <= 2 for w in conv.workers())
        seen.update(
            (w.pid, w.soffice_pid) for w in conv.workers() if w.pid and w.soffice_pid
        )
    finally:
        conv.shutdown()
    root = conv.pool.root
    for pid, soffice_pid in seen:
        assert _wait_gone(pid) and _wait_gone(soffice_pid)
        assert not glob.glob(f"/tmp/OSL_PIPE_{os.getuid()}_docconv_{pid}_*")
    assert not root.exists()
    with pytest.raises(ConversionError) as info:
        conv.convert(samples[".doc"], ".doc", "docx")
    assert info.value.code == CONVERT_UNAVAILABLE


def test_worker_exits_on_sigterm_and_kills_soffice() -> None:
    proc, soffice_pid = _start_worker()
    assert _group_alive(soffice_pid)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 0
    assert _wait_gone(soffice_pid)


def test_get_converter_is_a_lazy_singleton() -> None:
    shutdown_converter()  # other modules' tests may have used (and started) the process-wide one
    first = get_converter()
    try:
        assert get_converter() is first
        assert all(w.pid is None for w in first.workers())  # nothing started yet
    finally:
        shutdown_converter()
    assert get_converter() is not first
    shutdown_converter()


# -- no network ----------------------------------------------------------------------


class _Hits(threading.Thread):
    """A local web server that counts every request: what a linked image would make LibreOffice fetch."""

    def __init__(self) -> None:
        import http.server

        hits = self.hits = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                hits.append(self.path)
                self.send_response(404)
                self.end_headers()

            do_HEAD = do_PROPFIND = do_OPTIONS = do_GET

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        super().__init__(target=self.server.serve_forever, daemon=True)


def _odt_linking(url: str) -> bytes:
    content = f"""<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"
 xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"
 office:version="1.2"><office:body><office:text><text:p>{TEXT}<draw:frame draw:name="i" svg:width="2cm"
 svg:height="2cm" text:anchor-type="as-char"><draw:image xlink:href="{url}/odt.png" xlink:type="simple"
 xlink:show="embed" xlink:actuate="onLoad"/></draw:frame></text:p></office:text></office:body></office:document-content>"""
    manifest = """<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
        zf.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
        zf.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _docx_linking(url: str) -> bytes:
    """A .docx whose picture is linked (r:link, TargetMode External), not embedded."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))
    document = docx.Document()
    document.add_paragraph(TEXT)
    document.add_picture(io.BytesIO(png))
    buf = io.BytesIO()
    document.save(buf)
    parts = {}
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
        for name in zf.namelist():
            parts[name] = zf.read(name)
    parts["word/document.xml"] = parts["word/document.xml"].replace(b"r:embed=", b"r:link=")
    rels = parts["word/_rels/document.xml.rels"].decode()
    rels = re.sub(r'Target="media/[^"]+"', f'Target="{url}/docx.png" TargetMode="External"', rels)
    parts["word/_rels/document.xml.rels"] = rels.encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return out.getvalue()


def test_linked_images_are_never_fetched(converter: Converter) -> None:
    """A document can link a picture by URL; converting it must not make the server fetch it (SSRF)."""
    server = _Hits()
    server.start()
    try:
        assert TEXT in _docx_text(converter.convert(_odt_linking(server.url), ".odt", "docx"))
        assert converter.convert(_docx_linking(server.url), ".docx", "pdf").startswith(b"%PDF")
        time.sleep(0.5)
        assert server.hits == []
    finally:
        server.server.shutdown()


def test_a_document_built_to_exhaust_memory_fails_within_the_heap_limit(
    converter: Converter, samples: dict[str, bytes]
) -> None:
    """Two million nested RTF groups took LibreOffice 4.6 GB; under the worker's heap limit it fails fast."""
    bomb = b"{\\rtf1\\ansi " + b"{" * 2_000_000 + b"x" + b"}" * 2_000_000 + b"}"
    converter.convert(samples[".doc"], ".doc", "docx")
    old = converter.workers()[0]
    started = time.monotonic()
    with pytest.raises(ConversionError) as info:
        converter.convert(bomb, ".rtf", "docx")
    assert info.value.code != CONVERT_TIMEOUT, "the heap limit, not the timeout, must stop it"
    assert CJK.search(info.value.message) and time.monotonic() - started < 45
    # The exhausted LibreOffice is replaced: the next file (an innocent one) converts on a fresh one.
    assert TEXT in _docx_text(converter.convert(samples[".doc"], ".doc", "docx"))
    assert converter.workers()[0].generation > old.generation
