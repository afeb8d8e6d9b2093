"""``flask backup create|verify|restore``: one archive with the database, every stored file and the published forms,
and its way back.

The archive is a ``.tar.gz`` whose first entry is ``manifest.json`` (the schema's Alembic revision, the rows of
every table, the sha256 and size of the database copy and of each file), then ``database/…`` and ``files/ab/cd/…``
(the file store's own layout): every file of the store, a folder walked or a bucket's prefix listed. Last come
``forms-data/…``: the files of the instance layer the form designer publishes into (``FORMS_DATA``, read under its
publication lock), listed in the manifest's ``forms_data`` as the stored files are (an empty list: no published
form; drafts are rows and stored files, already in). The database copy is consistent while the service runs: SQLite
through its online backup API, PostgreSQL by ``pg_dump`` in custom format inside a snapshot that the counts are read
in too. Files are written before the rows that name them (:mod:`service.actions.intake`), so a file the copy names is
always there.

Restoring reads the archive twice: first every entry is checked against the manifest (nothing else may be in
it, nothing may be missing, every sha256 must match) before anything is written; then the files are stored, the
database restored, its rows counted against the manifest, an older schema migrated to this code's, and the
layer of published forms replaced by the archive's (written beside it first, then moved into place).
The target must hold nothing but what ``flask init-db`` loads, and no published form, unless ``--force``.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import click
from alembic.script import ScriptDirectory
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import URL, Connection, MetaData, create_engine, func, inspect, make_url, select, table, text

from service.actions.form_designer import publication_lock
from service.forms.catalog import forms_layer
from service.store import MIGRATIONS, Store, store_for

FORMAT = "jth-backup"
VERSION = 2  # 2: the published forms (``forms_data``); an archive of version 1 has none
MANIFEST = "manifest.json"
MANIFEST_MAX = 256 * 1024 * 1024
CHUNK = 1024 * 1024
# What `flask init-db` loads into an empty installation: a target holding only these rows counts as empty.
REFERENCE_TABLES = frozenset({"alembic_version", "campaigns", "entities"})
DATABASE_MEMBER = {"sqlite": "database/jth.sqlite3", "postgresql": "database/jth.pgdump"}
LAYER_MEMBER = "forms-data/"
_SHA = re.compile(r"[0-9a-f]{64}")

backup = click.Group("backup", help="备份与恢复：数据库、文件存储中的全部文件和发布的表单，放在一个 .tar.gz 归档中。")


class Refused(click.ClickException):
    """The archive or the target is not what a restore needs; nothing was changed."""


@dataclass
class Snapshot:
    """A consistent copy of the database, and what the manifest says of it."""

    kind: str
    path: Path
    revision: str | None
    counts: dict[str, int]
    referenced: set[str] = field(default_factory=set)


# ---- the database ---------------------------------------------------------------------------------------


def _kind(url: str) -> str:
    name = make_url(url).get_backend_name()
    if name not in DATABASE_MEMBER:
        raise click.ClickException(f"不支持备份 {name} 数据库：只支持 SQLite 和 PostgreSQL")
    return name


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The libpq address of ``DATABASE_URL`` for pg_dump/pg_restore, and its password apart (in the environment,
    where ``ps`` does not show it)."""
    u = make_url(url)
    address = URL.create("postgresql", username=u.username, host=u.host, port=u.port, database=u.database,
                         query=u.query).render_as_string(hide_password=False)
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    return address, env


def _run(command: list[str], env: dict[str, str]) -> None:
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise click.ClickException(f"找不到 {command[0]}：请安装 PostgreSQL 客户端（apt-get install postgresql-client），"
                                   "其版本不低于数据库服务器的版本") from None
    if done.returncode != 0:
        raise click.ClickException(f"{command[0]} 失败（退出码 {done.returncode}）：{done.stderr.strip()[-1500:]}")


def _counts(conn: Connection) -> dict[str, int]:
    """Rows of every table of the schema (but Alembic's own)."""
    names = sorted(set(inspect(conn).get_table_names()) - {"alembic_version"})
    return {name: conn.scalar(select(func.count()).select_from(table(name))) for name in names}


