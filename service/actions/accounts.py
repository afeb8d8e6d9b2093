"""Accounts, run by the platform's staff without a terminal: one account, or one for every unit on a campaign's
list at once (with a sheet of user names and one-time passwords to hand out); disable and enable; a new one-time
password; unlock after wrong passwords. A one-time password must be changed at the first sign-in.

Passwords made here are random and shown once (in the answer or the sheet); only their hash is kept. Every action is
audited once with the acting staff member.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from service.actions.actor import Actor
from service.actions.intake import IntakeError
from service.forms.catalog import Catalog, catalog
from service.store import Store
from service.store.audit import audit
from service.store.auth import ROLES, create_user, end_sessions, password_problem, set_password
from service.store.models import User

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
USERNAME = re.compile(r"^[\w.\-\u4e00-\u9fff]{2,80}$")


@dataclass(frozen=True)
class Issued:
    """An account and the one-time password it was given (shown once)."""

    username: str
    password: str
    role: str
    entity_id: str | None
    unit: str

    def to_dict(self) -> dict[str, Any]:
        return {"username": self.username, "password": self.password, "role": self.role,
                "entity_id": self.entity_id, "unit": self.unit}


def one_time_password() -> str:
    """Twelve characters a person can type from a printed sheet (no 0/O, 1/l/I), passing the password rules."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    while True:
        password = "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3))
        if password_problem("", password) is None:
            return password


def _staff(actor: Actor) -> None:
    if not actor.is_staff:
        raise IntakeError("STATE_FORBIDDEN", action="管理账号")


def _unit_name(cat: Catalog, entity_id: str | None) -> str:
    """The name of a unit on any list a campaign names (submitters, supervisors, its forms' entities …)."""
    if not entity_id:
        return ""
    found = cat.unit(entity_id)
    if found is None:
        raise IntakeError("ACCOUNT_UNIT_UNKNOWN", unit=str(entity_id)[:60])
    return found[1]["name"]


def create_account(store: Store, actor: Actor, username: str, role: str, entity_id: str | None = None,
                   display_name: str = "", email: str = "", password: str | None = None,
                   cat: Catalog | None = None) -> Issued:
    """One account. Without ``password`` a one-time password is made and must be changed at first sign-in; a
    password given (read from a file or stdin by the CLI, never an argument) must pass the password rules."""
    _staff(actor)
    cat = cat or catalog()
    username = (username or "").strip()
    if not USERNAME.match(username):
        raise IntakeError("ACCOUNT_USERNAME_INVALID", username=username[:80])
    if role not in ROLES:
        raise IntakeError("ACCOUNT_ROLE_INVALID", role=str(role)[:20], roles="、".join(ROLES))
    if role == "recommender" and not entity_id:
        raise IntakeError("ACCOUNT_UNIT_REQUIRED")
    unit = _unit_name(cat, entity_id)
    email = (email or "").strip()
    if email and not EMAIL.match(email):
        raise IntakeError("ACCOUNT_EMAIL_INVALID", email=email[:200])
    generated = password is None
    password = password if password is not None else one_time_password()
    problem = password_problem(username, password)
    if problem:
        raise IntakeError("ACCOUNT_PASSWORD_WEAK", reason=problem)
    with store.session.begin() as s:
        if s.scalar(select(User.id).where(User.username == username)) is not None:
            raise IntakeError("ACCOUNT_EXISTS", username=username)
        user = create_user(s, username, password, role, entity_id, display_name or unit or username)
        user.email, user.must_change_password = email, generated
        audit(s, actor.username, "account_create", f"user:{user.id}", username=username, role=role,
              entity=entity_id, one_time=generated)
    return Issued(username, password if generated else "", role, entity_id, unit)


