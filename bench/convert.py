"""Benchmark: supervised long-lived converter vs. one ``soffice --convert-to`` per file.

Usage (from the project root)::

    .venv/bin/python bench/convert.py [-n 20] [--workers 1]

Both sides convert the same N .doc files to .docx in the same run.  The
per-file CLI side uses its own throw-away profile (initialised once, before
timing) so it neither touches ~/.config/libreoffice nor hands its work to
another running soffice; that is its best case.  The converter's one-off
start-up is reported separately and also folded into an "incl. start-up" rate.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TEXT = "示范性职业教育集团"


def _converter_module() -> Any:
    """Import service.office.convert.client when run as a plain script from anywhere."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("service.office.convert.client")


def _soffice_cmd(soffice: str, profile: Path) -> list[str]:
    return [
        soffice,
        "--headless",
        "--norestore",
        f"-env:UserInstallation={profile.as_uri()}",
    ]


def make_doc_files(n: int, workdir: Path, soffice: str, profile: Path) -> list[Path]:
    """N distinct .docx (python-docx) turned into .doc by a single soffice call (untimed)."""
    import docx

    src = workdir / "src"
    src.mkdir()
    for i in range(n):
        document = docx.Document()
        document.add_heading(f"{TEXT} 第 {i + 1} 号文件", level=1)
        for j in range(20):
            document.add_paragraph(f"{TEXT}：第 {j + 1} 段，用于测量转换速度。" * 3)
        table = document.add_table(rows=5, cols=4)
        for r, row in enumerate(table.rows):
            for c, cell in enumerate(row.cells):
                cell.text = f"{r}-{c}"
        document.save(src / f"file{i:03d}.docx")
    docx_files = sorted(src.glob("*.docx"))
    subprocess.run(
        [*_soffice_cmd(soffice, profile), "--convert-to", "doc", "--outdir", str(src)]
        + [str(p) for p in docx_files],
        check=True,
        capture_output=True,
        timeout=300,
    )
    docs = sorted(src.glob("*.doc"))
    if len(docs) != n:
        raise SystemExit(f"expected {n} .doc files, soffice produced {len(docs)}")
    return docs


def bench_converter(docs: list[Path], workers: int) -> tuple[float, float]:
    """Returns (start-up seconds, conversion seconds) for the supervised converter."""
    convert = _converter_module()
    with convert.Converter(workers=workers) as converter:
        started = time.perf_counter()
        converter.start()
        startup = time.perf_counter() - started
        started = time.perf_counter()
        for path in docs:
            out = converter.convert(path.read_bytes(), ".doc", "docx")
            if not out.startswith(b"PK"):
                raise SystemExit(f"converter produced no docx for {path.name}")
        elapsed = time.perf_counter() - started
        starts = converter.worker_starts
    if starts != workers:
        print(f"note: {starts} worker starts for {workers} worker(s)")
    return startup, elapsed


def bench_cli(docs: list[Path], workdir: Path, soffice: str, profile: Path) -> float:
    """Seconds for one ``soffice --convert-to docx`` process per file."""
    out_dir = workdir / "cli-out"
    out_dir.mkdir()
    started = time.perf_counter()
    for path in docs:
        subprocess.run(
            [
                *_soffice_cmd(soffice, profile),
                "--convert-to",
                "docx",
                "--outdir",
                str(out_dir),
                str(path),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    elapsed = time.perf_counter() - started
    produced = len(list(out_dir.glob("*.docx")))
    if produced != len(docs):
        raise SystemExit(f"soffice --convert-to produced {produced}/{len(docs)} files")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "-n", type=int, default=20, help="number of .doc files (default 20)"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="converter pool size (default 1)"
    )
    args = parser.parse_args(argv)

    soffice = (
        os.environ.get("SOFFICE_BIN")
        or shutil.which("soffice")
        or "/usr/lib/libreoffice/program/soffice"
    )

    with tempfile.TemporaryDirectory(prefix="bench-convert-") as tmp:
        workdir = Path(tmp)
        profile = workdir / "cli-profile"
        docs = make_doc_files(
            args.n, workdir, soffice, profile
        )  # also initialises the CLI profile
        size = sum(p.stat().st_size for p in docs) / len(docs) / 1024
        print(f"{len(docs)} .doc files, {size:.0f} KiB average -> .docx")

        startup, conv_s = bench_converter(docs, args.workers)
        cli_s = bench_cli(docs, workdir, soffice, profile)

    n = len(docs)
    conv_rate = n / conv_s
    conv_rate_cold = n / (conv_s + startup)
    cli_rate = n / cli_s
    print(
        f"converter ({args.workers} worker): {conv_rate:7.2f} files/s  ({conv_s / n * 1000:.0f} ms/file)"
    )
    print(f"  incl. {startup:.2f} s start-up:   {conv_rate_cold:7.2f} files/s")
    print(
        f"soffice --convert-to per file: {cli_rate:7.2f} files/s  ({cli_s / n * 1000:.0f} ms/file)"
    )
    print(
        f"ratio converter/cli: {conv_rate / cli_rate:.1f}x  (incl. start-up: {conv_rate_cold / cli_rate:.1f}x)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
