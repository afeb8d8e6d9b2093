"""``flask worker``: the background jobs and the e-mail outbox in a process of their own, serving no HTTP.

A deployment runs it as ``jth-worker.service`` beside the web processes (which then leave
``JTH_JOBS_AUTOSTART`` off): it resumes the jobs a stopped process left unfinished, looks for queued jobs every
``--poll`` seconds, and sends the outbox, the reminders and the staff's digest. Jobs claim their row in the database
(:mod:`service.jobs.claim`), so this process and the web processes never run the same job twice.

SIGTERM (``systemctl stop``) or Ctrl-C stops it cleanly: no new round starts, and the mail round and the job in
progress get ``--stop-timeout`` seconds together to finish; a job still running after that is resumed by the next
worker that starts (its claim names this process, which is gone).

With ``JTH_CELERY_BROKER`` set, the jobs come from Celery instead (:mod:`service.jobs.celery_runner`): this command
runs a Celery worker in the process (one job at a time; run one per host, or more) beside the same mail outbox, and
``--poll`` is how often it sweeps for jobs whose worker was lost. SIGTERM is then Celery's warm shutdown: the job in
progress ends first.
"""

from __future__ import annotations

import logging
import signal
import threading
import time

import click
from flask import current_app
from flask.cli import with_appcontext

from service.jobs.mail import sender_for
from service.jobs.runner import ThreadRunner, runner_for

log = logging.getLogger(__name__)


@click.command("worker")
@click.option("--poll", default=10.0, show_default=True, type=click.FloatRange(min=0.1),
              help="每隔多少秒查看一次有无待运行的任务")
@click.option("--stop-timeout", default=30.0, show_default=True, type=click.FloatRange(min=0),
              help="收到停止信号后，等待正在运行的任务完成的最长秒数")
@with_appcontext
def worker(poll: float, stop_timeout: float) -> None:
    """运行后台任务（批量导入、资料汇编）与通知邮件发送，不提供网页服务；收到 SIGTERM 或 Ctrl-C 后停止。"""
    if not logging.getLogger().handlers:  # journald keeps what goes to stderr
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app = current_app._get_current_object()
    runner = runner_for(app)
    if not isinstance(runner, ThreadRunner):
        _celery_worker(app, runner, poll)
        return
    stopping = threading.Event()

    def stop(signum: int, _frame) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stopping.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    sender = sender_for(app)
    try:
        runner.start()  # resumes what an earlier process left unfinished
        sender.start()
        click.echo(f"后台任务进程已启动：每 {poll:g} 秒查看待运行的任务；通知邮件"
                   + ("按配置发送。" if sender.settings else "未配置邮件服务器，通知只在平台内显示。"), err=True)
        while not stopping.wait(poll):
            if runner.queue.empty():  # one wake-up waiting is enough: a round runs every job it can claim
                runner.submit(0)
        deadline = time.monotonic() + stop_timeout  # one allowance for the mail round and the job together
        sender.stop(timeout=stop_timeout)
        while runner.queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.1)
        if runner.queue.unfinished_tasks:
            click.echo(f"正在运行的任务 {stop_timeout:g} 秒内未完成：下次启动后台任务进程时继续。", err=True)
        else:
            click.echo("后台任务进程已停止。", err=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _celery_worker(app, runner, poll: float) -> None:
    """A Celery worker in this process, beside the mail outbox; Celery handles SIGTERM (warm) and SIGINT itself."""
    sender = sender_for(app)
    sender.start()
    click.echo("后台任务进程已启动（Celery）：任务由消息队列分派；每 "
               f"{poll:g} 秒检查一次失去执行进程的任务；通知邮件"
               + ("按配置发送。" if sender.settings else "未配置邮件服务器，通知只在平台内显示。"), err=True)
    try:
        code = runner.work(every=poll)
    finally:
        sender.stop(timeout=30)
    click.echo("后台任务进程已停止。", err=True)
    if code:
        raise SystemExit(code)
