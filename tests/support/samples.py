"""Sample records, fresh stores and office-suite helpers that many tests share (plain functions, no fixtures)."""

from __future__ import annotations

import json
import os
import subprocess
import unicodedata
from pathlib import Path

from sqlalchemy import create_engine, text

from service.store import Store

ROOT = Path(__file__).resolve().parents[2]


DATA = ROOT / "tests" / "data"


FONTS_CONF = ROOT / "config" / "fonts.conf"


CAMPAIGN_OF = {"recommendation_letter": "jth-2020", "summary_table": "jth-2020", "work_summary": "ln-2018"}


def _fresh_database_url(tmp_path: Path) -> str:
    """SQLite in the test's folder, or the PostgreSQL of ``DATABASE_URL`` with an empty public schema."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path / 'test.sqlite3'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def new_store(folder: Path) -> Store:
    """A migrated store with campaigns and reference lists loaded (SQLite, or PostgreSQL by DATABASE_URL)."""
    st = Store(_fresh_database_url(folder), folder / "files")
    st.migrate()
    st.load_reference()
    return st


def sample(form_id: str) -> dict:
    """A complete, valid record of the form (tests/data/<form>.json)."""
    return json.loads((DATA / f"{form_id}.json").read_text(encoding="utf-8"))


def soffice_convert(paths: list[Path], target: str, outdir: Path, profile: Path) -> list[Path]:
    """Convert files with one headless LibreOffice process (as people's office suite would save them)."""
    outdir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, FONTCONFIG_FILE=str(FONTS_CONF))
    subprocess.run(
        ["soffice", "--headless", "--norestore", f"-env:UserInstallation={profile.as_uri()}",
         "--convert-to", target, "--outdir", str(outdir), *map(str, paths)],
        check=True, capture_output=True, timeout=300, env=env,
    )
    ext = target.split(":")[0]
    out = [outdir / (p.stem + "." + ext) for p in paths]
    missing = [p for p in out if not p.exists()]
    assert not missing, f"LibreOffice did not produce {missing}"
    return out


def pdf_text(path: Path) -> str:
    """pdftotext of a PDF, NFKC-normalized (Noto CJK maps 示 to a Kangxi radical in extracted text)."""
    text = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True).stdout.decode()
    return unicodedata.normalize("NFKC", text)
