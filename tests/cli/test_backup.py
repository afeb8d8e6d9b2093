"""``flask backup create|restore``: an installation with submissions and published forms is backed up and restored
into an empty one (a new instance folder and database: SQLite, or the PostgreSQL of DATABASE_URL emptied), and
everything comes back identical; a damaged or altered archive is refused before anything is written."""

from __future__ import annotations

import datetime as dt
import io
import json
import socket
import tarfile
from pathlib import Path

import boto3
import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from docx import Document
from moto.server import ThreadedMotoServer
from sqlalchemy import create_engine, inspect, text

from service import create_app
from service.actions.actor import Actor
from service.actions.form_designer import create_from_document, get_draft, publish
from service.actions.intake import receive
from service.forms.catalog import catalog, load_catalog
from service.office.convert.client import shutdown_converter
from service.render.form import render
from service.store import MIGRATIONS, Store, open_file_store
from service.store.auth import check_password, create_user
from service.store.models import AuditEntry, Submission, User
from tests.support.records import letter
from tests.support.samples import new_store, sample

ON_TIME = dt.datetime(2020, 11, 20, 9, tzinfo=dt.UTC)
PASSWORD = "辽宁-报送-2020-backup"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _app(url: str, files: Path):
    """The service on ``url`` and ``files``, publishing forms into ``forms-data`` beside the files."""
    return create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": url, "FILE_STORE": str(files),
                       "FORMS_DATA": str(files.parent / "forms-data")})


@pytest.fixture(autouse=True)
def _shipped_data_after():
    """The apps made here lay their own forms-data folder over the process-wide catalogue: lift it afterwards."""
    yield
    catalog.use_layer(None)


def _cli(app, *args: str):
    return app.test_cli_runner().invoke(args=list(args), catch_exceptions=False)