def _revision(conn: Connection) -> str | None:
    if "alembic_version" not in inspect(conn).get_table_names():
        return None
    return conn.scalar(text("SELECT version_num FROM alembic_version"))


def _referenced(conn: Connection) -> set[str]:
    """The sha256 of every file the database names: stored uploads and attachments, and jobs' results."""
    names = set(inspect(conn).get_table_names())
    found: set[str] = set()
    if "stored_files" in names:
        found.update(conn.scalars(text("SELECT sha256 FROM stored_files")))
    if "jobs" in names:
        found.update(conn.scalars(text("SELECT result_sha256 FROM jobs WHERE result_sha256 IS NOT NULL")))
    return {sha for sha in found if sha and _SHA.fullmatch(sha)}


def _describe(conn: Connection) -> tuple[str | None, dict[str, int], set[str]]:
    return _revision(conn), _counts(conn), _referenced(conn)


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise click.ClickException("内存中的 SQLite 数据库无法备份或恢复")
    return Path(database)


def _snapshot_sqlite(store: Store, folder: Path) -> Snapshot:
    source = _sqlite_path(store.url)
    if not source.exists():
        raise click.ClickException(f"数据库文件 {source} 不存在：请先运行 flask init-db")
    target = folder / "jth.sqlite3"
    src, dst = sqlite3.connect(source, timeout=30), sqlite3.connect(target)
    try:
        src.backup(dst)  # one step: a consistent copy while the service keeps writing
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    finally:
        dst.close()
        src.close()
    engine = create_engine(f"sqlite:///{target}")
    try:
        with engine.connect() as conn:
            revision, counts, referenced = _describe(conn)
    finally:
        engine.dispose()
    return Snapshot("sqlite", target, revision, counts, referenced)


def _snapshot_postgresql(store: Store, folder: Path) -> Snapshot:
    target = folder / "jth.pgdump"
    address, env = _libpq(store.url)
    with store.engine.connect() as conn:
        conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            # pg_dump reads in the snapshot this transaction exports, so the counts are those of the dump.
            snapshot = conn.scalar(text("SELECT pg_export_snapshot()"))
            revision, counts, referenced = _describe(conn)
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
                  f"--file={target}", f"--dbname={address}"], env)
    return Snapshot("postgresql", target, revision, counts, referenced)


def _restore_sqlite(store: Store, staged: Path) -> None:
    target = _sqlite_path(store.url)
    store.dispose()
    src, dst = sqlite3.connect(staged), sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)  # the whole database is replaced, whatever tables it had
        dst.execute("PRAGMA journal_mode=WAL")
    finally:
        dst.close()
        src.close()


def _restore_postgresql(store: Store, staged: Path) -> None:
    with store.engine.begin() as conn:  # an installation that ran `flask init-db` has tables already
        tables = MetaData()
        tables.reflect(conn)
        tables.drop_all(conn)
    store.dispose()
    address, env = _libpq(store.url)
    _run(["pg_restore", "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
          f"--dbname={address}", str(staged)], env)


# ---- the files --------------------------------------------------------------------------------------------


def _local_root(store: Store) -> Path | None:
    """The file store's folder; None for object storage."""
    root = getattr(store.files, "root", None)
    return Path(root) if root is not None else None


def _local_files(root: Path) -> Iterator[Path]:
    """Every stored file below ``root`` (``ab/cd/abcd…``), not the temporary files of writes in progress."""
    for path in sorted(root.glob("??/??/*")):
        name = path.name
        if _SHA.fullmatch(name) and path.parent.name == name[2:4] and path.parent.parent.name == name[:2] \
                and path.is_file():
            yield path


def _listing(store: Store) -> list[tuple[str, int]] | None:
    """Every file the store holds, with its size: the folder walked, or the bucket listed under the store's prefix
    (``service.store.objects``); None for a store that cannot be listed."""
    root = _local_root(store)
    if root is not None:
        return [(path.name, path.stat().st_size) for path in _local_files(root)]
    client, bucket = getattr(store.files, "client", None), getattr(store.files, "bucket", None)
    if client is None or bucket is None:
        return None
    prefix = getattr(store.files, "prefix", "")
    found = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            parts = item["Key"][len(prefix):].split("/")
            if len(parts) == 3 and _SHA.fullmatch(parts[2]) and parts[:2] == [parts[2][:2], parts[2][2:4]]:
                found.append((parts[2], int(item["Size"])))
    return sorted(found)


