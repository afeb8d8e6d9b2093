"""The 资料汇编: one PDF for the expert panel with a cover, contents, bookmarks and every submitted document.

One store is filed once for the module (LibreOffice conversions cost ~0.5 s each) and compiled once per campaign.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import struct
import subprocess
import time
import zlib
from pathlib import Path

import docx
import pytest
from pypdf import PdfReader
from sqlalchemy import select

from service import create_app
from service.actions.intake import receive
from service.outputs.dossier import CompileError, build_compilation, compile_pdf, image_pdf
from service.outputs.pdf import available_engines
from service.render.form import render
from service.store.models import AuditEntry
from tests.support.records import letter_for
from tests.support.samples import new_store, pdf_text, sample

ON_TIME = dt.datetime(2020, 11, 20, 10, tzinfo=dt.UTC)
SHIHUA, YIYAO = (row["group_name"] for row in sample("summary_table")["rows"])
DALIAN_ROW = {"rank": 1, "group_name": "大连滨海旅游职业教育联盟", "lead_units": "大连职业技术学院", "founded": "2014-03",
              "member_count": 40, "legal_person": "否", "contact_name": "赵强", "contact_phone": "0411-84830001"}
LETTER = "示范性职业教育集团（联盟）推荐书"
SUMMARY = "示范性职业教育集团（联盟）推荐名单汇总表"
WORK_SUMMARY = "省级示范性职业教育集团办学工作总结"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int, height: int) -> bytes:
    """A gradient PNG (a stand-in for a scan) written without an imaging library."""
    raw = b"".join(b"\x00" + b"".join(bytes((x * 255 // width, y * 255 // height, 160)) for x in range(width))
                   for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b""))


SCAN = png(240, 340)
BROKEN_PNG = SCAN[:33] + _chunk(b"IDAT", b"not deflate data" * 8) + _chunk(b"IEND", b"")
BROKEN_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer garbage"


def policy_docx() -> bytes:
    doc = docx.Document()
    doc.add_heading("辽宁装备制造职教集团章程", 1)
    doc.add_paragraph("第一条　本集团由沈阳职业技术学院和辽宁装备制造职业技术学院共同牵头组建。")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def filed(tmp_path_factory):
    """辽宁 (汇总表 with a scan, two 推荐书 filed in reverse rank order, broken attachments), 大连, and ln-08."""
    tmp = tmp_path_factory.mktemp("compile")
    store = new_store(tmp)
    summary = sample("summary_table")
    first, second = summary["rows"]
    dalian = dict(summary, recommender="大连市教育局", recommender_type="计划单列市教育行政部门", rows=[DALIAN_ROW])
    jth = [  # (recommender, form, record, file name, attachments) in the order they arrive
        ("city-dl", "recommendation_letter", letter_for(DALIAN_ROW, "大连市教育局", "计划单列市教育行政部门"), "大连推荐书.docx", []),
        ("city-dl", "summary_table", dalian, "大连汇总表.xlsx", []),
        ("edu-ln", "recommendation_letter", letter_for(second, "辽宁省教育厅", "省级教育行政部门"), "医药推荐书.docx",
         [("stamped_scan", "医药盖章页.pdf", BROKEN_PDF)]),
        ("edu-ln", "recommendation_letter", letter_for(first, "辽宁省教育厅", "省级教育行政部门"), "石化推荐书.docx",
         [("stamped_scan", "石化盖章页.png", SCAN), ("stamped_scan", "模糊照片.png", BROKEN_PNG)]),
        ("edu-ln", "summary_table", summary, "辽宁汇总表.xlsx", []),
    ]
    for recommender, form_id, record, name, attachments in jth:
        received = receive(store, render("jth-2020", form_id, record).content, name, campaign_id="jth-2020",
                           recommender_id=recommender, uploader="t", received_at=ON_TIME, attachments=attachments)
        assert received.status == "accepted" or name.startswith("大连"), received.to_dict()
    received = receive(store, render("ln-2018", "work_summary", sample("work_summary")).content, "工作总结.docx",
                       campaign_id="ln-2018", recommender_id="ln-08", uploader="t",
                       received_at=dt.datetime(2018, 6, 1, tzinfo=dt.UTC),
                       attachments=[("policy_documents", "集团章程.docx", policy_docx()),
                                    ("policy_documents", "损坏的文件.docx", b"PK\x03\x04 this is not a zip")])
    assert received.status == "accepted", received.to_dict()
    yield store
    store.dispose()


@pytest.fixture(scope="module", params=available_engines())
def national(request, filed, tmp_path_factory):
    """The whole jth-2020 compilation, written to a file, once with each HTML → PDF engine this machine has."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JTH_PDF_ENGINE", request.param)
        result = build_compilation(filed, "jth-2020", actor="专家组秘书", today=dt.date(2020, 11, 25))
    path = tmp_path_factory.mktemp("out") / f"资料汇编-{request.param}.pdf"
    path.write_bytes(result.pdf)
    return result, path


