"""Mail in through a real IMAP server on loopback (Debian's dovecot, started here with its own configuration) and a
real SMTP server (aiosmtpd) for the replies: a 工作总结 e-mailed by a lead school becomes that school's submission
and the school is answered with each file's result and the link to its report; a broken file gets the coded
verdict an upload gets; a message delivered twice is taken once; a stranger's message waits for staff."""

from __future__ import annotations

import datetime as dt
import email
import getpass
import grp
import io
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import zipfile
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest
from imapclient import IMAPClient
from sqlalchemy import func, select

from service import create_app
from service.actions.mail_assign import submitter_units
from service.actions.notices import BEIJING
from service.jobs.mail import mail_settings
from service.jobs.mailin import ADDRESSES, MailinSettings, fetch, unit_addresses
from service.parse.pipeline import parse
from service.render.form import render
from service.store.auth import create_user
from service.store.lifecycle import label
from service.store.models import AuditEntry, MailMessage, Submission, Upload
from tests.support.samples import sample

PUBLIC_URL = "https://jth.example.cn"
PLATFORM_FROM = "noreply@jth.example.cn"
ARRIVED = dt.datetime(2018, 6, 1, 10, 0, tzinfo=BEIJING)  # before the 2018-06-05 deadline of ln-2018
SCHOOL = "Office@SYVTC.edu.cn"  # ln-08's account address, written here in other letters' case
LISTED = "zongjie@lnzb.edu.cn"  # another address of ln-08, listed in the unit addresses' data file
STRANGER = "teacher.wang@qq.com"
PASSWORD = "mail-in-pages-password-1"
BROKEN = b"PK\x03\x04" + b"\x00" * 40 + "这不是一个完整的文档".encode()


# ---- the servers ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dovecot:
    port: int
    user: str = "jth-mailin"
    password: str = "mailin-password-1"

    def client(self) -> IMAPClient:
        imap = IMAPClient("127.0.0.1", self.port, ssl=False, timeout=30)
        imap.login(self.user, self.password)
        imap.select_folder("INBOX")
        return imap


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _accounts() -> tuple[str, str, int, int]:
    """Who runs dovecot's own processes and owns the mail. Dovecot refuses root for both: as root, ``nobody``
    (its mail folder given to it); otherwise the user running the tests."""
    if os.getuid() == 0:
        nobody = pwd.getpwnam("nobody")
        return "nobody", grp.getgrgid(nobody.pw_gid).gr_name, nobody.pw_uid, nobody.pw_gid
    return getpass.getuser(), grp.getgrgid(os.getgid()).gr_name, os.getuid(), os.getgid()


def _dovecot_version(binary: str) -> tuple[int, ...]:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout
    return tuple(int(x) for x in out.split()[0].split("-")[0].split(".")[:2])


def _dovecot_conf(binary: str, root: Path, user: str, group: str, uid: int, gid: int, port: int) -> str:
    """The configuration in the syntax of the installed Dovecot: 2.3 (Debian 12) or 2.4 (Debian 13), which renamed
    most settings and must name its configuration version first."""
    common = f"""protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
auth_mechanisms = plain
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
first_valid_uid = 1
mail_uid = {uid}
mail_gid = {gid}
"""
    if _dovecot_version(binary) >= (2, 4):
        return f"""dovecot_config_version = 2.4.0
dovecot_storage_version = 2.4.0
{common}auth_allow_cleartext = yes
mail_driver = maildir
mail_home = {root}/mail/%{{user}}
mail_path = ~/
passdb passwd-file {{
  passwd_file_path = {root}/passwd
}}
userdb static {{
  fields {{
    uid = {uid}
    gid = {gid}
    home = {root}/mail/%{{user}}
  }}
}}
service imap-login {{
  inet_listener imap {{
    listen = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""
    return f"""{common}disable_plaintext_auth = no
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


