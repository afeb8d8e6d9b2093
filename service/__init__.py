"""Document automation for the 示范性职业教育集团（联盟） campaigns: generate, collect and check forms."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from service.app_json import BoundedJSONProvider

DEV_SECRET = "dev-only-change-me"


def instance_secret(instance: Path) -> str:
    """The session-signing key of this installation: ``instance/secret_key``, made once with 256 random bits.

    A key known to anyone (the default in the source) would let them sign a session as any user. The file is
    created exclusively, so gunicorn workers starting together agree on one key.
    """
    path = instance / "secret_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text(encoding="ascii").strip()
        if key:
            return key
        raise RuntimeError(f"{path} 为空：请删除该文件后重新启动，服务会生成新的密钥") from None
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        key = secrets.token_hex(32)
        fh.write(key)
    return key


def _answer_errors(app: Flask) -> None:
    """Errors anywhere in the app: as JSON under ``/api/`` (:mod:`service.api`), as a Chinese page elsewhere
    (:mod:`service.web.errors`). The choice is made here, above both surfaces, so neither imports the other."""
    from werkzeug.exceptions import HTTPException

    from service import api
    from service.web import errors

    def http_error(exc: HTTPException):
        if exc.code is None:
            return exc
        return api.http_error(exc) if api.is_api_request() else errors.web_error(exc)

    def unexpected_error(exc: Exception):
        # On a page this re-raises in testing and debugging; the API always answers a JSON 500.
        return api.unexpected_error(exc) if api.is_api_request() else errors.web_unexpected(exc)

    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected_error)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then ``instance/config.py``, then the caller's overrides."""
    # JTH_INSTANCE_PATH: where config.py, the SQLite database, the files and the secret key live (default
    # instance/ beside the code); read before the app exists, since Flask fixes its instance folder at creation.
    app = Flask(__name__, instance_relative_config=True, instance_path=os.environ.get("JTH_INSTANCE_PATH") or None,
                template_folder="web/templates", static_folder="web/static")
    app.config.from_mapping(
        SECRET_KEY=DEV_SECRET,
        MAX_CONTENT_LENGTH=20 * 1024 * 1024,
        JSON_AS_ASCII=False,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=8 * 3600,
        WTF_CSRF_TIME_LIMIT=8 * 3600,
        # Notices by e-mail (service.jobs.mail), from JTH_MAIL_* like every setting; no MAIL_SERVER: in the app only.
        MAIL_SERVER="", MAIL_PORT=0, MAIL_FROM="", MAIL_USERNAME="", MAIL_PASSWORD="", MAIL_USE_STARTTLS=False,
        MAIL_USE_TLS=False, PUBLIC_URL="",
        # Mail in (service.jobs.mailin, `flask mail fetch`), from JTH_MAILIN_*; no MAILIN_HOST: no mailbox is read.
        JOBS_RUN_HERE=True,  # False: this process only queues jobs; `flask worker` runs them
        # Celery with Redis (service.jobs.celery_runner) when set, e.g. redis://10.0.0.5:6379/0; else the embedded
        # runner. JOB_CLAIM_TIMEOUT: seconds of silence after which another process or host takes a job over.
        CELERY_BROKER="", JOB_CLAIM_TIMEOUT=60,
        MAILIN_HOST="", MAILIN_PORT=0, MAILIN_USER="", MAILIN_PASSWORD="", MAILIN_SSL=True, MAILIN_FOLDER="INBOX",
        # Files in object storage (service.store.objects) when JTH_FILE_STORE=s3://bucket/prefix, from JTH_S3_*;
        # without S3_ACCESS_KEY the keys come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or ~/.aws, a role).
        S3_ENDPOINT_URL="", S3_REGION="", S3_ACCESS_KEY="", S3_SECRET_KEY="", S3_ADDRESSING_STYLE="",
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("JTH")
    else:
        app.config.from_mapping(test_config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if app.config["SECRET_KEY"] == DEV_SECRET and test_config is None:
        app.config["SECRET_KEY"] = instance_secret(Path(app.instance_path))
    app.json = BoundedJSONProvider(app)
    if hops := int(app.config.get("PROXY_HOPS") or 0):
        # Behind N trusted proxies (the README's HTTPS proxy: JTH_PROXY_HOPS=1) the client's address, scheme and
        # host are the ones the proxies saw: the login throttle and the audit log then see each person, not the
        # proxy. Never set more hops than there are proxies: a client could then choose its own address.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    from service import api, cli
    from service.web import health, init_web

    app.register_blueprint(health.bp)
    app.register_blueprint(api.bp)
    cli.init_app(app)
    init_web(app, token_api=api.bp)
    _answer_errors(app)
    if app.config.get("JOBS_AUTOSTART"):
        # Under the web server (scripts/run.sh sets JTH_JOBS_AUTOSTART): a job worker thread per process that
        # resumes unfinished jobs; claims in the database keep two processes off the same job.
        from service.jobs.mail import sender_for
        from service.jobs.runner import runner_for

        runner_for(app).start()
        sender_for(app).start()  # the e-mail outbox, reminders and the staff's digest
    return app
