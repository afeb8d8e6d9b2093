"""Users, their signed-in sessions and API tokens.

Passwords are hashed (werkzeug's scrypt). Sessions, trusted browsers and tokens are random secrets of which only the
sha256 is kept, so that a stolen database opens nothing, and ending one is a row update that takes effect at once.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import secrets
import string

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from service.forms.catalog import ROOT
from service.store.models import ApiToken, LoginSession, TrustedBrowser, User, utcnow

ROLES = ("admin", "recommender", "school")
TOKEN_PREFIX = "jth_"
MIN_PASSWORD = 10
USED_RESOLUTION = dt.timedelta(minutes=1)
SESSION_LIFETIME = dt.timedelta(hours=8)
TOKEN_LIFETIME = dt.timedelta(days=90)
COMMON_PASSWORDS = ROOT / "data" / "accounts" / "common_passwords.txt"
_RUNS = ("0123456789", "9876543210", string.ascii_lowercase, string.ascii_lowercase[::-1], "qwertyuiop",
         "asdfghjkl", "zxcvbnm")


@functools.cache
def _common() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def _guessable(password: str) -> bool:
    """On the list, a run of a keyboard row, digits or letters, or one short piece repeated (abcabcabca)."""
    lower = password.lower()
    if lower in _common() or any(lower in run * 2 for run in _RUNS):
        return True
    return re.fullmatch(r"(.{1,4})\1+.{0,3}", lower) is not None


def password_problem(username: str, password: str) -> str | None:
    """Why a new password is refused (in Chinese), or None. Length is what matters most against guessing."""
    if len(password) < MIN_PASSWORD:
        return f"密码至少 {MIN_PASSWORD} 位。"
    if len(set(password)) < 4:
        return "密码过于简单：请混用不同的字母、数字或符号。"
    if username and username.lower() in password.lower():
        return "密码不能包含用户名。"
    if _guessable(password):
        return "这个密码太常见，容易被猜中：请换一个（可以用几个词组合）。"
    return None


def set_password(s: Session, user: User, password: str, *, revoke_tokens: bool = False) -> None:
    """Store a new hash and end every signed-in session of the account (the caller may start a new one).

    ``revoke_tokens`` also revokes the account's API tokens (a leaked password may have made some)."""
    problem = password_problem(user.username, password)
    if problem:
        raise ValueError(problem)
    user.password_hash = generate_password_hash(password)
    end_sessions(s, user.id)
    if revoke_tokens:
        s.execute(update(ApiToken).where(ApiToken.user_id == user.id).values(revoked=True))


def create_user(s: Session, username: str, password: str, role: str, entity_id: str | None = None,
                display_name: str = "") -> User:
    if role not in ROLES:
        raise ValueError(f"角色只能是：{'、'.join(ROLES)}")
    if role == "recommender" and not entity_id:
        raise ValueError("推荐单位账号必须指定所代表的单位编号（如 edu-ln 或 ln-08）")
    if s.scalar(select(User).where(User.username == username)) is not None:
        raise ValueError(f"用户名 {username} 已存在")
    user = User(username=username, password_hash=generate_password_hash(password), role=role, entity_id=entity_id,
                display_name=display_name or username)
    s.add(user)
    s.flush()
    return user


@functools.cache
def _decoy_hash() -> str:
    return generate_password_hash(secrets.token_urlsafe(16))


def check_password(s: Session, username: str, password: str) -> User | None:
    """The user if the password is right. An unknown name costs the same scrypt work as a known one, so the time
    of an answer does not tell which user names exist."""
    user = s.scalar(select(User).where(User.username == username))
    if user is None:
        check_password_hash(_decoy_hash(), password)
        return None
    good = check_password_hash(user.password_hash, password)
    return user if good and not user.disabled else None  # a disabled account signs in nowhere


# -- sessions and trusted browsers ------------------------------------------------------------------------------

def start_session(s: Session, user: User, address: str) -> str:
    """A new signed-in session; the returned secret goes into the (signed) session cookie, its hash here."""
    token = secrets.token_urlsafe(32)
    s.add(LoginSession(user_id=user.id, token_hash=_digest(token), address=address[:64]))
    s.flush()
    return token


def session_user(s: Session, token: str | None) -> User | None:
    """The user of a live session: not ended, not older than :data:`SESSION_LIFETIME`."""
    if not token:
        return None
    row = s.scalar(select(LoginSession).where(LoginSession.token_hash == _digest(token),
                                              LoginSession.ended_at.is_(None)))
    if row is None or _aware(row.created_at) < utcnow() - SESSION_LIFETIME or row.user.disabled:
        return None
    return row.user


def end_session(s: Session, token: str | None) -> None:
    if token:
        s.execute(update(LoginSession).where(LoginSession.token_hash == _digest(token),
                                             LoginSession.ended_at.is_(None)).values(ended_at=utcnow()))


def end_sessions(s: Session, user_id: int) -> None:
    """End every signed-in session of the account (password set, account reset)."""
    s.execute(update(LoginSession).where(LoginSession.user_id == user_id, LoginSession.ended_at.is_(None))
              .values(ended_at=utcnow()))


def trust_browser(s: Session, user: User) -> str:
    token = secrets.token_urlsafe(32)
    s.add(TrustedBrowser(user_id=user.id, token_hash=_digest(token)))
    s.flush()
    return token


def trusted(s: Session, username: str, token: str | None) -> bool:
    """Whether this browser signed in to the account ``username`` before."""
    if not token:
        return False
    return s.scalar(select(TrustedBrowser.id).join(User, User.id == TrustedBrowser.user_id).where(
        User.username == username, TrustedBrowser.token_hash == _digest(token))) is not None


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(s: Session, user: User, name: str = "", lifetime: dt.timedelta = TOKEN_LIFETIME) -> str:
    """A new token for ``user``, valid for ``lifetime``; the plain token is returned once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    s.add(ApiToken(user_id=user.id, name=name, token_hash=_digest(token), expires_at=utcnow() + lifetime))
    s.flush()
    return token


def revoke_token(s: Session, token_id: int) -> ApiToken:
    """Stop a token from working at once (kept, marked revoked, for the audit trail)."""
    row = s.get(ApiToken, token_id)
    if row is None:
        raise LookupError(f"没有编号为 {token_id} 的令牌")
    row.revoked = True
    return row


def user_for_token(s: Session, token: str) -> User | None:
    row = s.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token), ApiToken.revoked.is_(False)))
    now = utcnow()
    if row is None or (row.expires_at is not None and _aware(row.expires_at) <= now) or row.user.disabled:
        return None
    last = row.last_used_at
    if last is None or (last if last.tzinfo else last.replace(tzinfo=now.tzinfo)) < now - USED_RESOLUTION:
        row.last_used_at = now  # at most one write a minute per token, not one per request
    return row.user