@pytest.fixture(scope="module")
def dovecot():
    """Dovecot on 127.0.0.1 at a free port, configured from scratch in a temporary folder (no system configuration):
    plain IMAP without TLS on loopback, one user from a passwd-file, maildir storage."""
    binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if not Path(binary).exists():
        pytest.fail("dovecot is missing: ./scripts/setup.sh test installs dovecot-imapd")
    # Not under pytest's tmp_path: its 0700 parent would keep dovecot's unprivileged processes out.
    root = Path(tempfile.mkdtemp(prefix="jth-dovecot-"))
    root.chmod(0o755)
    user, group, uid, gid = _accounts()
    (root / "mail").mkdir()
    os.chown(root / "mail", uid, gid)
    server = Dovecot(_free_port())
    (root / "passwd").write_text(f"{server.user}:{{PLAIN}}{server.password}::::::\n", encoding="utf-8")
    (root / "dovecot.conf").write_text(_dovecot_conf(binary, root, user, group, uid, gid, server.port),
                                       encoding="utf-8")
    proc = subprocess.Popen([binary, "-F", "-c", str(root / "dovecot.conf")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)
    try:
        for _ in range(300):  # until it listens (a few seconds at most), or it died
            if proc.poll() is not None:
                break
            try:
                server.client().logout()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("dovecot did not start listening")
        if proc.poll() is not None:
            log = root / "dovecot.log"
            pytest.fail(f"dovecot exited: {log.read_text() if log.exists() else proc.returncode}")
        yield server
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def mailbox(dovecot):
    """The mailbox, emptied for this test."""
    imap = dovecot.client()
    if imap.search(["ALL"]):
        imap.delete_messages(imap.search(["ALL"]))
        imap.expunge()
    imap.logout()
    return dovecot




# ---- the platform's side ----------------------------------------------------------------------------------


@pytest.fixture
def units(store, tmp_path) -> Path:
    """ln-08's account (with its address) and an administrator; another ln-08 address in the data file."""
    with store.session.begin() as s:
        create_user(s, "ln-08", PASSWORD, "recommender", "ln-08", "辽宁装备制造职教集团").email = SCHOOL.lower()
        create_user(s, "admin", PASSWORD, "admin", None, "平台管理员").email = "staff@jth.example.cn"
    addresses = tmp_path / "unit_addresses.json"
    addresses.write_text(json.dumps({"ln-08": [LISTED]}), encoding="utf-8")
    return addresses


def _settings(server: Dovecot, addresses: Path) -> MailinSettings:
    return MailinSettings(host="127.0.0.1", port=server.port, user=server.user, password=server.password, ssl=False,
                          addresses=addresses)


def _outbox(smtp):
    return mail_settings({"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port, "MAIL_FROM": PLATFORM_FROM,
                          "PUBLIC_URL": PUBLIC_URL + "/"})


def _work_summary(unit: str = "ln-08", **changes) -> bytes:
    record = sample("work_summary")
    if unit != "ln-08":  # the group, its lead schools and its contact come from the unit's row
        record = {k: v for k, v in record.items() if k not in ("group_name", "lead_schools")}
    return render("ln-2018", "work_summary", {**record, **changes}, entity_id=unit).content


DOCX = ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document")


def _mail(sender: str, subject: str, files: list[tuple[str, bytes]], message_id: str | None = None,
          **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, "jth-mailin@jth.example.cn", subject
    msg["Date"] = format_datetime(ARRIVED)
    msg["Message-ID"] = message_id or make_msgid(domain="school.example.cn")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("您好，附件是我单位的报送材料，请查收。")
    for name, data in files:
        maintype, subtype = DOCX if name.endswith(".docx") else ("application", "octet-stream")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg


def _deliver(server: Dovecot, *messages: EmailMessage, when: dt.datetime = ARRIVED) -> None:
    """Put messages into the mailbox as its server would have received them at ``when`` (IMAP APPEND)."""
    imap = server.client()
    for msg in messages:
        imap.append("INBOX", msg.as_bytes(policy=policy.SMTP), msg_time=when)
    imap.logout()


def _unseen(server: Dovecot) -> list[int]:
    imap = server.client()
    try:
        return imap.search(["UNSEEN"])
    finally:
        imap.logout()


def _reply_text(msg: email.message.EmailMessage) -> str:
    return msg.get_body(preferencelist=("plain",)).get_content()


# ---- the stories ------------------------------------------------------------------------------------------


def test_a_work_summary_mailed_by_a_lead_school_becomes_its_submission_and_the_school_is_answered(
        store, units, mailbox, smtp, inbox):
    summary = _work_summary()
    mail = _mail(f"沈阳职业技术学院 <{SCHOOL}>", "辽宁装备制造职教集团工作总结",
                 [("工作总结.docx", summary), ("工作总结（另存失败）.docx", BROKEN)])
    _deliver(mailbox, mail, mail)  # the same message twice (the school's client sent it again)

    done = fetch(store, _settings(mailbox, units), _outbox(smtp))

    assert (done.taken, done.duplicate, done.replies_sent) == (1, 1, 1)
    assert _unseen(mailbox) == []  # both copies are done on the server
    with store.session() as s:
        [row] = s.scalars(select(MailMessage))
        assert (row.state, row.unit, row.sender, row.message_id) == ("taken", "ln-08", SCHOOL.lower(), mail["Message-ID"])
        sub = s.scalar(select(Submission).where(Submission.recommender_id == "ln-08", Submission.readable.is_(True)))
        upload = s.get(Upload, sub.upload_id)
        # The school's 工作总结 for ln-2018, received when the mailbox received it (not late), through the mail.
        assert (sub.campaign_id, sub.form_id, sub.is_current, sub.original_name) == (
            "ln-2018", "work_summary", True, "工作总结.docx")
        assert (upload.channel, upload.uploader) == ("mail", f"mail:{SCHOOL.lower()}")
        assert sub.received_at.replace(tzinfo=dt.UTC) == ARRIVED.astimezone(dt.UTC) and sub.status != "late"
        assert s.scalar(select(func.count()).select_from(Upload).where(Upload.sha256 == sub.sha256)) == 1  # once
        broken = s.scalar(select(Submission).where(Submission.original_name == "工作总结（另存失败）.docx"))
        assert broken.status == "unreadable"

    # The verdict of the broken file is the one an upload of the same bytes gets.
    refused = parse(BROKEN, "工作总结（另存失败）.docx", campaign="ln-2018").errors[0]
    [reply] = inbox.to(SCHOOL.lower())
    text = _reply_text(reply)
    assert reply["Subject"] == "【示范性职业教育集团报送平台】邮件报送结果：辽宁装备制造职教集团工作总结"
    assert reply["In-Reply-To"] == mail["Message-ID"] and reply["Auto-Submitted"] == "auto-replied"
    assert "沈阳职业技术学院：" in text and "2018-06-01 10:00" in text and "辽宁装备制造职教集团的报送材料" in text
    assert f"1. 工作总结.docx\n   结果：{label(sub.status)}" in text
    assert f"查看报告：{PUBLIC_URL}/r/submissions/{sub.id}" in text
    assert f"2. 工作总结（另存失败）.docx\n   结果：无法读取（{refused.code}）\n   说明：{refused.message}" in text
    assert len(inbox.received) == 1  # one reply for the message, none for its second copy

    # A third copy delivered later is still the same message: nothing is received again, nobody is answered again.
    _deliver(mailbox, mail)
    again = fetch(store, _settings(mailbox, units), _outbox(smtp))
    assert (again.taken, again.duplicate, again.replies_sent) == (0, 1, 0) and _unseen(mailbox) == []
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Upload).where(Upload.channel == "mail")) == 2
    assert len(inbox.received) == 1


