"""Commands that take what was submitted out of the platform: ``export`` (xlsx/CSV/JSON, the national 汇总表)
and ``compile`` (the 资料汇编 PDF for the expert panel)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from service.actions.actor import Actor
from service.actions.export import export as take_out
from service.actions.intake import IntakeError
from service.outputs.dossier import COMPILE_STATUSES, CompileError, build_compilation
from service.outputs.exports import FORMATS, STATUS_LABELS
from service.store import store_for

STATUS_CHOICES = click.Choice(list(STATUS_LABELS))


def _write(out: str, data: bytes) -> Path:
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@click.command("export")
@click.option("--campaign", "campaign_id", required=True, help="征集活动编号（如 jth-2020）")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="xlsx", show_default=True, help="导出格式")
@click.option("--form", "form_id", help="只导出一个表单（CSV 在有多个表单时必填，如 recommendation_letter）")
@click.option("--status", "statuses", multiple=True, type=STATUS_CHOICES,
              help="导出哪些状态的材料，可重复（默认：通过；--consolidated 默认：通过、需复核、逾期）")
@click.option("--consolidated", is_flag=True, help="导出全国推荐名单汇总表（xlsx）")
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False), help="输出文件")
@click.option("--by", default="cli", help="操作人（记入审计日志）")
@with_appcontext
def export(campaign_id: str, fmt: str, form_id: str | None, statuses: tuple[str, ...], consolidated: bool, out: str,
           by: str) -> None:
    """导出已提交材料的数据（xlsx / CSV / JSON），或合并各推荐单位的推荐名单汇总表。"""
    store = store_for(current_app)
    if consolidated and (fmt != "xlsx" or form_id):
        raise click.UsageError("--consolidated 只导出 xlsx，且不能与 --form 同用")
    try:
        data, _name, _media = take_out(store, Actor(by, "admin"), campaign_id, "summary" if consolidated else fmt,
                                       form_id=form_id, statuses=statuses or None)
    except IntakeError as exc:
        raise click.ClickException(f"[{exc.code}] {exc.message}") from None
    path = _write(out, data)
    what = "全国推荐名单汇总表" if consolidated else f" {fmt.upper()} 数据"
    click.echo(f"已导出{what}：{path}（{len(data):,} 字节）")


@click.command("compile")
@click.option("--campaign", "campaign_id", required=True, help="征集活动编号（如 jth-2020）")
@click.option("--recommender", "recommender_id", help="只汇编一个推荐/报送单位（如 edu-ln、ln-08）")
@click.option("--status", "statuses", multiple=True, type=STATUS_CHOICES,
              help="汇编哪些状态的材料，可重复（默认：通过、需复核、逾期、退回修改）")
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False), help="输出的 PDF 文件")
@click.option("--by", default="cli", help="操作人（记入审计日志）")
@with_appcontext
def compile_command(campaign_id: str, recommender_id: str | None, statuses: tuple[str, ...], out: str,
                    by: str) -> None:
    """生成供专家组使用的资料汇编 PDF（封面、目录、书签，各单位材料及附件）。"""
    store = store_for(current_app)
    try:
        result = build_compilation(store, campaign_id, recommender_id, statuses=statuses or COMPILE_STATUSES,
                                   actor=by)
    except (LookupError, CompileError) as exc:
        raise click.ClickException(str(exc)) from None
    path = _write(out, result.pdf)
    click.echo(f"已生成资料汇编：{path}（{result.documents} 份材料，共 {result.pages} 页）")
    for failure in result.failures:
        click.echo(f"注意：第 {failure['submission']} 号提交的“{failure['name']}”未能收入汇编"
                   f"（{failure['reason']}），已以说明页代替。", err=True)