def _member(sha: str) -> str:
    return f"files/{sha[:2]}/{sha[2:4]}/{sha}"


class _Hashing:
    """A reader that keeps the sha256 of what passed through it."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh, self.digest = fh, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        self.digest.update(data)
        return data


# ---- the published forms -----------------------------------------------------------------------------------


def _forms_layer() -> Path | None:
    """The instance layer the form designer publishes into (:func:`service.forms.catalog.forms_layer`)."""
    return forms_layer(current_app)


def _layer_files(layer: Path | None) -> list[str]:
    """The layer's files, relative (``data/campaigns/…``, ``schemas/…``, ``templates/…``); hidden ones left out, as
    the designer's copies of the layer leave them."""
    if layer is None or not layer.is_dir():
        return []
    found = (path.relative_to(layer) for path in layer.rglob("*") if path.is_file())
    return sorted(rel.as_posix() for rel in found if not any(part.startswith(".") for part in rel.parts))


def _layer_path(name: str) -> str | None:
    """The path in the layer of archive entry ``name`` (``forms-data/…``): relative, no hidden or empty step."""
    rel = name.removeprefix(LAYER_MEMBER)
    parts = rel.split("/")  # "." and ".." are hidden steps too
    return None if rel == name or not all(parts) or any(part.startswith(".") for part in parts) else rel


@contextmanager
def _layer_beside(layer: Path | None) -> Iterator[Path | None]:
    """An empty folder beside the layer (same file system) to write the restored layer into, removed after; None
    for no layer."""
    if layer is None:
        yield None
        return
    layer.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=layer.parent, prefix=f".{layer.name}-restore-"))
    try:
        (folder / "new").mkdir()
        yield folder / "new"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _replace_layer(layer: Path, staged: Path) -> None:
    """Put ``staged`` in the place of ``layer``; the old layer goes with the staging folder."""
    old = staged.parent / "old"
    if layer.exists():
        layer.rename(old)
    try:
        staged.rename(layer)
    except OSError:
        if old.exists():
            old.rename(layer)
        raise


# ---- create -----------------------------------------------------------------------------------------------