def _empty_target(source: Store, folder: Path) -> tuple[str, Path]:
    """A new installation: its own SQLite file, or (PostgreSQL) the same database with nothing left in it."""
    folder.mkdir()
    if not source.url.startswith("postgresql"):
        return f"sqlite:///{folder / 'jth.sqlite3'}", folder / "files"
    source.dispose()
    engine = create_engine(source.url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return source.url, folder / "files"


def contents(url: str) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {name: sorted((tuple(row) for row in conn.execute(text(f'SELECT * FROM "{name}"'))), key=repr)
                    for name in inspect(conn).get_table_names()}
    finally:
        engine.dispose()


def stored(files: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in files.glob("??/??/*") if p.is_file()}


def layer_files(layer: Path) -> dict[str, bytes]:
    """Every file of a forms-data folder, by its path in it."""
    return {p.relative_to(layer).as_posix(): p.read_bytes() for p in layer.rglob("*") if p.is_file()}


@pytest.fixture
def installation(tmp_path):
    """An installation in use: accounts, a unit's recommendation letter with an attachment, a summary table, an
    unreadable upload, all audited."""
    store = new_store(tmp_path / "source")
    with store.session.begin() as s:
        create_user(s, "admin", PASSWORD, "admin")
        create_user(s, "edu-ln", PASSWORD, "recommender", "edu-ln")
    letter_docx = render("jth-2020", "recommendation_letter", letter(), None).content
    table = render("jth-2020", "summary_table", sample("summary_table"), None).content
    for data, name, extra in ((letter_docx, "推荐书.docx", [("stamped_scan", "盖章扫描件.pdf", PDF)]),
                              (table, "汇总表.xlsx", []), (b"PK\x03\x04 broken", "坏文件.docx", [])):
        receive(store, data, name, campaign_id="jth-2020", recommender_id="edu-ln", uploader="edu-ln",
                received_at=ON_TIME, attachments=extra)
    yield store, _app(store.url, store.files.root)
    store.dispose()


def test_restore_into_an_empty_installation_gives_back_everything(installation, tmp_path):
    source, app = installation
    archive = tmp_path / "备份" / "jth-backup.tar.gz"
    made = _cli(app, "backup", "create", "-o", str(archive))
    assert made.exit_code == 0, made.output
    assert "备份已写入" in made.output and f"{len(stored(source.files.root))} 个文件" in made.output
    assert archive.stat().st_mode & 0o077 == 0  # password hashes and every record: the owner's alone
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))
    assert names[0] == "manifest.json"
    assert manifest["alembic_revision"] and manifest["counts"]["submissions"] == 3
    assert manifest["counts"]["users"] == 2 and manifest["counts"]["audit_log"] > 0
    assert {f["sha256"] for f in manifest["files"]} == set(stored(source.files.root))
    assert manifest["forms_data"] == [] and "没有发布的表单" in made.output  # nothing published: the archive says so

    before_rows, before_files = contents(source.url), stored(source.files.root)
    with source.session() as s:
        statuses = sorted((sub.original_name, sub.status) for sub in s.query(Submission))
    url, files = _empty_target(source, tmp_path / "restored")
    target = _app(url, files)
    assert _cli(target, "init-db").exit_code == 0  # as the web unit's ExecStartPre does on a new machine
    done = _cli(target, "backup", "restore", str(archive))
    assert done.exit_code == 0, done.output
    assert "已恢复" in done.output

    assert contents(url) == before_rows
    assert stored(files) == before_files
    assert not (files.parent / "forms-data").exists()  # no published form, none restored
    restored = Store(url, files)
    try:
        with restored.session() as s:
            assert sorted((sub.original_name, sub.status) for sub in s.query(Submission)) == statuses
            assert check_password(s, "edu-ln", PASSWORD) is not None  # people sign in with what they had
            assert s.query(AuditEntry).filter_by(action="upload").count() == 3
        # New work goes on after the restore: ids and sequences carry on from the backup's.
        got = receive(restored, render("jth-2020", "recommendation_letter", letter(group_name="另一集团"),
                                       None).content, "推荐书2.docx", campaign_id="jth-2020",
                      recommender_id="edu-ln", uploader="edu-ln", received_at=ON_TIME)
        assert restored.files.get(got.sha256)
    finally:
        restored.dispose()

    again = _cli(target, "backup", "restore", str(archive))
    assert again.exit_code != 0 and "目标安装中已有数据" in again.output  # a second restore would overwrite
    assert _cli(target, "backup", "restore", "--force", str(archive)).exit_code == 0
    assert contents(url) == before_rows


