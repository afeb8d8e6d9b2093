"""The store: a database (SQLite in the instance folder by default, PostgreSQL with ``DATABASE_URL``) and a
content-addressed file store beside it. Plain Python; the Flask app and the CLI get one through :func:`store_for`."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url, select
from sqlalchemy.orm import Session, sessionmaker

from service.forms.catalog import Catalog, catalog
from service.store.files import FileStore
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


class Store:
    """Database + file store for one installation."""

    def __init__(self, url: str, files: Path) -> None:
        self.url = url
        kwargs = {"future": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            _private_file(make_url(url).database)
        self.engine: Engine = create_engine(url, pool_pre_ping=True, **kwargs)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.session: sessionmaker[Session] = sessionmaker(self.engine, expire_on_commit=False)
        self.files = FileStore(files)

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
    """The app's store, created on first use from ``DATABASE_URL`` / ``FILE_STORE`` (defaults: the instance folder)."""
    store = app.extensions.get("jth_store")
    if store is None:
        url = app.config.get("DATABASE_URL") or default_url(app.instance_path)
        files = app.config.get("FILE_STORE") or str(Path(app.instance_path) / "files")
        store = app.extensions["jth_store"] = Store(url, Path(files))
    return store