def test_every_address_in_the_unit_addresses_file_belongs_to_a_unit_that_sends_files():
    known = set(submitter_units())
    assert all(units <= known for units in unit_addresses(ADDRESSES).values())


def test_a_zip_is_read_entry_by_entry_and_policy_documents_join_the_summary(store, units, mailbox, smtp, inbox):
    """From the address the data file lists for ln-08: a zip with the 工作总结 and a text file, and a PDF of policy
    documents beside it, which becomes the summary's required attachment. An out-of-office answer is not answered."""
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as zf:
        zf.writestr("材料/工作总结.docx", _work_summary())
        zf.writestr("材料/说明.txt", "工作总结和政策文件见附件。")
    _deliver(mailbox, _mail(LISTED, "报送材料", [("辽宁装备制造职教集团.zip", packed.getvalue()), ("政策文件.pdf", pdf)]),
             _mail(SCHOOL, "自动回复：您的邮件已收到", [], Auto_Submitted="auto-replied"))

    done = fetch(store, _settings(mailbox, units), _outbox(smtp))

    assert (done.taken, done.failed, done.replies_sent) == (1, 1, 1)
    with store.session() as s:
        sub = s.scalar(select(Submission).where(Submission.recommender_id == "ln-08", Submission.readable.is_(True)))
        assert [a.original_name for a in sub.attachments] == ["政策文件.pdf"]
        assert [a.kind for a in sub.attachments] == ["policy_documents"]
        assert "ATTACHMENT_MISSING" not in json.dumps(sub.cross_problems) and sub.status == "accepted"
        taken = s.scalar(select(MailMessage).where(MailMessage.state == "taken"))
        results = {r["name"]: r for r in taken.results}
        auto = s.scalar(select(MailMessage).where(MailMessage.state == "failed"))
        assert (auto.reply_state, auto.unit) == ("", "ln-08") and "邮件中没有找到附件" in auto.error
    assert results["辽宁装备制造职教集团.zip!材料/工作总结.docx"]["submission_id"] == sub.id
    assert results["辽宁装备制造职教集团.zip!材料/说明.txt"]["code"] == "FILE_NOT_OFFICE"
    assert results["政策文件.pdf"]["outcome"] == "attached"
    [reply] = inbox.to(LISTED)
    text = _reply_text(reply)
    assert "1. 辽宁装备制造职教集团.zip!材料/工作总结.docx\n   结果：通过" in text
    assert "2. 辽宁装备制造职教集团.zip!材料/说明.txt\n   结果：无法读取（FILE_NOT_OFFICE）" in text
    assert f"3. 政策文件.pdf\n   结果：已作为附件收下\n   说明：已作为第 {sub.id} 号报送的附件“职教集团成立以来出台的政策文件”收下。" in text
    assert inbox.to(SCHOOL.lower()) == []  # an automatic message is never answered


