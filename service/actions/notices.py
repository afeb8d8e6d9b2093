"""Notices: what the platform tells a person, in the app (a list on their page, an unread count in every page's
header) and, when a mail server is configured, by e-mail (:mod:`service.jobs.mail` sends the outbox).

A notice is made inside the transaction of the change it reports (a file returned, withdrawn, reassigned,
restored or accepted), so it exists exactly when the change does; reminders before a deadline and the staff's
daily digest are made by :func:`remind` and :func:`digest`, which the background sender and ``flask notices``
run. Those carry a key, so that running them twice makes nothing new. Who hears about a unit: its recommender
accounts that are not disabled; staff notices go to every administrator.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from service.actions.actor import Actor
from service.actions.intake import IntakeError
from service.actions.shapes import PAGES, iso, unit_name
from service.forms.catalog import Catalog, catalog
from service.store import Store
from service.store.audit import audit
from service.store.lifecycle import COUNTED, UPLOADS, label
from service.store.models import Notice, Submission, Upload, User, utcnow
from service.validate.rules.deadline import deadline_day

BEIJING = ZoneInfo("Asia/Shanghai")
STAFF = "admin"
UNIT = "recommender"
DASHBOARD = f"{PAGES}/"
REVIEW_QUEUE = "/admin/review"
REVIEW_STATUSES = ("needs_review", "late")  # the review queue's statuses (admin.review)
# The mail states a page lists as waiting or failed; "" (no address) and "sent" are done.
WAITING = ("pending", "sending", "failed")


def unit_users(s: Session, unit_id: str) -> list[User]:
    """The accounts that act for a unit and hear about its files."""
    return list(s.scalars(select(User).where(User.entity_id == unit_id, User.role == UNIT,
                                             User.disabled.is_(False)).order_by(User.id)))


def staff_users(s: Session) -> list[User]:
    return list(s.scalars(select(User).where(User.role == STAFF, User.disabled.is_(False)).order_by(User.id)))


def notify(s: Session, users: Iterable[User], kind: str, title: str, body: str, *, link: str = "",
           submission_id: int | None = None, campaign_id: str | None = None, key: str | None = None,
           now: dt.datetime | None = None) -> list[Notice]:
    """One notice per user (in the caller's transaction), queued for e-mail when the user has an address.

    With ``key``, a user who already has a notice of that key gets none: reminders, digests and acceptances are
    made once however often they are worked out."""
    now = now or utcnow()
    users = list(users)
    if key is not None and users:
        holding = set(s.scalars(select(Notice.user_id).where(Notice.key == key,
                                                             Notice.user_id.in_([u.id for u in users]))))
        users = [u for u in users if u.id not in holding]
    made = []
    for user in users:
        email = (user.email or "").strip()
        notice = Notice(user_id=user.id, kind=kind, title=title, body=body, link=link, submission_id=submission_id,
                        campaign_id=campaign_id, key=key, created_at=now, email=email,
                        mail_state="pending" if email else "", next_attempt_at=now if email else None)
        s.add(notice)
        made.append(notice)
    s.flush()
    return made


def _what(sub: Submission, cat: Catalog) -> str:
    """The file as its unit knows it: 《示范性职业教育集团（联盟）推荐书》（某某职业教育集团），文件“推荐书.docx”."""
    form = cat.campaign(sub.campaign_id).forms.get(sub.form_id or "") if sub.campaign_id in cat.campaigns else None
    group = (sub.record or {}).get("group_name") if isinstance(sub.record, dict) else None
    text = f"《{form.title}》" if form else "材料"
    if group and isinstance(group, str):
        text += f"（{group}）"
    return f"{text}，文件“{sub.original_name}”"


def _report(sub_id: int) -> str:
    return f"{PAGES}/submissions/{sub_id}"


def _not_actor(users: list[User], actor: Actor) -> list[User]:
    """Who did it knows: the notice goes to the unit's other accounts."""
    return [u for u in users if u.username != actor.username]


def notify_transition(s: Session, sub: Submission, action: str, actor: Actor, note: str) -> None:
    """The notices of a lifecycle action, called by :func:`service.actions.lifecycle.move` after its audit line:
    退回修改 (with the reviewer's message), 撤回, 改派 (to the unit it left and the unit it went to), 恢复.
    清除 puts aside an upload that is no submission of the unit: nothing to tell."""
    cat = catalog()
    what, by = _what(sub, cat), "平台工作人员" if actor.is_staff else f"本单位账号 {actor.username}"
    users = _not_actor(unit_users(s, sub.recommender_id), actor)
    reason = f"\n\n说明：{note}" if note else ""
    common = {"submission_id": sub.id, "campaign_id": sub.campaign_id, "link": _report(sub.id)}
    if action == "return":
        notify(s, users, action, "您报送的材料被退回修改",
               f"您报送的{what}已被平台工作人员退回修改。\n\n修改意见：\n{note}\n\n"
               "请按意见修改后重新上传该表格；新版本会替换被退回的版本。", **common)
    elif action == "withdraw":
        notify(s, users, action, "您报送的材料已撤回",
               f"{what}已由{by}撤回，不再计入本单位的报送；原文件仍保留在平台上。{reason}", **common)
    elif action == "restore":
        notify(s, users, action, "您报送的材料已恢复",
               f"{what}已由平台工作人员恢复，当前状态：{label(sub.status)}。{reason}", **common)
    elif action == "reassign" and sub.reassigned_to is not None:
        new = s.get(Submission, sub.reassigned_to)
        if new is None:
            return
        source, target = (unit_name(cat, sub.campaign_id, u) for u in (sub.recommender_id, new.recommender_id))
        notify(s, users, action, "一份材料已从您单位名下改派给其他单位",
               f"{what}经平台工作人员核对属于{target}，已改派给该单位，不再计入本单位的报送。{reason}", **common)
        notify(s, _not_actor(unit_users(s, new.recommender_id), actor), "reassigned_in", "一份材料已改派到您单位名下",
               f"{_what(new, cat)}原在{source}名下，经平台工作人员核对属于本单位，已改派到本单位，"
               f"当前状态：{label(new.status)}。{reason}",
               submission_id=new.id, campaign_id=new.campaign_id, link=_report(new.id))


def notify_accepted(s: Session, sub: Submission) -> None:
    """通过: when a reviewer's decision (or a bulk confirmation) leaves a current submission accepted, its unit is
    told, once per submission however many decisions follow."""
    if sub.status != "accepted" or not sub.is_current:
        return
    notify(s, unit_users(s, sub.recommender_id), "accepted", "您报送的材料已通过审核",
           f"您报送的{_what(sub, catalog())}已通过审核，计入本单位的报送。",
           submission_id=sub.id, campaign_id=sub.campaign_id, link=_report(sub.id), key=f"accepted:{sub.id}")


def _missing_forms(s: Session, campaign: Any, unit_id: str) -> list[str]:
    """Titles of the campaign's forms for which the unit has no current submission that counts."""
    have = set(s.scalars(select(Submission.form_id).where(
        Submission.campaign_id == campaign.id, Submission.recommender_id == unit_id,
        Submission.is_current.is_(True), Submission.status.in_(sorted(COUNTED)))))
    return [f.title for f in campaign.forms.values() if f.id not in have]


def reminder_offset(days_before: Iterable[int], days_left: int) -> int | None:
    """Which reminder is due with ``days_left`` days to the deadline: the nearest offset already reached (a day
    the sender did not run is made up the next day, never twice), None before the first or after the deadline."""
    reached = [d for d in days_before if d >= days_left]
    return min(reached) if days_left >= 0 and reached else None


def remind(store: Store, today: dt.date | None = None, cat: Catalog | None = None) -> int:
    """Reminders before a deadline (the campaign's ``reminders.days_before``) to units with a form missing, once
    per unit, campaign and offset; the number of notices made."""
    cat = cat or catalog()
    made = 0
    with store.session.begin() as s:
        for campaign in cat.campaigns.values():
            offsets = (campaign.data.get("reminders") or {}).get("days_before") or []
            day = today or utcnow().astimezone(ZoneInfo(campaign.data.get("timezone", "Asia/Shanghai"))).date()
            for row in cat.entities(campaign.data.get("submitters", "")):
                unit = row["id"]
                due = dt.date.fromisoformat(deadline_day(campaign, unit))
                offset = reminder_offset(offsets, (due - day).days)
                users = unit_users(s, unit) if offset is not None else []
                missing = _missing_forms(s, campaign, unit) if users else []
                if not missing:
                    continue
                left = (due - day).days
                when = "今天是报送截止日" if left == 0 else f"距离报送截止还有 {left} 天"
                body = (f"{when}（截止日期 {due.isoformat()}）。{row['name']}在“{campaign.title}”中尚未报送：\n"
                        + "\n".join(f"· {title}" for title in missing)
                        + "\n\n请在截止日期前登录平台上传；已上传但被退回或无法读取的文件需要重新上传。")
                made += len(notify(s, users, "reminder", f"报送截止提醒：{when}", body, link=DASHBOARD,
                                   campaign_id=campaign.id, key=f"reminder:{campaign.id}:{unit}:{offset}"))
    return made


def digest(store: Store, now: dt.datetime | None = None, cat: Catalog | None = None) -> int:
    """The staff's daily digest: files received in the last 24 hours, the review queue, uploads waiting to be
    dismissed or reassigned, e-mails that failed. Once per day (Beijing time); nothing when there is nothing to
    say. The number of notices made."""
    cat = cat or catalog()
    now = (now or utcnow()).astimezone(dt.UTC)  # stored times are UTC (SQLite keeps no offset)
    day = now.astimezone(BEIJING).date().isoformat()
    with store.session.begin() as s:
        received = dict(s.execute(select(Upload.campaign_id, func.count()).where(
            Upload.received_at > now - dt.timedelta(days=1), Upload.received_at <= now)
            .group_by(Upload.campaign_id)).all())
        current = select(Submission.campaign_id, func.count()).where(Submission.is_current.is_(True))
        queue = dict(s.execute(current.where(Submission.status.in_(REVIEW_STATUSES))
                               .group_by(Submission.campaign_id)).all())
        strays = dict(s.execute(current.where(Submission.status.in_(sorted(UPLOADS)))
                                .group_by(Submission.campaign_id)).all())
        failed = s.scalar(select(func.count()).select_from(Notice).where(Notice.mail_state == "failed")) or 0
        if not (any(received.values()) or any(queue.values()) or any(strays.values()) or failed):
            return 0
        lines = [f"过去 24 小时新收到文件 {sum(received.values())} 份，复核队列中待复核 {sum(queue.values())} 份，"
                 f"未计入的上传（待清除或改派）{sum(strays.values())} 份。"]
        for campaign in cat.campaigns.values():
            counts = [received.get(campaign.id, 0), queue.get(campaign.id, 0), strays.get(campaign.id, 0)]
            if any(counts):
                lines.append(f"· {campaign.title}：新收到 {counts[0]} 份，待复核 {counts[1]} 份，未计入的上传 {counts[2]} 份")
        if failed:
            lines.append(f"\n有 {failed} 封通知邮件发送失败，详见“通知与邮件设置”页。")
        return len(notify(s, staff_users(s), "digest", f"平台每日摘要（{day}）", "\n".join(lines),
                          link=REVIEW_QUEUE, key=f"digest:{day}", now=now))


def notice_shape(n: Notice) -> dict[str, Any]:
    """A notice as its list (page and JSON) shows it."""
    return {"id": n.id, "kind": n.kind, "title": n.title, "body": n.body, "link": n.link,
            "submission_id": n.submission_id, "campaign": n.campaign_id, "created_at": iso(n.created_at),
            "read": n.read_at is not None, "read_at": iso(n.read_at), "mail_state": n.mail_state}


def notices_for(store: Store, user_id: int, limit: int = 200) -> list[dict[str, Any]]:
    """A user's notices, newest first."""
    with store.session() as s:
        rows = s.scalars(select(Notice).where(Notice.user_id == user_id)
                         .order_by(Notice.created_at.desc(), Notice.id.desc()).limit(limit))
        return [notice_shape(n) for n in rows]


def unread_count(store: Store, user_id: int) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(Notice).where(Notice.user_id == user_id,
                                                                        Notice.read_at.is_(None))) or 0


