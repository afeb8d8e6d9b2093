"""Public pages for schools: the campaigns and their blank templates."""

from __future__ import annotations

from flask import Blueprint, jsonify

from .core.catalog import catalog

bp = Blueprint("public", __name__)


@bp.get("/healthz")
def healthz():
    """Liveness: the catalogue loads."""
    return jsonify(status="ok", campaigns=sorted(catalog().campaigns))


@bp.get("/")
def index():
    """The campaigns with their forms and template links (HTML pages come with the web issue)."""
    cat = catalog()
    rows = []
    for c in cat.campaigns.values():
        forms = "".join(
            f'<li>{f.annex} {f.title}：<a href="/api/v1/campaigns/{c.id}/forms/{f.id}/template">下载空白模板</a></li>'
            for f in c.forms.values()
        )
        rows.append(f"<section><h2>{c.data['document_number']} {c.title}</h2><p>截止日期：{c.data['deadline']}</p>"
                    f"<ul>{forms}</ul></section>")
    return ("<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>示范性职业教育集团材料报送</title></head>"
            "<body><h1>示范性职业教育集团（联盟）材料报送</h1>" + "".join(rows) + "</body></html>")
