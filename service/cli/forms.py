"""``flask forms ...`` commands: list, render, check and parse the forms, and propose a form's schema from a plain
document (``scaffold``). Names are fixed; other tools call them. ``--root`` points the commands at another folder
laid out like the service's own (``data/``, ``schemas/``, ``templates/``): a new call tried before it is installed."""

from __future__ import annotations

import datetime as dt
import functools
import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from service.actions.actor import Actor
from service.actions.form_designer import DesignRefused, get_draft, publish
from service.actions.intake import IntakeError
from service.forms.catalog import Catalog, catalog, load_catalog
from service.forms.scaffold import ScaffoldError, scaffold
from service.parse.pipeline import parse
from service.problems.report import text_report
from service.render.check import FormCheck, inspect_form
from service.render.form import render
from service.render.prepare import TemplateError
from service.store import store_for
from service.validate.rules import batch_rules
from service.validate.schema import check_record

forms = click.Group("forms", help="表单：列出、生成、检查模板，读取交回的文件，从普通表格生成表单定义草稿。")

ROOT_OPTION = click.option("--root", type=click.Path(exists=True, file_okay=False),
                           help="数据所在目录（含 data/、schemas/、templates/）；默认为本服务的目录")


def _catalog(root: str | None) -> Catalog:
    """The service's catalogue, or the one laid out under ``root``; its problems as a message, never a traceback."""
    if not root:
        return catalog()
    try:
        return load_catalog(Path(root).resolve())
    except (ValueError, LookupError, OSError) as exc:
        raise click.ClickException(f"{root} 中的数据有误：{exc}") from None


@forms.command("list")
@ROOT_OPTION
def list_forms(root: str | None) -> None:
    """列出所有征集活动及其表单。"""
    for c in _catalog(root).campaigns.values():
        click.echo(f"{c.id}\t{c.data['document_number']}\t{c.title}（截止 {c.data['deadline']}）")
        for f in c.forms.values():
            n = len(f.fields)
            click.echo(f"  {f.id}\t{f.annex or '-'}\t{f.title}\t{f.kind}\t{n} 个字段\tv{f.version}")


@forms.command("render")
@click.argument("campaign")
@click.argument("form")
@ROOT_OPTION
@click.option("--data", "data_file", type=click.Path(exists=True, dir_okay=False), help="JSON 记录文件")
@click.option("--entity", help="按参考名单中的单位编号预填（如 ln-01、edu-ln）；all 表示名单中的每个单位")
@click.option("-o", "--output", required=True, type=click.Path(), help="输出文件（--entity all 时为目录）")
def render_cmd(campaign: str, form: str, root: str | None, data_file: str | None, entity: str | None,
               output: str) -> None:
    """生成空白或预填的表单文件。"""
    cat = _catalog(root)
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
            try:
                done = render(campaign, form, record, row["id"], cat=cat)
            except TemplateError as exc:
                raise click.ClickException(f"表单 {form} 的模板有误：{exc}") from None
            (out_dir / done.filename).write_bytes(done.content)
            click.echo(out_dir / done.filename)
        return
    try:
        done = render(campaign, form, record, entity, cat=cat)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    except TemplateError as exc:
        raise click.ClickException(f"表单 {form} 的模板有误：{exc}") from None
    Path(output).write_bytes(done.content)
    click.echo(f"{output}\t{done.stamp.issuance}")


@forms.command("check")
@click.argument("campaign", required=False)
@click.argument("form", required=False)
@ROOT_OPTION
@click.option("-q", "--quiet", is_flag=True, help="只列出每个表单的结论、问题和提示，不逐项列出字段")
def check_cmd(campaign: str | None, form: str | None, root: str | None, quiet: bool) -> None:
    """检查表单模板：逐个字段说明它在模板中如何定位（内容控件、定义名称、模板表达式或标签及其位置）或没有找到，
    列出不对应任何字段的标签，并试生成每个模板一次。退出码：0 全部通过，1 有问题。"""
    cat = _catalog(root)
    try:
        if form:
            chosen = [cat.form(campaign, form)]
        elif campaign:
            chosen = list(cat.campaign(campaign).forms.values())
        else:
            chosen = [f for c in cat.campaigns.values() for f in c.forms.values()]
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    results = [inspect_form(f) for f in chosen]
    for result in results:
        _echo_check(result, quiet)
    if any(not r.ok for r in results):
        sys.exit(1)


