"""Benchmark: bulk ingest through the CLI's code path against parse-only throughput, in the same run.

Generates N returned documents with the project's renderer (推荐书 .docx and 汇总表 .xlsx, valid and invalid:
first-batch groups, bad phone numbers, broken files), zips them, then runs ``flask --app wsgi ingest`` in a child
process on a fresh SQLite store and reports files per second, the child's peak RSS, and the ratio of ingest
throughput to parse-only throughput (the parser alone over the same files, in this process).
Goal: 10,000 files in at most 60 s, peak RSS at most 300 MB, ratio >= 0.5.
Usage: python bench/ingest.py [N] [--workers K]
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.parse.pipeline import parse  # noqa: E402
from service.render.form import render  # noqa: E402

WHEN = dt.datetime(2020, 11, 20, tzinfo=dt.UTC)


def corpus(n: int) -> list[tuple[str, bytes]]:
    letter = json.loads((ROOT / "tests/data/recommendation_letter.json").read_text(encoding="utf-8"))
    table = json.loads((ROOT / "tests/data/summary_table.json").read_text(encoding="utf-8"))
    out = []
    for i in range(n):
        kind = i % 10
        if kind < 6:
            rec = dict(letter, group_name=f"辽宁第{i}号示范职业教育集团")
            if kind == 5:
                rec["contact_mobile"] = "1390416"  # invalid
            out.append((f"推荐书{i:05d}.docx", render("jth-2020", "recommendation_letter", rec).content))
        elif kind < 9:
            rec = dict(table, filled_by=f"填表人{i}")
            if kind == 8:
                rec["rows"] = [dict(table["rows"][0], group_name="北京现代制造业职业教育集团")]  # first batch
            out.append((f"汇总表{i:05d}.xlsx", render("jth-2020", "summary_table", rec).content))
        else:
            out.append((f"损坏{i:05d}.docx", b"PK\x03\x04" + os.urandom(200)))
    return out


def main(n: int, workers: int) -> None:
    files = corpus(n)
    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "bulk.zip"
        with zipfile.ZipFile(bundle, "w", zipfile.ZIP_STORED) as zf:
            for name, data in files:
                zf.writestr(name, data)

        t0 = time.perf_counter()
        for name, data in files:
            parse(data, name, campaign="jth-2020", received_at=WHEN)
        t_parse = time.perf_counter() - t0

        env = dict(os.environ, JTH_DATABASE_URL=f"sqlite:///{tmp}/bench.sqlite3", JTH_FILE_STORE=f"{tmp}/files")
        env.pop("DATABASE_URL", None)
        flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
        subprocess.run([*flask, "init-db"], env=env, cwd=ROOT, check=True, capture_output=True)
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t0 = time.perf_counter()
        done = subprocess.run([*flask, "ingest", str(bundle), "--campaign", "jth-2020", "--as", "edu-ln", "--json",
                               "--workers", str(workers)], env=env, cwd=ROOT, capture_output=True, text=True)
        t_ingest = time.perf_counter() - t0
        peak_kb = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before)
        if done.returncode != 0:
            sys.exit(done.stderr[-2000:])
        summary = json.loads(done.stdout)

    print(f"files: {n} (60% 推荐书 .docx, 30% 汇总表 .xlsx, 10% broken; some invalid)   workers: {workers}")
    print(f"parse only (this process)     : {n / t_parse:8.1f} files/s  ({t_parse:6.1f} s)")
    print(f"ingest via CLI (store + parse): {n / t_ingest:8.1f} files/s  ({t_ingest:6.1f} s, incl. start-up)")
    print(f"peak RSS of the ingest process: {peak_kb / 1024:8.1f} MB")
    print(f"ratio ingest / parse-only     : {t_parse / t_ingest:8.2f}  (goal >= 0.5)")
    print(f"results                       : {summary['counts']}")
    print(f"projected for 10,000 files    : {10000 * t_ingest / n:6.1f} s  (goal <= 60 s)")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    k = int(sys.argv[sys.argv.index("--workers") + 1]) if "--workers" in sys.argv else 2
    if "--workers" in sys.argv:
        args.remove(str(k))
    main(int(args[0]) if args else 1000, k)