def _signed_in(app, name: str):
    client = app.test_client()
    assert client.post("/login", data={"username": name, "password": PASSWORD}).status_code == 302
    return client


def test_a_strangers_mail_waits_until_staff_assign_it_to_a_unit(store, units, mailbox, smtp, inbox):
    _deliver(mailbox, _mail(f"王老师 <{STRANGER}>", "辽西北职教联盟工作总结", [("工作总结.docx", _work_summary("ln-05"))]))
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False, "DATABASE_URL": store.url,
                      "FILE_STORE": str(store.files.root), "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port,
                      "MAIL_FROM": PLATFORM_FROM, "PUBLIC_URL": PUBLIC_URL, "MAILIN_HOST": "127.0.0.1",
                      "MAILIN_PORT": mailbox.port, "MAILIN_USER": mailbox.user, "MAILIN_PASSWORD": mailbox.password,
                      "MAILIN_SSL": False, "MAILIN_ADDRESSES": str(units)})
    app.extensions["jth_store"] = store

    printed = app.test_cli_runner().invoke(args=["mail", "fetch"])
    assert printed.exit_code == 0, printed.output
    assert "待指定单位 1 封" in printed.output and _unseen(mailbox) == []
    with store.session() as s:
        row = s.scalar(select(MailMessage))
        assert (row.state, row.unit, row.reply_state) == ("unassigned", None, "held")
        assert s.scalar(select(Submission).where(Submission.recommender_id == "ln-05")) is None
    assert inbox.received == []  # nothing is answered to an address no unit has

    staff = _signed_in(app, "admin")
    page = staff.get("/admin/mail/").get_data(as_text=True)
    assert "1 封待指定单位" in page and STRANGER in page and f'id="unit-{row.id}"' in page
    assert _signed_in(app, "ln-08").get("/admin/mail/").status_code == 403  # staff only
    answer = staff.post(f"/admin/mail/{row.id}/assign", data={"unit": "ln-05"})
    assert answer.status_code == 303

    with store.session() as s:
        row = s.get(MailMessage, row.id)
        sub = s.scalar(select(Submission).where(Submission.recommender_id == "ln-05"))
        assert (row.state, row.unit, row.assigned_by, row.reply_state) == ("assigned", "ln-05", "admin", "sent")
        assert (sub.form_id, s.get(Upload, sub.upload_id).channel) == ("work_summary", "mail")
        assert row.upload_ids == [sub.upload_id]
        assigned = s.scalars(select(AuditEntry).where(AuditEntry.action == "mail_assign")).all()
        assert [(a.actor, a.target, a.detail["unit"]) for a in assigned] == [("admin", f"mail:{row.id}", "ln-05")]
    [reply] = inbox.to(STRANGER)
    assert "辽西北职教联盟的报送材料" in _reply_text(reply) and f"{PUBLIC_URL}/r/submissions/{sub.id}" in _reply_text(reply)

    listed = staff.get("/admin/mail/?format=json").get_json()["messages"]
    assert [(m["state_label"], m["unit_name"], m["results"][0]["link"]) for m in listed] == [
        ("已指定单位", "辽西北职教联盟", f"/r/submissions/{sub.id}")]
    again = staff.post(f"/admin/mail/{row.id}/assign", data={"unit": "ln-08"})
    assert again.status_code == 409 and "只有“待指定单位”的邮件才能指定单位" in again.get_data(as_text=True)
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "mail_assign")) == 1
    assert len(inbox.received) == 1