def mark_read(store: Store, user_id: int, notice_id: int | None = None) -> int:
    """Mark one of the user's notices read (or all of them, ``notice_id`` None); how many changed.
    NOTICE_NOT_FOUND for a notice that is not the user's (another's looks absent)."""
    with store.session.begin() as s:
        query = update(Notice).where(Notice.user_id == user_id, Notice.read_at.is_(None))
        if notice_id is not None:
            notice = s.get(Notice, notice_id) if 0 < notice_id < 2**31 else None
            if notice is None or notice.user_id != user_id:
                raise IntakeError("NOTICE_NOT_FOUND", notice=notice_id)
            query = query.where(Notice.id == notice_id)
        return s.execute(query.values(read_at=utcnow())).rowcount


def outbox(store: Store, limit: int = 100) -> dict[str, Any]:
    """The e-mail outbox as staff see it: how many notices are in each mail state, and the sends waiting or
    failed (recipient, attempts, last error, next attempt), failed first."""
    with store.session() as s:
        counts = dict(s.execute(select(Notice.mail_state, func.count()).group_by(Notice.mail_state)).all())
        rows = s.execute(select(Notice, User.username).join(User, User.id == Notice.user_id)
                         .where(Notice.mail_state.in_(WAITING))
                         .order_by((Notice.mail_state != "failed"), Notice.id.desc()).limit(limit)).all()
        sends = [{"id": n.id, "title": n.title, "user": username, "email": n.email, "state": n.mail_state,
                  "attempts": n.attempts, "last_error": n.last_error, "next_attempt_at": iso(n.next_attempt_at),
                  "created_at": iso(n.created_at)} for n, username in rows]
    return {"counts": {**{state: counts.get(state, 0) for state in ("pending", "sending", "failed", "sent")},
                       "app_only": counts.get("", 0)}, "sends": sends}


def retry_failed(store: Store, actor: Actor, now: dt.datetime | None = None) -> int:
    """Staff ask for every failed e-mail to be tried again at the sender's next round (attempts are kept);
    how many."""
    if not actor.is_staff:
        raise IntakeError("STATE_FORBIDDEN", action="重试发送邮件")
    with store.session.begin() as s:
        count = s.execute(update(Notice).where(Notice.mail_state == "failed")
                          .values(next_attempt_at=now or utcnow())).rowcount
        audit(s, actor.username, "mail_retry", "notices", count=count)
    return count