def outline(reader: PdfReader) -> list[tuple[int, str, int]]:
    """(level, title, 1-based page) of every bookmark, in order."""
    out: list[tuple[int, str, int]] = []

    def walk(items, level: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, level + 1)
            else:
                out.append((level, item.title, reader.get_destination_page_number(item) + 1))

    walk(reader.outline, 0)
    return out


def page_text(path: Path, page: int) -> str:
    """pdftotext of one page as it is (no normalization: the text must search as the ideographs it shows)."""
    return subprocess.run(["pdftotext", "-layout", "-f", str(page), "-l", str(page), str(path), "-"], check=True,
                          capture_output=True).stdout.decode()


def test_one_pdf_with_cover_contents_and_every_document(national):
    result, path = national
    reader = PdfReader(path)
    assert len(reader.pages) == result.pages and result.documents == 8  # 5 forms + 3 attachments
    assert all(round(float(p.mediabox.width)) in (595, 842) for p in reader.pages)  # A4, some landscape
    cover = page_text(path, 1)
    assert "资 料 汇 编" in cover or "资料汇编" in cover.replace(" ", "")
    assert "第二批示范性职业教育集团（联盟）培育单位推荐" in cover.replace(" ", "") and "教职成司函〔2020〕33号" in cover
    assert "全部推荐单位（2 个）" in cover and "2020年11月25日" in cover
    assert "目" in page_text(path, 2) and "录" in page_text(path, 2)
    text = pdf_text(path)
    for expected in (SHIHUA, YIYAO, DALIAN_ROW["group_name"], "辽宁省教育厅", "大连市教育局",
                     "服务辽宁石油化工产业转型升级与沿海经济带建设", "推荐名单汇总表"):
        assert expected in text.replace(" ", ""), expected
    assert "\ufffd" not in text


def test_bookmarks_name_recommenders_documents_and_attachments_in_order(national):
    _, path = national
    marks = [(level, title) for level, title, _ in outline(PdfReader(path))]
    # 辽宁 before 大连 (reference-list order, not arrival); 汇总表 first, then 推荐书 by 推荐排序.
    assert marks == [
        (0, "辽宁省教育厅"),
        (1, SUMMARY),
        (1, f"{LETTER}：{SHIHUA}"),
        (2, "盖章扫描件：石化盖章页.png"),
        (2, "盖章扫描件：模糊照片.png"),
        (1, f"{LETTER}：{YIYAO}"),
        (2, "盖章扫描件：医药盖章页.pdf"),
        (0, "大连市教育局"),
        (1, SUMMARY),
        (1, f"{LETTER}：{DALIAN_ROW['group_name']}"),
    ]


