"""Users and API tokens. Passwords are hashed (werkzeug's scrypt); tokens are random and only their sha256 is kept."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from service.store.models import ApiToken, User, utcnow

ROLES = ("admin", "recommender", "school")
TOKEN_PREFIX = "jth_"
MIN_PASSWORD = 10
USED_RESOLUTION = dt.timedelta(minutes=1)


def password_problem(username: str, password: str) -> str | None:
    """Why a new password is refused (in Chinese), or None. Length is what matters most against guessing."""
    if len(password) < MIN_PASSWORD:
        return f"密码至少 {MIN_PASSWORD} 位。"
    if len(set(password)) < 4:
        return "密码过于简单：请混用不同的字母、数字或符号。"
    if username and username.lower() in password.lower():
        return "密码不能包含用户名。"
    return None


def set_password(s: Session, user: User, password: str) -> None:
    """Store a new hash; every session signed with the old one ends (see web.auth.load_user)."""
    problem = password_problem(user.username, password)
    if problem:
        raise ValueError(problem)
    user.password_hash = generate_password_hash(password)


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


def check_password(s: Session, username: str, password: str) -> User | None:
    user = s.scalar(select(User).where(User.username == username))
    if user is None or not check_password_hash(user.password_hash, password):
        return None
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(s: Session, user: User, name: str = "") -> str:
    """A new token for ``user``; the plain token is returned once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    s.add(ApiToken(user_id=user.id, name=name, token_hash=_digest(token)))
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
    if row is None:
        return None
    now = utcnow()
    last = row.last_used_at
    if last is None or (last if last.tzinfo else last.replace(tzinfo=now.tzinfo)) < now - USED_RESOLUTION:
        row.last_used_at = now  # at most one write a minute per token, not one per request
    return row.user