def _echo_check(result: FormCheck, quiet: bool) -> None:
    verdict = "通过" if result.ok else f"{len(result.problems)} 个问题"
    click.echo(f"{result.key}（{result.title}，{result.kind}）：{verdict}")
    if not quiet:
        for path, title, how in result.fields:
            click.echo(f"    {path}（{title}）：{how}")
    for p in result.problems:
        click.echo(f"  - 问题：{p}")
    for n in result.notes:
        click.echo(f"  - 提示：{n}")


@forms.command("scaffold")
@click.argument("document", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="写入 JSON Schema 的文件；不给则输出到屏幕")
@click.option("--force", is_flag=True, help="覆盖已有的输出文件")
def scaffold_cmd(document: str, output: str | None, force: bool) -> None:
    """从一份普通的 Word/Excel 表格（标签旁、标签下或标题下留有空白）生成表单的 JSON Schema 草稿：
    每个标签一个字段，类型按标签措辞猜测（规则见 data/scaffold/wording.json），重复的表格为对象数组。"""
    if output and Path(output).exists() and not force:
        raise click.ClickException(f"{output} 已存在；如要覆盖（会丢掉其中的修改）请加 --force")
    try:
        schema, fields = scaffold(Path(document).read_bytes(), Path(document).name)
    except ScaffoldError as exc:
        raise click.ClickException(str(exc)) from None
    text = json.dumps(schema, ensure_ascii=False, indent=2) + "\n"
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)
    say = functools.partial(click.echo, err=not output)
    say(f"《{schema['title']}》：{len(fields)} 个字段")
    for f in fields:
        say(f"  {f.path}\t{f.title}\t{f.guess}\t{f.where}")
    say("请核对并修改字段名、标题、类型和必填项；标题（或 x-label）须与模板中的标签一致。"
        "把它放进 schemas/、在征集活动文件中登记后，用 forms check 检查。")


@forms.command("parse")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@ROOT_OPTION
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出每个文件的结果")
@click.option("--campaign", help="文件报送到的征集活动（如 jth-2020）；不填则接受任何征集活动的表格")
@click.option("--received-at", help="报送时间（ISO 8601，如 2020-11-20T10:00:00+08:00），用于判断是否逾期；默认为当前时间")
def parse_cmd(files: tuple[str, ...], root: str | None, as_json: bool, campaign: str | None,
              received_at: str | None) -> None:
    """读取交回的表格文件，输出记录与校验报告。退出码：0 全部通过，1 有校验错误，2 有文件无法读取。"""
    when = None
    if received_at:
        try:
            when = dt.datetime.fromisoformat(received_at)
        except ValueError:
            raise click.BadParameter("应为 ISO 8601 时间，如 2020-11-20T10:00:00+08:00", param_hint="--received-at") from None
        if when.tzinfo is None:
            raise click.BadParameter("请带上时区，如 +08:00", param_hint="--received-at")
    cat = _catalog(root)
    if campaign:
        try:
            cat.campaign(campaign)
        except LookupError as exc:
            raise click.ClickException(str(exc)) from None
    results = [parse(Path(f).read_bytes(), Path(f).name, campaign=campaign, received_at=when, cat=cat) for f in files]
    for result, path in zip(results, files, strict=True):
        result.file = path
    batch_rules(results, cat)
    if as_json:
        docs = [r.to_dict() for r in results]
        click.echo(json.dumps(docs[0] if len(docs) == 1 else docs, ensure_ascii=False, indent=2))
    else:
        click.echo("\n\n".join(text_report(r) for r in results))
    if any(not r.readable for r in results):
        sys.exit(2)
    if any(r.errors for r in results):
        sys.exit(1)


@forms.command("publish")
@click.argument("draft", type=int)
@click.option("--by", default="cli", show_default=True, help="操作人（平台工作人员，记入审计日志）")
@with_appcontext
def publish_cmd(draft: int, by: str) -> None:
    """发布表单设计器中的一份草稿（草稿编号即网页地址 /admin/designer/编号 中的数字）。

    与网页上的“发布到征集活动”相同：先把加入这张表单后的全部数据和模板检查一遍，有问题时不写入任何文件。"""
    store = store_for(current_app)
    try:
        version = publish(store, Actor(by, "admin"), draft, layer=catalog.layer)
        made = get_draft(store, draft)
    except DesignRefused as exc:
        raise click.ClickException("\n".join([exc.message, *(f"  {m.message}" for m in exc.mistakes)])) from None
    except IntakeError as exc:
        raise click.ClickException(f"[{exc.code}] {exc.message}") from None
    click.echo(f"已发布《{made.title}》：{made.campaign_id}/{made.form_id} {version} 版（{catalog.layer}）")
