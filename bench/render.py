"""Benchmark: the project's 推荐书 renderer against plain docxtpl loading the template for every document.

Prints documents per second for both, measured in the same run, and their ratio (goal ≥ 10×).
Usage: python bench/render.py [N]
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from docxtpl import DocxTemplate  # noqa: E402
from jinja2 import Environment  # noqa: E402

from service.forms.catalog import catalog  # noqa: E402
from service.render.docx import choice_boxes, lines, paras  # noqa: E402
from service.render.form import context_for, render  # noqa: E402


def record() -> dict:
    rec = json.loads((ROOT / "tests/data/recommendation_letter.json").read_text(encoding="utf-8"))
    rec["members"] = [{"name": f"辽宁示范成员单位第{i:02d}号有限公司", "type": "企业"} for i in range(40)]
    long = "集团坚持产教融合、校企合作，围绕区域主导产业开展人才培养与社会服务。" * 30
    for key in ("governance", "resource_sharing", "industry_education", "talent_quality", "social_service"):
        rec[key] = (long + "\n") * 1 + long[:300]
    return rec


def main(n: int) -> None:
    form = catalog().form("jth-2020", "recommendation_letter")
    rec = record()
    env = Environment(autoescape=True)
    env.filters.update(paras=paras, lines=lines, boxes=choice_boxes({f.path: f.enum for f in form.fields if f.enum}))
    ctx = context_for(form, rec)

    render("jth-2020", "recommendation_letter", rec)  # warm the cache, as a running service would be
    t0 = time.perf_counter()
    for _ in range(n):
        ours = render("jth-2020", "recommendation_letter", rec).content
    t_ours = time.perf_counter() - t0

    t0 = time.perf_counter()
    for _ in range(n):
        tpl = DocxTemplate(form.template_path)
        tpl.render(ctx, env)
        buf = io.BytesIO()
        tpl.save(buf)
    t_base = time.perf_counter() - t0

    print(f"documents: {n} (推荐书, 40 members, ~{sum(len(v) for v in rec.values() if isinstance(v, str))} chars)")
    print(f"project renderer : {n / t_ours:8.1f} docs/s  ({1000 * t_ours / n:.2f} ms/doc)")
    print(f"docxtpl per doc  : {n / t_base:8.1f} docs/s  ({1000 * t_base / n:.2f} ms/doc)")
    print(f"ratio            : {t_base / t_ours:.1f}x faster")

    with tempfile.TemporaryDirectory() as tmp:  # the output must open in LibreOffice
        path = Path(tmp) / "bench.docx"
        path.write_bytes(ours)
        subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp}/p", "--convert-to", "pdf",
                        "--outdir", tmp, str(path)], check=True, capture_output=True, timeout=180)
        ok = (Path(tmp) / "bench.pdf").stat().st_size > 0
        print(f"output opens in LibreOffice: {'yes' if ok else 'NO'}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
