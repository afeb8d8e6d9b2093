"""The file store in a folder and in S3-compatible object storage keep the same promise; an app configured with
``FILE_STORE=s3://…`` receives a form and serves it back from the bucket.

moto's server mode stands in for MinIO and for the OSS, COS and OBS of Chinese clouds: no S3 server installs from
Debian here, so each test module starts moto's S3 server on 127.0.0.1 at a free port and the store speaks the S3
protocol to it over HTTP, as it would to any of them. (moto does not check Content-MD5, so that a real server
refuses damaged uploads is not shown here; that what comes back is checked against its sha256 is.)
"""

from __future__ import annotations

import hashlib
import io
import os
import socket
import tempfile
import uuid
import zipfile

import boto3
import pytest
from moto.server import ThreadedMotoServer

from service import create_app
from service.actions.intake import receive
from service.jobs.ingest import create_job, run_job
from service.jobs.summary import job_summary
from service.render.form import render
from service.store import Store, open_file_store, store_for
from service.store.auth import create_token, create_user
from service.store.files import FileMissing, LocalFileStore
from service.store.models import StoredFile
from service.store.objects import ObjectFileStore
from tests.support.comments import comment_spans
from tests.support.records import ON_TIME, letter
from tests.support.samples import new_store

KEY, SECRET = "AKIAJTHTESTKEY", "jth-test-secret-never-shown"
REGION = "us-east-1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def endpoint():
    """moto's S3 server on loopback, for this module."""
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def plain_client(endpoint: str):
    """A boto3 client of its own, to look in the bucket as any other S3 tool would."""
    return boto3.client("s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=KEY,
                        aws_secret_access_key=SECRET)


def new_bucket(endpoint: str) -> str:
    name = f"jth-{uuid.uuid4().hex[:12]}"
    plain_client(endpoint).create_bucket(Bucket=name)
    return name


def s3_settings(endpoint: str) -> dict[str, str]:
    return {"endpoint_url": endpoint, "region": REGION, "access_key": KEY, "secret_key": SECRET}


@pytest.fixture(params=["folder", "s3"])
def files(request, tmp_path):
    """The same contract, against a folder and against a bucket (under a prefix)."""
    if request.param == "folder":
        return open_file_store(tmp_path / "files")
    endpoint = request.getfixturevalue("endpoint")
    return open_file_store(f"s3://{new_bucket(endpoint)}/jth/files", **s3_settings(endpoint))


def stored_names(files) -> list[str]:
    if isinstance(files, LocalFileStore):
        return sorted(p.relative_to(files.root).as_posix() for p in files.root.rglob("*") if p.is_file())
    listing = files.client.list_objects_v2(Bucket=files.bucket)
    return sorted(o["Key"] for o in listing.get("Contents", []))


def test_a_file_comes_back_as_it_was_stored(files):
    data = "推荐书.docx 的内容".encode()
    sha = files.put(data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert files.get(sha) == data and files.exists(sha)
    with files.local_path(sha) as path:
        assert path.read_bytes() == data
    prefix = "jth/files/" if isinstance(files, ObjectFileStore) else ""
    assert stored_names(files) == [f"{prefix}{sha[:2]}/{sha[2:4]}/{sha}"]


def test_the_same_content_twice_is_one_file(files):
    data = b"%PDF-1.4 the same bytes, uploaded twice"
    assert files.put(data) == files.put(data, durable=False)
    files.sync()
    assert len(stored_names(files)) == 1


@pytest.mark.parametrize("name", ["../../etc/passwd", "A" * 64, "abc", "g" * 64, ""])
def test_a_name_that_is_not_a_sha256_is_refused(files, name):
    for use in (files.get, files.exists):
        with pytest.raises(ValueError, match="sha256"):
            use(name)
    with pytest.raises(ValueError, match="sha256"), files.local_path(name):
        pass


def test_a_missing_file_says_which_and_where(files):
    sha = hashlib.sha256(b"never stored").hexdigest()
    assert not files.exists(sha)
    with pytest.raises(FileMissing) as got:
        files.get(sha)
    assert isinstance(got.value, OSError)  # callers that caught a missing file on disk still catch it
    where = f"s3://{files.bucket}/jth/files/" if isinstance(files, ObjectFileStore) else str(files.root)
    assert sha in str(got.value) and where in str(got.value)
    with pytest.raises(FileMissing), files.local_path(sha):
        pass


def test_a_30_mb_file(files, tmp_path, monkeypatch):
    data = os.urandom(30 * 1024 * 1024)
    sha = files.put(data)
    assert files.get(sha) == data
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with files.local_path(sha) as path:
        assert path.stat().st_size == len(data)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sha
    assert path.exists() == isinstance(files, LocalFileStore)  # a download is removed when it is done with


def test_an_object_that_does_not_match_its_name_is_never_served(endpoint):
    bucket = new_bucket(endpoint)
    files = open_file_store(f"s3://{bucket}", **s3_settings(endpoint))
    sha = hashlib.sha256(b"the original").hexdigest()
    plain_client(endpoint).put_object(Bucket=bucket, Key=f"{sha[:2]}/{sha[2:4]}/{sha}", Body=b"something else")
    with pytest.raises(OSError, match="does not match"):
        files.get(sha)
    with pytest.raises(OSError, match="does not match"), files.local_path(sha):
        pass


def test_the_keys_are_never_shown(endpoint):
    files = open_file_store("s3://jth-files/p", **{**s3_settings(endpoint),
                                                   "endpoint_url": endpoint.replace("//", f"//{KEY}:{SECRET}@")})
    assert repr(files) == f"ObjectFileStore('s3://jth-files/p/' at {endpoint})"
    with pytest.raises(ValueError, match="s3://bucket/prefix") as got:
        open_file_store(f"s3://{KEY}:{SECRET}@jth-files/p")
    assert SECRET not in str(got.value)


def test_an_uploaded_zip_in_the_bucket_is_read_entry_by_entry(endpoint, tmp_path, monkeypatch):
    """A bulk upload kept as an object: the job reads the zip from a download that is gone afterwards."""
    db = new_store(tmp_path)
    store = Store(db.url, open_file_store(f"s3://{new_bucket(endpoint)}/jth", **s3_settings(endpoint)))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("辽宁/推荐书-甲.docx", render("jth-2020", "recommendation_letter", letter()).content)
        zf.writestr("辽宁/推荐书-乙.docx", render("jth-2020", "recommendation_letter",
                                               letter(group_name="辽宁装备制造职业教育集团")).content)
    data = buf.getvalue()
    sha = store.files.put(data)
    with store.session.begin() as s:
        s.add(StoredFile(sha256=sha, size=len(data)))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "downloads"))
    (tmp_path / "downloads").mkdir()
    try:
        job_id = create_job(store, [{"kind": "stored", "sha256": sha, "name": "辽宁报送.zip"}], "jth-2020", "edu-ln",
                            "t")
        run_job(store, job_id)
        items = job_summary(store, job_id)["items"]
    finally:
        store.dispose()
        db.dispose()
    assert [i["name"] for i in items] == ["辽宁/推荐书-甲.docx", "辽宁/推荐书-乙.docx"]
    assert all(i["state"] == "done" and i["result"] != "unreadable" for i in items), items  # both forms were read
    assert list((tmp_path / "downloads").iterdir()) == []