def plain_form() -> bytes:
    """A plain Word form as people make one (labels beside blanks), for the form designer."""
    doc = Document()
    doc.add_paragraph("校企合作项目申报表")
    table = doc.add_table(rows=3, cols=4)
    for (r, c), label in {(0, 0): "单位名称", (1, 0): "联系人", (1, 2): "手机", (2, 0): "合作企业数"}.items():
        table.cell(r, c).text = label
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def test_published_forms_come_back_and_the_restored_installation_reads_them(installation, tmp_path):
    source, app = installation
    layer = source.files.root.parent / "forms-data"
    staff = Actor("admin", "admin")
    try:
        draft_id = create_from_document(source, staff, plain_form(), "校企合作项目申报表.docx", "ln-2018",
                                        "coop_apply", layer=layer)
    finally:
        shutdown_converter()  # the pictures of the pages started the process-wide one
    assert publish(source, staff, draft_id, layer=layer) == "1.0.0"
    published = layer_files(layer)
    assert "data/campaigns/ln-2018.json" in published and "templates/docx/ln-2018/coop_apply.docx" in published

    archive = tmp_path / "with-forms.tar.gz"
    made = _cli(app, "backup", "create", "-o", str(archive))
    assert made.exit_code == 0 and f"{len(published)} 个发布表单的文件" in made.output, made.output
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        in_archive = {n.removeprefix("forms-data/"): tar.extractfile(n).read()
                      for n in tar.getnames() if n.startswith("forms-data/")}
    assert in_archive == published
    assert {(f["name"], f["size"]) for f in manifest["forms_data"]} == {
        (f"forms-data/{rel}", len(data)) for rel, data in published.items()}
    assert "个发布表单的文件" in _cli(app, "backup", "verify", str(archive)).output

    url, files = _empty_target(source, tmp_path / "restored")
    target_layer = files.parent / "forms-data"
    target = _app(url, files)
    assert _cli(target, "init-db").exit_code == 0
    # A form published in the target already: refused, nothing written, unless --force (the folder is replaced).
    stray = target_layer / "templates" / "docx" / "ln-2018" / "old_form.docx"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"PK\x03\x04 an older form")
    refused = _cli(target, "backup", "restore", str(archive))
    assert refused.exit_code != 0 and "发布表单的目录" in refused.output, refused.output
    assert layer_files(target_layer) == {"templates/docx/ln-2018/old_form.docx": b"PK\x03\x04 an older form"}
    assert stored(files) == {}
    done = _cli(target, "backup", "restore", "--force", str(archive))
    assert done.exit_code == 0 and f"{len(published)} 个发布表单的文件" in done.output, done.output

    assert layer_files(target_layer) == published  # byte for byte, and nothing else
    form = load_catalog(layer=target_layer).form("ln-2018", "coop_apply")
    assert form.title == "校企合作项目申报表" and form.version == "1.0.0"
    assert form.template_path.is_relative_to(target_layer)
    assert form.template_path.read_bytes() == published["templates/docx/ln-2018/coop_apply.docx"]
    assert not [p for p in target_layer.parent.iterdir() if p.name.startswith(".forms-data-restore-")]
    restored = Store(url, files)
    try:  # the draft it was published from came back too, in the database
        assert get_draft(restored, draft_id).state == "published"
    finally:
        restored.dispose()


def _rewrite(archive: Path, out: Path, change) -> None:
    """A copy of ``archive`` with each entry passed through ``change(info, data)`` → [(info, data), …]."""
    with tarfile.open(archive) as src, tarfile.open(out, "w:gz") as dst:
        for info in src.getmembers():
            for new_info, data in change(info, src.extractfile(info).read()):
                new_info.size = len(data)
                dst.addfile(new_info, io.BytesIO(data))


def _flipped(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 1]) + data[middle + 1:]


def test_an_altered_archive_is_refused_and_nothing_is_written(installation, tmp_path):
    source, app = installation
    archive = tmp_path / "good.tar.gz"
    assert _cli(app, "backup", "create", "-o", str(archive)).exit_code == 0
    with tarfile.open(archive) as tar:
        victim = next(n for n in tar.getnames() if n.startswith("files/"))

    def flip(info, data):  # one byte of one stored file, same size
        return [(info, _flipped(data) if info.name == victim else data)]

    def smuggle(info, data):
        extra = tarfile.TarInfo("files/../../instance/config.py")
        return [(info, data)] + ([(extra, b"SECRET_KEY = 'x'\n")] if info.name == victim else [])

    def drop(info, data):
        return [] if info.name == victim else [(info, data)]

    def database(info, data):
        return [(info, _flipped(data) if info.name.startswith("database/") else data)]

    url, files = _empty_target(source, tmp_path / "target")
    target = _app(url, files)
    for change, says in ((flip, "sha256 不符"), (smuggle, "清单之外"), (drop, "缺少"), (database, "sha256 不符")):
        bad = tmp_path / f"{change.__name__}.tar.gz"
        _rewrite(archive, bad, change)
        refused = _cli(target, "backup", "restore", str(bad))
        assert refused.exit_code != 0 and says in refused.output, (change.__name__, refused.output)
        assert "未恢复任何内容" in refused.output
        assert stored(files) == {}
        assert not [t for t in contents(url) if contents(url)[t]]  # the database is as empty as it was

    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    refused = _cli(target, "backup", "restore", str(truncated))
    assert refused.exit_code != 0 and "不是完整的备份归档" in refused.output
    assert _cli(target, "backup", "verify", str(archive)).exit_code == 0


