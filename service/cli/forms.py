"""``flask forms ...`` commands: list, render and check the forms (names are fixed; other tools call them)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click

from service.forms.catalog import catalog
from service.parse.pipeline import parse
from service.problems.report import text_report
from service.render.check import check_all
from service.render.form import render
from service.validate.rules import batch_rules
from service.validate.schema import check_record

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


@forms.command("parse")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出每个文件的结果")
@click.option("--campaign", help="文件报送到的征集活动（如 jth-2020）；不填则接受任何征集活动的表格")
@click.option("--received-at", help="报送时间（ISO 8601，如 2020-11-20T10:00:00+08:00），用于判断是否逾期；默认为当前时间")
def parse_cmd(files: tuple[str, ...], as_json: bool, campaign: str | None, received_at: str | None) -> None:
    """读取交回的表格文件，输出记录与校验报告。退出码：0 全部通过，1 有校验错误，2 有文件无法读取。"""
    when = None
    if received_at:
        try:
            when = dt.datetime.fromisoformat(received_at)
        except ValueError:
            raise click.BadParameter("应为 ISO 8601 时间，如 2020-11-20T10:00:00+08:00", param_hint="--received-at") from None
        if when.tzinfo is None:
            raise click.BadParameter("请带上时区，如 +08:00", param_hint="--received-at")
    if campaign:
        try:
            catalog().campaign(campaign)
        except LookupError as exc:
            raise click.ClickException(str(exc)) from None
    results = [parse(Path(f).read_bytes(), Path(f).name, campaign=campaign, received_at=when) for f in files]
    for result, path in zip(results, files, strict=True):
        result.file = path
    batch_rules(results, catalog())
    if as_json:
        docs = [r.to_dict() for r in results]
        click.echo(json.dumps(docs[0] if len(docs) == 1 else docs, ensure_ascii=False, indent=2))
    else:
        click.echo("\n\n".join(text_report(r) for r in results))
    if any(not r.readable for r in results):
        sys.exit(2)
    if any(r.errors for r in results):
        sys.exit(1)
