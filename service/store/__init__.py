"""The store: a database (SQLite in the instance folder by default, PostgreSQL with ``DATABASE_URL``) and a
content-addressed file store beside it (a folder, or S3-compatible object storage with ``FILE_STORE=s3://…``).
Plain Python; the Flask app and the CLI get one through :func:`store_for`."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url, select
from sqlalchemy.orm import Session, sessionmaker

from service.forms.catalog import Catalog, catalog
from service.store.files import FileStore, LocalFileStore
from service.store.models import Campaign, Entity

MIGRATIONS = Path(__file__).resolve().parent.parent.parent / "migrations"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _private_file(path: str | None) -> None:
    """Create the SQLite file readable by its owner only (0600), like the stored files and the secret key: it
    holds password hashes and every record. SQLite gives its -wal and -shm files the same mode."""
    if path and path != ":memory:" and not Path(path).exists():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def open_file_store(location: str | Path, *, endpoint_url: str = "", region: str = "", access_key: str = "",
                    secret_key: str = "", addressing_style: str = "") -> FileStore:
    """The file store at ``location``: ``s3://bucket/prefix`` for object storage, anything else a folder.

    Without ``access_key``/``secret_key`` the S3 client finds credentials the standard way
    (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``~/.aws``, an instance role).
    """
    text = str(location)
    if text.startswith("s3://"):
        from service.store.objects import ObjectFileStore  # boto3 loads only where object storage is used

        return ObjectFileStore.from_url(text, endpoint_url=endpoint_url, region=region, access_key=access_key,
                                        secret_key=secret_key, addressing_style=addressing_style)
    return LocalFileStore(Path(text))


class Store:
    """Database + file store for one installation."""

    def __init__(self, url: str, files: Path | str | FileStore) -> None:
        self.url = url
        kwargs = {"future": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            _private_file(make_url(url).database)
        self.engine: Engine = create_engine(url, pool_pre_ping=True, **kwargs)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.session: sessionmaker[Session] = sessionmaker(self.engine, expire_on_commit=False)
        # A folder, an s3:// location (endpoint and keys then from the standard AWS_* environment), or a store made.
        self.files: FileStore = open_file_store(files) if isinstance(files, str | Path) else files
        # Seconds a job's claim may go without a heartbeat before another process or host takes the job over
        # (service.jobs.claim); JTH_JOB_CLAIM_TIMEOUT. Shorter is quicker to recover from a lost worker.
        self.claim_timeout: float = 60.0  # service.jobs.claim.STALE

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def load_reference(self, cat: Catalog | None = None) -> tuple[int, int]:
        """Campaigns and reference rows from the data files into the database (the files stay the source)."""
        cat = cat or catalog()
        with self.session.begin() as s:
            for c in cat.campaigns.values():
                s.merge(Campaign(id=c.id, title=c.title, document_number=c.data["document_number"],
                                 deadline=c.data["deadline"], data=c.data))
            n = 0
            for source, _ref in cat.reference.items():
                for row in cat.entities(source):
                    key = str(row.get("id") or row.get("seq"))
                    s.merge(Entity(source=source, id=key, name=row["name"], type=row.get("type", ""), data=row))
                    n += 1
            return len(cat.campaigns), n

    def entity_exists(self, source: str, entity_id: str) -> bool:
        with self.session() as s:
            return s.scalar(select(Entity.id).where(Entity.source == source, Entity.id == entity_id)) is not None

    def dispose(self) -> None:
        self.engine.dispose()


def default_url(instance_path: str) -> str:
    return os.environ.get("DATABASE_URL") or f"sqlite:///{Path(instance_path) / 'jth.sqlite3'}"


def store_for(app) -> Store:
    """The app's store, created on first use from ``DATABASE_URL`` / ``FILE_STORE`` (defaults: the instance folder)
    and, for ``FILE_STORE=s3://bucket/prefix``, the ``S3_*`` settings."""
    store = app.extensions.get("jth_store")
    if store is None:
        url = app.config.get("DATABASE_URL") or default_url(app.instance_path)
        location = str(app.config.get("FILE_STORE") or Path(app.instance_path) / "files")
        config = app.config
        files = open_file_store(location, endpoint_url=str(config.get("S3_ENDPOINT_URL") or ""),
                                region=str(config.get("S3_REGION") or ""),
                                access_key=str(config.get("S3_ACCESS_KEY") or ""),
                                secret_key=str(config.get("S3_SECRET_KEY") or ""),
                                addressing_style=str(config.get("S3_ADDRESSING_STYLE") or ""))
        store = app.extensions["jth_store"] = Store(url, files)
        store.claim_timeout = float(config.get("JOB_CLAIM_TIMEOUT") or 60)
    return store
