"""``flask forms ...`` commands: list, render and check the forms (names are fixed; other tools call them)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import Flask

from .core.catalog import catalog
from .core.record_check import check_record
from .core.render import render
from .core.template_check import check_all

forms = click.Group("forms", help="表单：列出、生成、检查模板。")


@forms.command("list")
def list_forms() -> None:
    """列出所有征集活动及其表单。"""
    for c in catalog().campaigns.values():
        click.echo(f"{c.id}\t{c.data['document_number']}\t{c.title}（截止 {c.data['deadline']}）")
        for f in c.forms.values():
            n = len(f.fields)
            click.echo(f"  {f.id}\t{f.annex or '-'}\t{f.title}\t{f.kind}\t{n} 个字段\tv{f.version}")


@forms.command("render")
@click.argument("campaign")
@click.argument("form")
@click.option("--data", "data_file", type=click.Path(exists=True, dir_okay=False), help="JSON 记录文件")
@click.option("--entity", help="按参考名单中的单位编号预填（如 ln-01、edu-ln）；all 表示名单中的每个单位")
@click.option("-o", "--output", required=True, type=click.Path(), help="输出文件（--entity all 时为目录）")
def render_cmd(campaign: str, form: str, data_file: str | None, entity: str | None, output: str) -> None:
    """生成空白或预填的表单文件。"""
    cat = catalog()
    try:
        fdef = cat.form(campaign, form)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    record: dict = {}
    if data_file:
        try:
            record = json.loads(Path(data_file).read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise click.ClickException(f"{data_file} 不是有效的 UTF-8 JSON：{exc}") from None
        if not isinstance(record, dict):
            raise click.ClickException(f"{data_file} 应为 JSON 对象")
        problems = check_record(fdef, record, partial=True)
        if problems:
            for p in problems:
                click.echo(f"  [{p.code}] {p.path}：{p.message}", err=True)
            raise click.ClickException("数据有误，未生成文件")
    if entity == "all":
        source = (fdef.settings.get("entity") or {}).get("source")
        if not source:
            raise click.ClickException(f"表单 {form} 不支持按单位预填")
        out_dir = Path(output)
        out_dir.mkdir(parents=True, exist_ok=True)
        for row in cat.entities(source):
            done = render(campaign, form, record, row["id"], cat=cat)
            (out_dir / done.filename).write_bytes(done.content)
            click.echo(out_dir / done.filename)
        return
    try:
        done = render(campaign, form, record, entity, cat=cat)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    Path(output).write_bytes(done.content)
    click.echo(f"{output}\t{done.stamp.issuance}")


@forms.command("check")
def check_cmd() -> None:
    """检查每个表单：模板中的锚点与 JSON Schema 字段一一对应。"""
    results = check_all(catalog())
    bad = 0
    for key, problems in results.items():
        click.echo(f"{key}: {'通过' if not problems else f'{len(problems)} 个问题'}")
        for p in problems:
            click.echo(f"  - {p}")
        bad += len(problems)
    if bad:
        sys.exit(1)


def init_app(app: Flask) -> None:
    """Register the command groups on the app."""
    app.cli.add_command(forms)