def test_a_backup_of_an_older_version_is_migrated_after_the_restore(tmp_path):
    old = new_store(tmp_path / "old")
    with old.session.begin() as s:
        create_user(s, "edu-ln", PASSWORD, "recommender", "edu-ln")
    old.dispose()
    script = ScriptDirectory(str(MIGRATIONS))
    head = script.get_current_head()
    previous = script.get_revision(head).down_revision
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", old.url.replace("%", "%%"))
    command.downgrade(cfg, previous)  # the installation as the code before the newest migration left it
    archive = tmp_path / "old.tar.gz"
    assert _cli(_app(old.url, old.files.root), "backup", "create", "-o", str(archive)).exit_code == 0

    url, files = _empty_target(old, tmp_path / "new")
    done = _cli(_app(url, files), "backup", "restore", str(archive))
    assert done.exit_code == 0, done.output
    assert f"从版本 {previous} 迁移到 {head}" in done.output
    restored = Store(url, files)
    try:
        with restored.engine.connect() as conn:
            assert conn.scalar(text("SELECT version_num FROM alembic_version")) == head
        with restored.session() as s:  # the newest model reads the restored rows
            assert s.query(User).filter_by(username="edu-ln").one().entity_id == "edu-ln"
            assert check_password(s, "edu-ln", PASSWORD) is not None
    finally:
        restored.dispose()


def test_files_in_object_storage_are_backed_up_and_restored_into_an_empty_bucket(tmp_path):
    """JTH_FILE_STORE=s3://…: every object of the store goes into the archive and comes back into a new bucket
    (moto's S3 server on loopback stands in for MinIO, OSS, COS and OBS, as in tests/store/test_objects.py)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    settings = {"endpoint_url": f"http://127.0.0.1:{port}", "region": "us-east-1", "access_key": "AKIAJTHBACKUP",
                "secret_key": "jth-backup-secret"}
    client = boto3.client("s3", endpoint_url=settings["endpoint_url"], region_name="us-east-1",
                          aws_access_key_id=settings["access_key"], aws_secret_access_key=settings["secret_key"])
    for bucket in ("jth-source", "jth-restored"):
        client.create_bucket(Bucket=bucket)

    def objects(bucket: str) -> dict[str, bytes]:
        keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]
        return {key.rsplit("/", 1)[-1]: client.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}

    try:
        local = new_store(tmp_path / "source")
        local.dispose()
        source = Store(local.url, open_file_store("s3://jth-source/jth/files", **settings))
        receive(source, render("jth-2020", "recommendation_letter", letter(), None).content, "推荐书.docx",
                campaign_id="jth-2020", recommender_id="edu-ln", uploader="edu-ln", received_at=ON_TIME,
                attachments=[("stamped_scan", "盖章扫描件.pdf", PDF)])
        app = _app(source.url, tmp_path / "unused")
        app.extensions["jth_store"] = source
        archive = tmp_path / "s3.tar.gz"
        made = _cli(app, "backup", "create", "-o", str(archive))
        assert made.exit_code == 0 and "2 个文件" in made.output, made.output
        before_rows, before_files = contents(source.url), objects("jth-source")

        url, _ = _empty_target(source, tmp_path / "restored")
        target_store = Store(url, open_file_store("s3://jth-restored/other-prefix", **settings))
        target = _app(url, tmp_path / "unused")
        target.extensions["jth_store"] = target_store
        done = _cli(target, "backup", "restore", str(archive))
        assert done.exit_code == 0, done.output
        assert contents(url) == before_rows
        assert objects("jth-restored") == before_files and len(before_files) == 2
        with target_store.session() as s:
            sub = s.query(Submission).one()
            assert target_store.files.get(sub.sha256) == before_files[sub.sha256]
        again = _cli(target, "backup", "restore", str(archive))
        assert again.exit_code != 0 and "文件存储" in again.output  # the bucket is no longer empty
        target_store.dispose()
    finally:
        server.stop()
