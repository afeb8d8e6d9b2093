"""``flask ingest``: bulk ingest of files, folders and zips from the command line, one result per file, or the
resumption of ingests that were cut short (``--resume``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from service.forms.catalog import catalog
from service.jobs.dispatch import unfinished_jobs
from service.jobs.ingest import create_job, run_job
from service.jobs.summary import job_summary
from service.outputs.exports import STATUS_LABELS
from service.store import store_for

RESULT_LABELS = {**STATUS_LABELS, "stored": "已保存"}


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