def test_contents_page_numbers_are_the_pages_the_bookmarks_open(national):
    _, path = national
    marks = outline(PdfReader(path))
    first_document = marks[0][2]
    toc = "\n".join(page_text(path, p) for p in range(2, first_document))
    # A document's line: title, status, page; a recommender's or an attachment's: title, page.
    pattern = r"^(.*?)(?:\s+(通过|需人工复核|逾期|退回修改))?\s+(\d+)\s*$"
    entries = [(m.group(1).strip(), int(m.group(3))) for m in re.finditer(pattern, toc, re.M)]
    assert [page for _, page in entries] == [page for _, _, page in marks]
    statuses = [m.group(2) for m in re.finditer(pattern, toc, re.M)]
    # Every document here is accepted (the other statuses: test_dossier_review).
    assert [status for status, (level, _, _) in zip(statuses, marks, strict=True) if level == 1] == ["通过"] * 5
    for (line, _), (_, title, _) in zip(entries, marks, strict=True):
        # A 推荐书's line ends with its group (the form title is the line above).
        assert re.sub(r"^[一二三四五六七八九十]+、", "", line.replace(" ", "")) in title
    # And the pages hold what the bookmarks say.
    for level, title, page in marks:
        text = page_text(path, page).replace(" ", "")
        if level == 0 or title == SUMMARY:
            assert "汇总表" in text
        elif title.startswith(LETTER):
            assert title.split("：")[1] in text and "推荐书" in text
    assert page_text(path, marks[0][2]).replace(" ", "").count("辽宁省教育厅") >= 1


def test_every_page_but_the_cover_shows_its_number_in_the_whole_pdf(national):
    """Scans, notices, landscape tables and converted forms alike: the documents' own "— 1 —" are gone."""
    _, path = national
    numbers = [re.findall(r"—[ ]*(\d+)[ ]*—", page_text(path, n)) for n in range(1, len(PdfReader(path).pages) + 1)]
    assert numbers == [[]] + [[str(n)] for n in range(2, len(numbers) + 1)]


def test_every_font_is_embedded_and_chinese_is_extractable(national):
    _, path = national
    lines = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True).stdout.splitlines()[2:]
    assert lines and all(line.split()[-5] == "yes" for line in lines), "\n".join(lines)
    text = pdf_text(path).replace(" ", "")
    assert "集团名称" in text and "联系电话" in text and "本材料未能收入汇编" in text
    # Searchable as written: no page extracts 页 as the radical ⻚ or 示 as ⽰ (Noto CJK shares those glyphs).
    raw = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True).stdout.decode()
    assert not [c for c in raw if "\u2e80" <= c <= "\u2fdf"]
    assert "盖章页" in raw.replace(" ", "") and "示范性职业教育集团" in raw and "目" in raw


def test_broken_attachments_become_placeholder_pages(national):
    result, path = national
    assert {(f["name"], f["reason"]) for f in result.failures} == {
        ("医药盖章页.pdf", "PDF 文件已损坏，无法读取"), ("模糊照片.png", "图片已损坏，无法显示")}
    pages = {title: page for _, title, page in outline(PdfReader(path))}
    for name in ("医药盖章页.pdf", "模糊照片.png"):
        text = re.sub(r"\s", "", page_text(path, pages[f"盖章扫描件：{name}"]))
        assert "本材料未能收入汇编" in text and name in text and "请在平台上查阅原件" in text
    # The scan that could be read is an image on its own A4 page.
    scan = PdfReader(path).pages[pages["盖章扫描件：石化盖章页.png"] - 1]
    assert (round(float(scan.mediabox.width)), round(float(scan.mediabox.height))) == (595, 842)
    images = [x.get_object() for x in scan["/Resources"]["/XObject"].values()]
    assert any(i["/Subtype"] == "/Image" and (i["/Width"], i["/Height"]) == (240, 340) for i in images)


