"""Commands of the store (names are fixed; other tools call them): init-db, users, tokens, ingest."""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from service.forms.catalog import catalog
from service.jobs.ingest import create_job, job_summary, run_job, unfinished_jobs
from service.outputs.exports import STATUS_LABELS
from service.store import store_for
from service.store.audit import audit
from service.store.auth import create_token, create_user, password_problem, revoke_token, set_password
from service.store.models import ApiToken, User

RESULT_LABELS = {**STATUS_LABELS, "stored": "已保存"}


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """迁移数据库到最新版本，并载入征集活动与参考名单。"""
    store = store_for(current_app)
    store.migrate()
    campaigns, rows = store.load_reference()
    click.echo(f"数据库已就绪：{store.url.split('@')[-1]}；载入 {campaigns} 个征集活动、{rows} 条名单记录。")


users = click.Group("users", help="平台账号。")


@users.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(["admin", "recommender", "school"]), required=True)
@click.option("--entity", help="推荐单位账号所代表的单位编号（如 edu-ln、city-dl、ln-08）")
@click.option("--name", "display_name", default="", help="显示名称")
@click.option("--password", help="密码（不填则交互输入）")
@with_appcontext
def users_create(username: str, role: str, entity: str | None, display_name: str, password: str | None) -> None:
    """创建账号。"""
    if entity:
        known = {row.get("id") for src in ("recommenders", "liaoning_groups") for row in catalog().entities(src)}
        if entity not in known:
            raise click.ClickException(f"名单中没有单位编号 {entity}")
    password = password or getpass.getpass("密码：")
    problem = password_problem(username, password)
    if problem:
        raise click.ClickException(problem)
    store = store_for(current_app)
    try:
        with store.session.begin() as s:
            create_user(s, username, password, role, entity, display_name)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"已创建账号 {username}（{role}{'，' + entity if entity else ''}）")


@users.command("ensure-admin")
@click.option("--username", default="admin", show_default=True)
@with_appcontext
def users_ensure_admin(username: str) -> None:
    """没有管理员时创建一个，并只显示这一次它的随机初始密码。"""
    import secrets

    store = store_for(current_app)
    with store.session.begin() as s:
        if s.query(User).filter_by(role="admin").first() is not None:
            click.echo("已有管理员账号；如忘记密码，请用 flask --app wsgi users set-password 用户名 重设。")
            return
        password = secrets.token_urlsafe(12)
        create_user(s, username, password, "admin", None, "平台管理员")
    click.echo(f"已创建管理员账号：{username}  初始密码：{password}（只显示这一次，请登录后妥善保管）")


@users.command("set-password")
@click.argument("username")
@click.option("--password", help="新密码（不填则生成随机密码并只显示这一次）")
@with_appcontext
def users_set_password(username: str, password: str | None) -> None:
    """重设账号密码（忘记密码时由管理员执行）；该账号已登录的会话随即失效。"""
    import secrets

    generated = password is None
    password = password or secrets.token_urlsafe(12)
    store = store_for(current_app)
    with store.session.begin() as s:
        user = s.query(User).filter_by(username=username).one_or_none()
        if user is None:
            raise click.ClickException(f"没有账号 {username}")
        try:
            set_password(s, user, password)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        audit(s, "cli", "password_reset", f"user:{user.id}", username=username)
    click.echo(f"已重设 {username} 的密码" + (f"：{password}（只显示这一次）" if generated else "。"))


tokens = click.Group("tokens", help="API 令牌。")


@tokens.command("create")
@click.argument("username")
@click.option("--name", default="", help="令牌用途说明")
@with_appcontext
def tokens_create(username: str, name: str) -> None:
    """为账号生成 API 令牌（只显示这一次，平台只保存其摘要）。"""
    store = store_for(current_app)
    with store.session.begin() as s:
        user = s.query(User).filter_by(username=username).one_or_none()
        if user is None:
            raise click.ClickException(f"没有账号 {username}")
        token = create_token(s, user, name)
    click.echo(token)