def test_a_message_too_large_to_read_is_left_unread_and_its_sender_is_told(store, units, mailbox, smtp, inbox):
    _deliver(mailbox, _mail(SCHOOL, "工作总结（含全部扫描件）", [("工作总结.docx", _work_summary())]))
    small = MailinSettings(host="127.0.0.1", port=mailbox.port, user=mailbox.user, password=mailbox.password,
                           ssl=False, addresses=units, max_bytes=10_000)

    done = fetch(store, small, _outbox(smtp))

    assert (done.failed, done.replies_sent) == (1, 1) and _unseen(mailbox) == []
    with store.session() as s:
        row = s.scalar(select(MailMessage))
        assert (row.state, row.unit, row.size > 10_000) == ("failed", "ln-08", True)
        assert s.scalar(select(func.count()).select_from(Upload)) == 0  # nothing of it was read
    [reply] = inbox.to(SCHOOL.lower())
    text = _reply_text(reply)
    assert "这封邮件未能收取：邮件大小约" in text and "超过平台接收的上限" in text and "请分成几封邮件发送" in text


def test_a_message_left_half_way_by_a_process_that_died_is_finished_once_by_the_next_round(
        store, units, mailbox, smtp, inbox):
    _deliver(mailbox, _mail(SCHOOL, "工作总结", [("工作总结.docx", _work_summary())]))
    fetch(store, _settings(mailbox, units))  # no mail server yet: the reply waits
    # What a process killed after writing the message down and filing its file leaves: files not marked received,
    # its claim old, the message still unseen on the server.
    with store.session.begin() as s:
        row = s.scalar(select(MailMessage))
        row.taken_at, row.results, row.upload_ids, row.reply_state = None, [], [], "held"
        row.claimed_at = dt.datetime(2018, 6, 1, tzinfo=dt.UTC)
    imap = mailbox.client()
    imap.remove_flags(imap.search(["ALL"]), [b"\\Seen"])
    imap.logout()

    done = fetch(store, _settings(mailbox, units), _outbox(smtp))

    assert (done.taken, done.replies_sent) == (1, 1) and _unseen(mailbox) == []
    with store.session() as s:
        [sub] = s.scalars(select(Submission).where(Submission.recommender_id == "ln-08"))  # filed once
        row = s.scalar(select(MailMessage))
        assert row.taken_at is not None and [r["submission_id"] for r in row.results] == [sub.id]
        assert row.upload_ids == [sub.upload_id]
    [reply] = inbox.to(SCHOOL.lower())
    assert f"1. 工作总结.docx\n   结果：{label(sub.status)}" in _reply_text(reply)  # its own file, not a "duplicate"
    assert f"/r/submissions/{sub.id}" in _reply_text(reply)