def _add(tar: tarfile.TarFile, name: str, size: int, fh: IO[bytes], sha256: str) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o600, int(dt.datetime.now(dt.UTC).timestamp())
    reader = _Hashing(fh)
    tar.addfile(info, reader)
    if reader.digest.hexdigest() != sha256:
        raise click.ClickException(f"{name} 的内容与其 sha256 不符：文件存储中的这个文件已损坏，未生成备份")


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _file_list(store: Store, referenced: set[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """What goes in the archive: every file of the store (of a store that cannot be listed, every file the
    database names), and the names the database holds that the store lacks."""
    listed = _listing(store)
    if listed is None:
        listed = [(sha, len(store.files.get(sha))) for sha in sorted(referenced) if store.files.exists(sha)]
    files = [{"name": _member(sha), "sha256": sha, "size": size} for sha, size in listed]
    have = {f["sha256"] for f in files}
    return files, sorted(referenced - have)


@contextmanager
def _stored(store: Store, sha: str) -> Iterator[IO[bytes]]:
    root = _local_root(store)
    if root is not None:
        with store.files.path(sha).open("rb") as fh:
            yield fh
    else:
        yield io.BytesIO(store.files.get(sha))


@backup.command("create")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="备份归档的文件名（.tar.gz）")
@with_appcontext
def backup_create(output: Path) -> None:
    """备份数据库和文件存储中的全部文件（服务运行时也可备份）。"""
    if output.exists():
        raise click.ClickException(f"{output} 已存在：请换一个文件名，备份不会覆盖已有的文件")
    store = store_for(current_app)
    kind = _kind(store.url)
    layer = _forms_layer()
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="jth-backup-") as folder:
        snap = (_snapshot_sqlite if kind == "sqlite" else _snapshot_postgresql)(store, Path(folder))
        files, missing = _file_list(store, snap.referenced)
        published: list[tuple[dict[str, Any], bytes]] = []
        if layer is not None:
            with publication_lock(layer, create=False):  # a publication's files all, or none of them
                for rel in _layer_files(layer):
                    data = (layer / rel).read_bytes()
                    published.append(({"name": LAYER_MEMBER + rel, "sha256": hashlib.sha256(data).hexdigest(),
                                       "size": len(data)}, data))
        database = {"kind": kind, "name": DATABASE_MEMBER[kind], "sha256": _sha256_of(snap.path),
                    "size": snap.path.stat().st_size}
        manifest = {"format": FORMAT, "version": VERSION, "created_at": dt.datetime.now(dt.UTC).isoformat(),
                    "alembic_revision": snap.revision, "counts": snap.counts, "database": database,
                    "files": files, "missing_files": missing, "forms_data": [item for item, _ in published]}
        body = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
        fd, part = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=".part")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as raw:
                with tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6) as tar:
                    _add(tar, MANIFEST, len(body), io.BytesIO(body), hashlib.sha256(body).hexdigest())
                    with snap.path.open("rb") as fh:
                        _add(tar, database["name"], database["size"], fh, database["sha256"])
                    for item in files:
                        with _stored(store, item["sha256"]) as fh:
                            _add(tar, item["name"], item["size"], fh, item["sha256"])
                    for item, data in published:
                        _add(tar, item["name"], item["size"], io.BytesIO(data), item["sha256"])
                raw.flush()
                os.fsync(raw.fileno())
            os.replace(part, output)
        except BaseException:
            Path(part).unlink(missing_ok=True)
            raise
    size = sum(f["size"] for f in files)
    click.echo(f"备份已写入 {output}：数据库（{kind}，版本 {snap.revision}，{sum(snap.counts.values())} 行），"
               f"{len(files)} 个文件（{size / 1024 / 1024:.1f} MB），" + _published_words(len(published)) + "。")
    if missing:
        click.echo(f"注意：数据库中有 {len(missing)} 个文件在文件存储中找不到（已在清单 missing_files 中列出）："
                   + "、".join(missing[:5]) + ("……" if len(missing) > 5 else ""), err=True)


def _published_words(count: int) -> str:
    return f"{count} 个发布表单的文件" if count else "没有发布的表单"


# ---- verify and restore --------------------------------------------------------------------------------


@contextmanager
def _entries(archive: Path) -> Iterator[Iterator[tuple[tarfile.TarInfo, IO[bytes]]]]:
    """The archive's entries in order, each with a reader; anything but regular files is refused."""
    try:
        with tarfile.open(archive, mode="r|gz") as tar:
            def entries() -> Iterator[tuple[tarfile.TarInfo, IO[bytes]]]:
                for info in tar:
                    if not info.isreg():
                        raise Refused(f"归档中有不是普通文件的条目 {info.name!r}：这不是本服务生成的备份，未恢复任何内容")
                    yield info, tar.extractfile(info)
            yield entries()
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise Refused(f"{archive} 不是完整的备份归档（.tar.gz）：{exc}") from None