def test_a_group_campaign_compiles_with_converted_word_attachments(filed, tmp_path):
    result = build_compilation(filed, "ln-2018", today=dt.date(2018, 6, 8))
    path = tmp_path / "工作总结汇编.pdf"
    path.write_bytes(result.pdf)
    marks = outline(PdfReader(path))
    assert [(level, title) for level, title, _ in marks] == [
        (0, "辽宁装备制造职教集团"), (1, WORK_SUMMARY), (2, "职教集团成立以来出台的政策文件：集团章程.docx"),
        (2, "职教集团成立以来出台的政策文件：损坏的文件.docx")]
    pages = {title: page for _, title, page in marks}
    assert "本集团由沈阳职业技术学院" in page_text(path, pages["职教集团成立以来出台的政策文件：集团章程.docx"]).replace(" ", "")
    broken = re.sub(r"\s", "", page_text(path, pages["职教集团成立以来出台的政策文件：损坏的文件.docx"]))
    assert "本材料未能收入汇编" in broken and "损坏的文件.docx" in broken
    assert "报送单位" in page_text(path, 1)


def test_cli_compiles_one_recommender_and_audits_it(filed, tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": filed.url,
                      "FILE_STORE": str(filed.files.root)})
    app.extensions["jth_store"] = filed
    runner = app.test_cli_runner()
    out = tmp_path / "汇编" / "大连.pdf"
    result = runner.invoke(args=["compile", "--campaign", "jth-2020", "--recommender", "city-dl", "-o", str(out),
                                 "--by", "刘晏苹"])
    assert result.exit_code == 0, result.output
    assert "已生成资料汇编" in result.output and re.search(r"2 份材料，共 \d+ 页", result.output)
    reader = PdfReader(out)
    assert [title for level, title, _ in outline(reader) if level == 0] == ["大连市教育局"]
    assert "推荐单位：大连市教育局" in page_text(out, 1).replace(" ", "")

    result = runner.invoke(args=["compile", "--campaign", "jth-2020", "--recommender", "edu-xx", "-o", str(out)])
    assert result.exit_code != 0 and "没有编号 edu-xx" in result.output
    with pytest.raises(CompileError, match="没有可汇编的材料"):
        compile_pdf(filed, "jth-2020", "edu-bj")
    with filed.session() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "compile", AuditEntry.actor == "刘晏苹")).one()
    assert entry.target == "campaign:jth-2020" and entry.detail["recommender"] == "city-dl"
    assert entry.detail["documents"] == 2 and entry.detail["failures"] == []


@pytest.fixture(scope="module")
def admin_site(filed):
    """The web app on the filed store, and a client logged in as an administrator."""
    from service.store.auth import create_user

    store = filed
    with store.session.begin() as s:
        create_user(s, "秘书处", "correct-horse-9", "admin")
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False, "DATABASE_URL": store.url,
                      "FILE_STORE": str(store.files.root)})
    app.extensions["jth_store"] = store
    client = app.test_client()
    assert client.post("/login", data={"username": "秘书处", "password": "correct-horse-9"}).status_code == 302
    yield app, client
    if "jth_jobs" in app.extensions:
        app.extensions["jth_jobs"].queue.join()


def _finished(client, url: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(url, headers={"Accept": "application/json"}).get_json()
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job at {url} did not finish: {job}")


def test_the_web_compiles_in_a_background_job_with_progress_and_a_download(filed, admin_site):
    """A whole campaign's conversion outlasts a request: the admin starts a job, watches it, downloads the PDF."""
    app, client = admin_site
    started = client.post("/admin/compile", data={"campaign": "jth-2020", "recommender": "edu-ln"})
    assert started.status_code == 302 and re.search(r"/admin/jobs/\d+$", started.headers["Location"])
    job = _finished(client, started.headers["Location"])
    app.extensions["jth_jobs"].queue.join()
    assert job["kind"] == "compile" and job["state"] == "done", job
    assert job["done"] == job["total"] == 6  # 汇总表, two 推荐书 and their three attachments
    report = job["compilation"]
    assert sorted(f["name"] for f in report["failures"]) == ["医药盖章页.pdf", "模糊照片.png"]

    page = client.get(started.headers["Location"]).get_data(as_text=True)
    assert "资料汇编任务" in page and "已完成" in page and "下载资料汇编 PDF" in page and "医药盖章页.pdf" in page
    pdf = client.get(started.headers["Location"] + "/result")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert "filename*=UTF-8''jth-2020-" in pdf.headers["Content-Disposition"]
    reader = PdfReader(io.BytesIO(pdf.data))
    assert len(reader.pages) == report["pages"]
    assert [title for level, title, _ in outline(reader) if level == 0] == ["辽宁省教育厅"]
    assert f"/admin/jobs/{job['id']}" in client.get("/admin/exports").get_data(as_text=True)
    with filed.session() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "export", AuditEntry.actor == "秘书处")).one()
    assert entry.detail["kind"] == "pdf" and entry.detail["job"] == job["id"]


