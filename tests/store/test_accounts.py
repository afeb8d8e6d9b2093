"""Accounts in the store: which passwords are refused, sessions that end on the server, tokens that expire."""

from __future__ import annotations

import datetime as dt

import pytest

from service.store.auth import (
    create_token,
    create_user,
    end_session,
    password_problem,
    session_user,
    set_password,
    start_session,
    user_for_token,
)
from service.store.models import ApiToken, LoginSession

GOOD = "辽宁-报送-2020-good"


@pytest.mark.parametrize("password", ["1234567890", "0987654321", "qwertyuiop", "abcdefghijk", "abcdabcdabcd",
                                      "1q2w1q2w1q2w", "woaini1314520", "Password1234", "QWERTYUIOP123"])
def test_common_and_guessable_passwords_are_refused(password):
    assert "太常见" in password_problem("provincial", password)


@pytest.mark.parametrize("password", [GOOD, "tea-cup-river-2020", "Ln教育厅报送专用3"])
def test_passwords_people_make_up_are_accepted(password):
    assert password_problem("provincial", password) is None


def test_a_password_change_ends_every_session_and_can_revoke_the_tokens(store):
    with store.session.begin() as s:
        user = create_user(s, "provincial", GOOD, "recommender", "edu-ln")
        one, two = start_session(s, user, "10.0.0.1"), start_session(s, user, "10.0.0.2")
        token = create_token(s, user, "脚本")
    with store.session.begin() as s:
        assert session_user(s, one).username == session_user(s, two).username == "provincial"
        end_session(s, one)  # logging out ends this browser's session only
    with store.session.begin() as s:
        assert session_user(s, one) is None and session_user(s, two) is not None
        set_password(s, s.get(type(user), user.id), "tea-cup-river-2020")
    with store.session.begin() as s:
        assert session_user(s, two) is None
        assert user_for_token(s, token) is not None  # tokens stay unless asked
        set_password(s, s.get(type(user), user.id), "tea-cup-river-2021", revoke_tokens=True)
    with store.session.begin() as s:
        assert user_for_token(s, token) is None


def test_sessions_and_tokens_expire(store):
    with store.session.begin() as s:
        user = create_user(s, "provincial", GOOD, "recommender", "edu-ln")
        sid = start_session(s, user, "10.0.0.1")
        short = create_token(s, user, "一天", dt.timedelta(days=1))
        token = s.query(ApiToken).one()
        assert 0.99 < (token.expires_at - token.created_at).total_seconds() / 86400 < 1.01
    with store.session.begin() as s:
        assert user_for_token(s, short) is not None
        s.query(ApiToken).one().expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        s.query(LoginSession).one().created_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=8, seconds=1)
    with store.session.begin() as s:
        assert user_for_token(s, short) is None
        assert session_user(s, sid) is None
