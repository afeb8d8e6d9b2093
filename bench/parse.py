"""Benchmark: the project's parser against python-docx / openpyxl reading the same returned files.

Parses N returned 推荐书 (.docx) and N 汇总表 (.xlsx) — each a different document, with its tags dropped as a
LibreOffice re-save leaves them, so the parser takes its label path — and, in the same run, opens each with
python-docx reading every table cell, and with openpyxl reading every cell. Prints documents per second and
the ratios (goal for .docx: at least 10× python-docx).
Usage: python bench/parse.py [N]
"""

from __future__ import annotations

import datetime as dt
import io
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import docx  # noqa: E402
from openpyxl import load_workbook  # noqa: E402

from service.parse.pipeline import parse  # noqa: E402
from service.render.form import render  # noqa: E402
from tests.support.docx_edit import edit, remove_tags  # noqa: E402

WHEN = dt.datetime(2020, 11, 20, tzinfo=dt.UTC)


def letters(n: int) -> list[bytes]:
    base = json.loads((ROOT / "tests/data/recommendation_letter.json").read_text(encoding="utf-8"))
    out = []
    for i in range(n):
        rec = dict(base, group_name=f"辽宁第{i}职业教育集团")
        # A real 推荐书: every one of the 93 member units listed, each narrative section near its 1500-字 limit.
        rec["members"] = [{"name": f"辽宁成员单位第{k:02d}号有限公司", "type": "企业"} for k in range(93)]
        for key in ("governance", "resource_sharing", "industry_education", "talent_quality", "social_service",
                    "government_support", "features"):
            rec[key] = ("集团坚持产教融合、校企合作，围绕区域主导产业开展人才培养与社会服务。\n" * 40)[:1400]
        content = render("jth-2020", "recommendation_letter", rec).content
        out.append(edit(content, remove_tags) if i % 2 else content)
    return out


def tables(n: int) -> list[bytes]:
    base = json.loads((ROOT / "tests/data/summary_table.json").read_text(encoding="utf-8"))
    return [render("jth-2020", "summary_table", dict(base, filled_by=f"填表人{i}")).content for i in range(n)]


def timed(fn, items: list[bytes]) -> float:
    t0 = time.perf_counter()
    for item in items:
        fn(item)
    return time.perf_counter() - t0


def python_docx_cells(content: bytes) -> None:
    d = docx.Document(io.BytesIO(content))
    for table in d.tables:
        for row in table.rows:
            for cell in row.cells:
                _ = cell.text


def openpyxl_cells(content: bytes) -> None:
    wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            _ = row
    wb.close()


def main(n: int) -> None:
    docs, books = letters(n), tables(n)
    parse(docs[0], "warm.docx", received_at=WHEN)  # layouts are read once per process, as in the service
    parse(books[0], "warm.xlsx", received_at=WHEN)
    results = [parse(d, "x.docx", received_at=WHEN) for d in docs[:2]]
    assert all(r.status == "accepted" for r in results), [r.problems for r in results]

    t_docx = timed(lambda c: parse(c, "推荐书.docx", received_at=WHEN), docs)
    t_pydocx = timed(python_docx_cells, docs)
    t_xlsx = timed(lambda c: parse(c, "汇总表.xlsx", received_at=WHEN), books)
    t_openpyxl = timed(openpyxl_cells, books)

    def line(name: str, t: float) -> str:
        return f"{name:<34}: {n / t:8.1f} docs/s  ({1000 * t / n:6.2f} ms/doc)"

    print(f"documents: {n} 推荐书 (.docx, 93 members, 7 sections of 1400 字, half without control tags) and {n} 汇总表 (.xlsx)")
    print(line("parse 推荐书 (identify+extract+rules)", t_docx))
    print(line("python-docx: open + read all cells", t_pydocx))
    print(f"ratio .docx: {t_pydocx / t_docx:.1f}x faster than python-docx (goal >= 10x)")
    print(line("parse 汇总表 (identify+extract+rules)", t_xlsx))
    print(line("openpyxl: open + read all cells", t_openpyxl))
    print(f"ratio .xlsx: {t_openpyxl / t_xlsx:.1f}x faster than openpyxl")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