def test_an_app_on_object_storage_receives_a_form_and_serves_it_back(endpoint, tmp_path):
    bucket = new_bucket(endpoint)
    db = new_store(tmp_path)  # the database, migrated; its own files folder stays unused
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": db.url,
                      "FILE_STORE": f"s3://{bucket}/jth-files", "S3_ENDPOINT_URL": endpoint, "S3_REGION": REGION,
                      "S3_ACCESS_KEY": KEY, "S3_SECRET_KEY": SECRET})
    store = store_for(app)
    try:
        assert isinstance(store.files, ObjectFileStore)
        content = render("jth-2020", "recommendation_letter", letter(members_total=90)).content  # a sum that is off
        got = receive(store, content, "推荐书.docx", campaign_id="jth-2020", recommender_id="edu-ln", uploader="t",
                      received_at=ON_TIME["jth-2020"])
        with store.session.begin() as s:
            headers = {"Authorization": "Bearer " + create_token(
                s, create_user(s, "liaoning", "password-123", "recommender", "edu-ln"), "test")}
        client = app.test_client()

        original = client.get(f"/api/v1/submissions/{got.submission_id}/file", headers=headers)
        assert original.status_code == 200 and original.data == content
        marked = client.get(f"/api/v1/submissions/{got.submission_id}/marked", headers=headers)
        assert marked.status_code == 200
        found = comment_spans(marked.data)
        assert any(text.startswith("【成员单位总数】") and "SUM_MISMATCH" in text and span == "90"
                   for text, span in found.items()), found
    finally:
        store.dispose()
        db.dispose()

    sha = hashlib.sha256(content).hexdigest()
    assert got.sha256 == sha
    kept = plain_client(endpoint).get_object(Bucket=bucket, Key=f"jth-files/{sha[:2]}/{sha[2:4]}/{sha}")
    assert kept["Body"].read() == content
    assert not any(p.is_file() for p in (tmp_path / "files").rglob("*"))


def test_the_s3_settings_come_from_the_environment(endpoint, tmp_path, monkeypatch):
    """JTH_FILE_STORE and JTH_S3_*, with the keys from the standard AWS_* variables."""
    bucket = new_bucket(endpoint)
    db = new_store(tmp_path)
    for name, value in {"JTH_INSTANCE_PATH": str(tmp_path / "instance"), "JTH_DATABASE_URL": db.url,
                        "JTH_FILE_STORE": f"s3://{bucket}/env", "JTH_S3_ENDPOINT_URL": endpoint,
                        "JTH_S3_REGION": REGION, "AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET,
                        # no other source of keys: not a profile, not the cloud's metadata address
                        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
                        "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_EC2_METADATA_DISABLED": "true"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    store = store_for(create_app())
    try:
        sha = store.files.put(b"from the environment")
        assert store.files.get(sha) == b"from the environment"
    finally:
        store.dispose()
        db.dispose()
    assert plain_client(endpoint).head_object(Bucket=bucket, Key=f"env/{sha[:2]}/{sha[2:4]}/{sha}")["ContentLength"] == 20
