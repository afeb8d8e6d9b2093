"""``flask submissions …``: the lifecycle's actions and the review's bulk confirmation from the command line, for
the platform's staff on the server. Each command calls the same use case as the pages and the API (which checks
the transition and audits it, with ``--by`` as the acting staff member) and prints the submission's new status.
"""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import with_appcontext

from service.actions.actor import Actor
from service.actions.comments import add_comment
from service.actions.confirm import confirm_items
from service.actions.dismiss import dismiss
from service.actions.intake import IntakeError
from service.actions.reassign import reassign
from service.actions.restore import restore
from service.actions.return_for_changes import return_for_changes
from service.actions.shapes import detail_of
from service.actions.withdraw import withdraw
from service.store import store_for

BY = click.option("--by", default="cli", show_default=True, help="操作人（平台工作人员，记入审计日志）")


def _staff(by: str) -> Actor:
    return Actor(by, "admin")


def _done(submission_id: int, as_json: bool = False) -> None:
    detail = detail_of(store_for(current_app), submission_id)
    if as_json:
        click.echo(json.dumps({k: detail[k] for k in ("id", "recommender", "status", "status_label", "state_note")},
                              ensure_ascii=False))
    else:
        click.echo(f"第 {submission_id} 号：{detail['status_label']}（{detail['recommender_name']}，{detail['file']}）")


def _run(call) -> None:
    try:
        call()
    except IntakeError as exc:
        raise click.ClickException(f"[{exc.code}] {exc.message}") from None


@click.group("submissions")
def submissions() -> None:
    """提交的流转：退回修改、撤回、清除、改派、恢复、留言和批量确认。"""


@submissions.command("withdraw")
@click.argument("submission_id", type=int)
@click.option("--reason", default="", help="撤回理由")
@BY
@with_appcontext
def withdraw_command(submission_id: int, reason: str, by: str) -> None:
    """撤回一份提交（原文件保留，不再计入）。"""
    _run(lambda: withdraw(store_for(current_app), submission_id, _staff(by), reason))
    _done(submission_id)


@submissions.command("dismiss")
@click.argument("submission_id", type=int)
@click.option("--reason", default="", help="清除理由")
@BY
@with_appcontext
def dismiss_command(submission_id: int, reason: str, by: str) -> None:
    """清除无法读取或不属于上传单位的文件（原文件保留）。"""
    _run(lambda: dismiss(store_for(current_app), submission_id, _staff(by), reason))
    _done(submission_id)


@submissions.command("return")
@click.argument("submission_id", type=int)
@click.option("--message", required=True, help="退回说明（报送单位可见）")
@BY
@with_appcontext
def return_command(submission_id: int, message: str, by: str) -> None:
    """退回修改，并告诉报送单位要改什么。"""
    _run(lambda: return_for_changes(store_for(current_app), submission_id, _staff(by), message))
    _done(submission_id)


@submissions.command("reassign")
@click.argument("submission_id", type=int)
@click.option("--to", "to_unit", required=True, help="改派给的报送单位编号（如 edu-bj）")
@click.option("--reason", default="", help="改派理由")
@BY
@with_appcontext
def reassign_command(submission_id: int, to_unit: str, reason: str, by: str) -> None:
    """把误归到其他单位的文件改派给正确的单位。"""
    result: list[int] = []
    _run(lambda: result.append(reassign(store_for(current_app), submission_id, to_unit, _staff(by), reason)))
    _done(submission_id)
    _done(result[0])


@submissions.command("restore")
@click.argument("submission_id", type=int)
@click.option("--reason", default="", help="恢复理由")
@BY
@with_appcontext
def restore_command(submission_id: int, reason: str, by: str) -> None:
    """恢复被退回、撤回或清除的提交。"""
    _run(lambda: restore(store_for(current_app), submission_id, _staff(by), reason))
    _done(submission_id)


@submissions.command("comment")
@click.argument("submission_id", type=int)
@click.option("--body", required=True, help="留言内容")
@BY
@with_appcontext
def comment_command(submission_id: int, body: str, by: str) -> None:
    """以平台工作人员身份留言。"""
    _run(lambda: add_comment(store_for(current_app), submission_id, _staff(by), body))
    click.echo(f"已在第 {submission_id} 号提交留言。")


@submissions.command("confirm")
@click.option("--campaign", "campaign_id", required=True, help="征集活动编号")
@click.option("--code", required=True, help="整体问题代码，如 SUBMISSION_LATE")
@click.option("--reason", required=True, help="确认理由（记入每份材料的复核记录）")
@click.option("--id", "ids", multiple=True, type=int, help="只确认这些提交（可重复；不给时确认全部）")
@BY
@with_appcontext
def confirm_command(campaign_id: str, code: str, reason: str, ids: tuple[int, ...], by: str) -> None:
    """批量确认一个整体问题（如逾期提交）。"""
    done: list[int] = []
    _run(lambda: done.extend(confirm_items(store_for(current_app), campaign_id, code, reason, _staff(by),
                                           list(ids) or None)))
    click.echo(f"已确认 {len(done)} 份材料：{'、'.join(map(str, done)) or '无'}")