def test_a_compile_job_with_nothing_to_compile_fails_with_the_reason(admin_site):
    app, client = admin_site
    started = client.post("/admin/compile", data={"campaign": "jth-2020", "recommender": "edu-bj"})
    job = _finished(client, started.headers["Location"])
    app.extensions["jth_jobs"].queue.join()
    assert job["state"] == "failed" and "没有可汇编的材料" in job["compilation"]["error"]
    assert "没有可汇编的材料" in client.get(started.headers["Location"]).get_data(as_text=True)
    assert client.get(started.headers["Location"] + "/result").status_code == 404
    assert client.post("/admin/compile", data={"campaign": "jth-2020", "recommender": "edu-xx"}).status_code == 400


A4 = (595, 842)  # points


def _picture(fmt: str, size: tuple[int, int] = (300, 420), **save) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(out, fmt, **save)
    return out.getvalue()


def _image_pages(pdf: bytes) -> tuple[list[tuple[int, int]], set[tuple[int, int]]]:
    """The size of each page in points, and the pixel sizes of the images the PDF embeds."""
    pages = PdfReader(io.BytesIO(pdf)).pages
    images = {(int(x["/Width"]), int(x["/Height"])) for page in pages
              for x in (r.get_object() for r in page["/Resources"]["/XObject"].values()) if x["/Subtype"] == "/Image"}
    return [(round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in pages], images


@pytest.mark.parametrize("engine", available_engines())
@pytest.mark.parametrize("fmt", ["TIFF", "WEBP", "BMP", "GIF", "JPEG", "PNG"])
def test_every_common_picture_format_is_embedded_on_an_a4_page(fmt, engine, monkeypatch):
    monkeypatch.setenv("JTH_PDF_ENGINE", engine)
    assert _image_pages(image_pdf(_picture(fmt))) == ([A4], {(300, 420)})


def test_a_multipage_tiff_scan_gives_a_page_each_and_a_phone_photo_stands_upright():
    from PIL import Image

    out = io.BytesIO()
    first, second = Image.new("L", (300, 420), 255), Image.new("L", (310, 430), 0)
    first.save(out, "TIFF", save_all=True, append_images=[second])
    assert _image_pages(image_pdf(out.getvalue())) == ([A4, A4], {(300, 420), (310, 430)})
    exif = Image.Exif()
    exif[0x0112] = 6  # taken with the phone turned: the viewer is to rotate it 90°
    sideways = _picture("JPEG", (420, 300), exif=exif.tobytes())
    assert _image_pages(image_pdf(sideways)) == ([A4], {(300, 420)})


def test_truncated_bomb_and_unknown_pictures_are_refused_with_a_reason():
    jpeg = _picture("JPEG")
    with pytest.raises(ValueError, match="图片已损坏"):
        image_pdf(jpeg[: len(jpeg) // 2])
    # A PNG header that declares 20000 × 20000 pixels (400 megapixels) in a file of a few bytes.
    bomb = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0))
    with pytest.raises(ValueError, match="像素过多"):
        image_pdf(bomb + _chunk(b"IEND", b""))
    with pytest.raises(ValueError, match="图片格式无法嵌入"):
        image_pdf(b"II*\x00 not really a tiff" * 4)