def create_campaign_accounts(store: Store, actor: Actor, campaign_id: str, cat: Catalog | None = None) -> list[Issued]:
    """An account for every unit on the campaign's submitter list that has none yet (user name = the unit's
    code), each with a one-time password; the units that already have one are left as they are."""
    _staff(actor)
    cat = cat or catalog()
    if campaign_id not in cat.campaigns:
        raise IntakeError("CAMPAIGN_NOT_FOUND", campaign=campaign_id, campaigns="、".join(cat.campaigns))
    rows = cat.entities(cat.campaign(campaign_id).data.get("submitters", ""))
    issued: list[Issued] = []
    with store.session.begin() as s:
        have = set(s.scalars(select(User.entity_id).where(User.role == "recommender")))
        taken = set(s.scalars(select(User.username)))
        for row in rows:
            if row["id"] in have or row["id"] in taken:
                continue
            password = one_time_password()
            user = create_user(s, row["id"], password, "recommender", row["id"], row["name"])
            user.email, user.must_change_password = row.get("email", ""), True
            issued.append(Issued(row["id"], password, "recommender", row["id"], row["name"]))
        audit(s, actor.username, "accounts_create", f"campaign:{campaign_id}", usernames=[i.username for i in issued])
    return issued


def _user(s, username: str) -> User:
    user = s.scalar(select(User).where(User.username == username))
    if user is None:
        raise IntakeError("ACCOUNT_NOT_FOUND", username=str(username)[:80])
    return user


def reset_password(store: Store, actor: Actor, username: str, *, revoke_tokens: bool = False) -> Issued:
    """A new one-time password (to be changed at the next sign-in); the account's sessions end."""
    _staff(actor)
    password = one_time_password()
    with store.session.begin() as s:
        user = _user(s, username)
        set_password(s, user, password, revoke_tokens=revoke_tokens)  # ends its sessions
        user.must_change_password = True
        audit(s, actor.username, "password_reset", f"user:{user.id}", username=username, one_time=True,
              tokens_revoked=revoke_tokens)
        return Issued(user.username, password, user.role, user.entity_id, user.display_name)


def set_account_password(store: Store, actor: Actor, username: str, password: str, *,
                         revoke_tokens: bool = False) -> None:
    """A password the operator chose (read from a file or stdin, never an argument); it must pass the rules."""
    _staff(actor)
    with store.session.begin() as s:
        user = _user(s, username)
        problem = password_problem(username, password)
        if problem:
            raise IntakeError("ACCOUNT_PASSWORD_WEAK", reason=problem)
        set_password(s, user, password, revoke_tokens=revoke_tokens)
        user.must_change_password = False
        audit(s, actor.username, "password_reset", f"user:{user.id}", username=username, one_time=False,
              tokens_revoked=revoke_tokens)


def set_disabled(store: Store, actor: Actor, username: str, disabled: bool) -> None:
    """Disable (its sessions end, its tokens stop working) or enable an account. Staff cannot disable
    themselves: a platform must keep someone who can undo it."""
    _staff(actor)
    if disabled and username == actor.username:
        raise IntakeError("ACCOUNT_SELF_DISABLE")
    with store.session.begin() as s:
        user = _user(s, username)
        user.disabled = disabled
        if disabled:
            end_sessions(s, user.id)
        audit(s, actor.username, "account_disable" if disabled else "account_enable", f"user:{user.id}",
              username=username)


def unlock(store: Store, actor: Actor, username: str) -> None:
    """Wrong passwords before now no longer slow down sign-ins to this account (the throttle counts from the
    latest unlock)."""
    _staff(actor)
    with store.session.begin() as s:
        user = _user(s, username)
        audit(s, actor.username, "unlock", f"user:{user.username}")


def update_email(store: Store, actor: Actor, username: str, email: str) -> None:
    _staff(actor)
    email = (email or "").strip()
    if email and not EMAIL.match(email):
        raise IntakeError("ACCOUNT_EMAIL_INVALID", email=email[:200])
    with store.session.begin() as s:
        user = _user(s, username)
        user.email = email
        audit(s, actor.username, "account_email", f"user:{user.id}", email=email)


def accounts(store: Store, actor: Actor) -> list[dict[str, Any]]:
    _staff(actor)
    with store.session() as s:
        return [{"id": u.id, "username": u.username, "display_name": u.display_name, "role": u.role,
                 "entity_id": u.entity_id, "email": u.email, "disabled": u.disabled,
                 "must_change_password": u.must_change_password,
                 "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None}
                for u in s.scalars(select(User).order_by(User.role, User.username))]