def _read_manifest(entries: Iterator[tuple[tarfile.TarInfo, IO[bytes]]], archive: Path) -> dict[str, Any]:
    first = next(entries, None)
    if first is None or first[0].name != MANIFEST or first[0].size > MANIFEST_MAX:
        raise Refused(f"{archive} 的第一项不是 {MANIFEST}：这不是本服务生成的备份")
    try:
        manifest = json.loads(first[1].read())
    except ValueError as exc:
        raise Refused(f"{MANIFEST} 不是有效的 JSON：{exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise Refused(f"{archive} 不是本服务生成的备份（{MANIFEST} 的 format 不是 {FORMAT}）")
    if not isinstance(manifest.get("version"), int) or manifest["version"] > VERSION:
        raise Refused(f"备份的格式版本 {manifest.get('version')} 比本程序支持的 {VERSION} 新：请先升级本安装")
    database, files = manifest.get("database"), manifest.get("files")
    if not isinstance(database, dict) or database.get("name") != DATABASE_MEMBER.get(database.get("kind")) \
            or not isinstance(files, list) or not isinstance(manifest.get("counts"), dict):
        raise Refused(f"{MANIFEST} 不完整（database、files、counts）")
    for item in files:
        sha = item.get("sha256") if isinstance(item, dict) else None
        if not isinstance(sha, str) or not _SHA.fullmatch(sha) or item.get("name") != _member(sha) \
                or not isinstance(item.get("size"), int):
            raise Refused(f"{MANIFEST} 中的文件条目有误：{item!r}")
    published = manifest.setdefault("forms_data", [])  # version 1: no published forms
    if not isinstance(published, list):
        raise Refused(f"{MANIFEST} 不完整（forms_data）")
    for item in published:
        sha, name = (item.get("sha256"), item.get("name")) if isinstance(item, dict) else (None, None)
        if not isinstance(sha, str) or not _SHA.fullmatch(sha) or not isinstance(name, str) \
                or _layer_path(name) is None or not isinstance(item.get("size"), int):
            raise Refused(f"{MANIFEST} 中发布表单的文件条目有误：{item!r}")
    return manifest


def _check(entries: Iterator[tuple[tarfile.TarInfo, IO[bytes]]], manifest: dict[str, Any],
           database_copy: Path | None) -> None:
    """Every entry after the manifest against it: known, once, the right size and sha256; none missing.
    The database entry is written to ``database_copy`` on the way."""
    expected = {item["name"]: item for item in manifest["files"] + manifest["forms_data"]}
    expected[manifest["database"]["name"]] = manifest["database"]
    seen: set[str] = set()
    for info, fh in entries:
        item = expected.get(info.name)
        if item is None or info.name in seen:
            raise Refused(f"归档中有清单之外的条目 {info.name!r}：备份已被改动，未恢复任何内容")
        seen.add(info.name)
        digest = hashlib.sha256()
        out = database_copy.open("wb") if database_copy is not None and item is manifest["database"] else None
        try:
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
                if out is not None:
                    out.write(chunk)
        finally:
            if out is not None:
                out.close()
        if info.size != item.get("size") or digest.hexdigest() != item.get("sha256"):
            raise Refused(f"归档中的 {info.name} 与清单记录的 sha256 不符：备份已损坏或被改动，未恢复任何内容")
    missing = sorted(set(expected) - seen)
    if missing:
        raise Refused(f"归档缺少清单中的 {len(missing)} 项（如 {missing[0]}）：备份不完整，未恢复任何内容")


def _verified(archive: Path, database_copy: Path | None = None) -> dict[str, Any]:
    with _entries(archive) as entries:
        manifest = _read_manifest(entries, archive)
        _check(entries, manifest, database_copy)
    return manifest


def _known_revisions() -> tuple[list[str], str | None]:
    script = ScriptDirectory(str(MIGRATIONS))
    return [rev.revision for rev in script.walk_revisions()], script.get_current_head()


def _occupied(store: Store, layer: Path | None) -> list[str]:
    """What the target holds beyond what ``flask init-db`` loads: rows of other tables, stored files, published
    forms."""
    with store.engine.connect() as conn:
        counts = _counts(conn)
    found = [f"{name}（{n} 行）" for name, n in counts.items() if n and name not in REFERENCE_TABLES]
    if _listing(store):
        found.append(f"文件存储 {store.files!r} 中的文件")
    if _layer_files(layer):
        found.append(f"发布表单的目录 {layer} 中的文件")
    return found


@backup.command("verify")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def backup_verify(archive: Path) -> None:
    """检查备份归档是否完整：每一项都与清单中的 sha256 相符，不缺也不多（不改动任何数据）。"""
    manifest = _verified(archive)
    click.echo(f"{archive} 完整：数据库（{manifest['database']['kind']}，版本 {manifest.get('alembic_revision')}），"
               f"{len(manifest['files'])} 个文件，{_published_words(len(manifest['forms_data']))}，"
               f"创建于 {manifest.get('created_at')}。")


@backup.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True,
              help="目标安装中已有数据时也恢复（数据库和发布表单的目录被备份中的内容整个替换）")