@tokens.command("list")
@click.argument("username", required=False)
@with_appcontext
def tokens_list(username: str | None) -> None:
    """列出令牌（编号、账号、用途、创建与最近使用时间、是否已吊销）；令牌本身不可再显示。"""
    store = store_for(current_app)
    with store.session() as s:
        query = select(ApiToken).join(User).order_by(ApiToken.id)
        if username:
            query = query.where(User.username == username)
        for row in s.scalars(query):
            used = row.last_used_at.isoformat(timespec="minutes") if row.last_used_at else "从未使用"
            state = "已吊销" if row.revoked else "有效"
            click.echo(f"{row.id}\t{row.user.username}\t{row.name or '-'}\t"
                       f"创建 {row.created_at.isoformat(timespec='minutes')}\t最近使用 {used}\t{state}")


@tokens.command("revoke")
@click.argument("token_id", type=int)
@with_appcontext
def tokens_revoke(token_id: int) -> None:
    """吊销令牌：立即失效（令牌泄露或人员变动时使用）。"""
    store = store_for(current_app)
    with store.session.begin() as s:
        try:
            row = revoke_token(s, token_id)
        except LookupError as exc:
            raise click.ClickException(str(exc)) from None
        audit(s, "cli", "token_revoked", f"token:{row.id}", user=row.user.username)
    click.echo(f"已吊销令牌 {token_id}。")


@click.command("ingest")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("--campaign", "campaign_id", help="征集活动编号（如 jth-2020）")
@click.option("--as", "recommender", help="以哪个单位的名义报送（如 edu-ln、ln-08）")
@click.option("--by", default="cli", help="操作人（记入审计日志）")
@click.option("--resume", is_flag=True, help="继续此前中断的批量导入任务")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出结果")
@click.option("--workers", default=0, type=int, help="并行解析的进程数（默认不并行）")
@with_appcontext
def ingest(paths: tuple[str, ...], campaign_id: str | None, recommender: str | None, by: str, resume: bool,
           as_json: bool, workers: int) -> None:
    """批量导入文件、文件夹或 zip 压缩包，逐个文件给出结果。"""
    store = store_for(current_app)
    if resume:
        job_ids = unfinished_jobs(store, kind="ingest")
        if not job_ids:
            click.echo("没有未完成的导入任务。")
            return
    else:
        if not paths or not campaign_id or not recommender:
            raise click.UsageError("需要 PATH、--campaign 和 --as")
        try:
            source = catalog().campaign(campaign_id).data.get("submitters", "")
            catalog().entity(source, recommender)
        except LookupError as exc:
            raise click.ClickException(str(exc)) from None
        sources = [{"kind": "path", "path": str(Path(p).resolve())} for p in paths]
        job_ids = [create_job(store, sources, campaign_id, recommender, by)]
    summaries = []
    for job_id in job_ids:
        with click.progressbar(length=1, label=f"导入任务 {job_id}", file=sys.stderr) as bar:
            def progress(done: int, total: int, bar=bar) -> None:
                bar.length = max(total, 1)
                bar.update(done - bar.pos)
            run_job(store, job_id, progress=progress, workers=workers)
        summaries.append(job_summary(store, job_id))
    if as_json:
        click.echo(json.dumps(summaries[0] if len(summaries) == 1 else summaries, ensure_ascii=False, indent=2))
        return
    for summary in summaries:
        for item in summary["items"]:
            label = RESULT_LABELS.get(item["result"], item["result"])
            code = f" [{item['code']}]" if item["code"] else ""
            click.echo(f"{item['seq']:>5}  {label:<4}{code}  {item['name']}")
        counts = "，".join(f"{RESULT_LABELS.get(k, k)} {v}" for k, v in sorted(summary["counts"].items()))
        click.echo(f"任务 {summary['id']}：共 {summary['total']} 个文件：{counts}")


def init_app(app) -> None:
    for command in (init_db, users, tokens, ingest):
        app.cli.add_command(command)