@with_appcontext
def backup_restore(archive: Path, force: bool) -> None:
    """把备份恢复到本安装（空的数据库、文件存储和发布表单的目录）；恢复前先校验归档中的每一项，较旧的数据库版本
    恢复后自动迁移。

    恢复前请停止服务（systemctl stop jth-web jth-worker jth-scheduler.timer）。"""
    store = store_for(current_app)
    kind = _kind(store.url)
    with _entries(archive) as entries:
        manifest = _read_manifest(entries, archive)
    if manifest["database"]["kind"] != kind:
        raise Refused(f"备份中的数据库是 {manifest['database']['kind']}，本安装使用 {kind}：不能直接恢复")
    revision = manifest.get("alembic_revision")
    known, head = _known_revisions()
    if revision not in known:
        raise Refused(f"备份的数据库版本 {revision} 不是本程序认识的版本（最新为 {head}）：请先把本安装升级到"
                      "生成备份的版本或更新的版本")
    layer = _forms_layer()
    if manifest["forms_data"] and layer is None:
        raise Refused(f"备份中有 {len(manifest['forms_data'])} 个发布表单的文件，本安装没有设置发布表单的目录"
                      "（FORMS_DATA 为空）：请在 instance/config.py 中设置后再恢复")
    occupied = _occupied(store, layer)
    if occupied and not force:
        raise Refused("目标安装中已有数据（" + "、".join(occupied[:6]) + "）：恢复会替换这些数据。请恢复到新的空安装，"
                      "或确认后加 --force")
    with tempfile.TemporaryDirectory(prefix="jth-restore-") as folder:
        staged = Path(folder) / Path(manifest["database"]["name"]).name
        if _verified(archive, staged) != manifest:  # the whole archive checked before anything is written
            raise Refused(f"{archive} 在恢复过程中被替换了：未恢复任何内容，请重新恢复")
        wanted = {item["name"]: item["sha256"] for item in manifest["files"]}
        published = {item["name"]: item["sha256"] for item in manifest["forms_data"]}
        # The layer is replaced when the archive or the target has published forms; else it stays empty.
        replace = layer is not None and bool(published or _layer_files(layer))
        with _layer_beside(layer if replace else None) as beside:
            with _entries(archive) as entries:
                for info, fh in entries:
                    if info.name in wanted:
                        if store.files.put(fh.read(), durable=False) != wanted[info.name]:
                            raise click.ClickException(f"{info.name} 在恢复过程中变了：归档被改动，请重新恢复")
                    elif info.name in published and beside is not None:
                        data = fh.read()
                        if hashlib.sha256(data).hexdigest() != published[info.name]:
                            raise click.ClickException(f"{info.name} 在恢复过程中变了：归档被改动，请重新恢复")
                        path = beside / str(_layer_path(info.name))
                        path.parent.mkdir(parents=True, exist_ok=True)
                        path.write_bytes(data)
            store.files.sync()
            (_restore_sqlite if kind == "sqlite" else _restore_postgresql)(store, staged)
            if beside is not None and layer is not None:
                with publication_lock(layer, create=False):
                    _replace_layer(layer, beside)
    with store.engine.connect() as conn:
        counts = _counts(conn)
    differ = sorted(name for name in set(counts) | set(manifest["counts"])
                    if counts.get(name) != manifest["counts"].get(name))
    if differ:
        raise click.ClickException("恢复后的数据行数与清单不符：" + "、".join(
            f"{name}（清单 {manifest['counts'].get(name)}，实际 {counts.get(name)}）" for name in differ[:6]))
    click.echo(f"已恢复：数据库（版本 {revision}，{sum(counts.values())} 行），{len(manifest['files'])} 个文件，"
               + _published_words(len(manifest["forms_data"])) + "。")
    if revision != head:
        store.migrate()
        click.echo(f"数据库已从版本 {revision} 迁移到 {head}。")
