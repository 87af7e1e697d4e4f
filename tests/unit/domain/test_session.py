"""The ``Session`` aggregate: start, rotation with reuse detection, expiry, revocation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.identity.events import SessionRevoked, SessionStarted
from domain.identity.ids import SessionId
from domain.identity.session import (
    USER_AGENT_MAX,
    RefreshTokenReusedError,
    Session,
    SessionExpiredError,
    SessionLifetime,
)
from domain.shared.ids import UserId

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
SESSION_ID = SessionId(UUID(int=1))
USER_ID = UserId(UUID(int=2))
LIFETIME = SessionLifetime(idle=timedelta(days=14), absolute=timedelta(days=30))

hours = st.integers(min_value=1, max_value=24 * 60).map(lambda h: timedelta(hours=h))
lifetimes = st.builds(SessionLifetime, idle=hours, absolute=hours)


def a_session(*, now: datetime = T0, lifetime: SessionLifetime = LIFETIME, user_agent: str | None = "ua") -> Session:
    return Session.start(
        session_id=SESSION_ID,
        user_id=USER_ID,
        token_hash="hash-0",
        now=now,
        lifetime=lifetime,
        user_agent=user_agent,
        ip="203.0.113.7",
    )


def test_start_records_one_session_started_event() -> None:
    session = a_session()
    assert session.events == [SessionStarted(occurred_at=T0, session_id=SESSION_ID, user_id=USER_ID)]
    assert session.version == 1
    assert (session.created_at, session.last_used_at, session.revoked_at) == (T0, T0, None)


@given(lifetime=lifetimes)
def test_start_sets_idle_expiry_never_past_absolute_expiry(lifetime: SessionLifetime) -> None:
    session = a_session(lifetime=lifetime)
    assert session.expires_at == T0 + lifetime.absolute
    assert session.idle_expires_at == T0 + min(lifetime.idle, lifetime.absolute)


@given(lifetime=lifetimes, after=st.integers(min_value=0, max_value=60 * 24 * 60).map(lambda m: timedelta(minutes=m)))
def test_session_is_live_exactly_before_both_expiries(lifetime: SessionLifetime, after: timedelta) -> None:
    session = a_session(lifetime=lifetime)
    assert session.is_live(T0 + after) == (after < min(lifetime.idle, lifetime.absolute))


@pytest.mark.parametrize(("user_agent", "stored"), [("", None), (None, None), ("x" * 600, "x" * USER_AGENT_MAX)])
def test_start_trims_the_user_agent(user_agent: str | None, stored: str | None) -> None:
    assert a_session(user_agent=user_agent).user_agent == stored


def test_rotate_with_the_current_hash_swaps_it_and_bumps_the_version() -> None:
    session = a_session()
    now = T0 + timedelta(hours=1)
    session.rotate(presented_hash="hash-0", new_hash="hash-1", now=now, lifetime=LIFETIME)
    assert (session.token_hash, session.version, session.last_used_at) == ("hash-1", 2, now)


def test_rotate_with_a_wrong_hash_raises_reuse_and_changes_nothing() -> None:
    session = a_session()
    session.rotate(presented_hash="hash-0", new_hash="hash-1", now=T0, lifetime=LIFETIME)
    with pytest.raises(RefreshTokenReusedError):
        session.rotate(presented_hash="hash-0", new_hash="hash-2", now=T0, lifetime=LIFETIME)
    assert (session.token_hash, session.version) == ("hash-1", 2)


@pytest.mark.parametrize("after", [timedelta(days=14), timedelta(days=14, seconds=1), timedelta(days=29)])
def test_rotate_once_idle_for_the_idle_lifetime_raises_expired(after: timedelta) -> None:
    session = a_session()
    with pytest.raises(SessionExpiredError):
        session.rotate(presented_hash="hash-0", new_hash="hash-1", now=T0 + after, lifetime=LIFETIME)
    assert (session.token_hash, session.version) == ("hash-0", 1)


def test_rotate_past_the_absolute_lifetime_raises_expired_even_when_used_daily() -> None:
    session = a_session()
    current = "hash-0"
    for day in range(1, 30):
        session.rotate(presented_hash=current, new_hash=f"hash-{day}", now=T0 + timedelta(days=day), lifetime=LIFETIME)
        current = f"hash-{day}"
    with pytest.raises(SessionExpiredError):
        session.rotate(presented_hash=current, new_hash="late", now=T0 + timedelta(days=30), lifetime=LIFETIME)


def test_expiry_is_checked_before_the_hash() -> None:
    session = a_session()
    with pytest.raises(SessionExpiredError):
        session.rotate(presented_hash="stale", new_hash="hash-1", now=T0 + timedelta(days=31), lifetime=LIFETIME)


@given(
    lifetime=lifetimes,
    gaps=st.lists(st.integers(min_value=0, max_value=24 * 60).map(lambda m: timedelta(minutes=m)), max_size=30),
)
def test_each_rotation_slides_idle_expiry_but_never_past_absolute(
    lifetime: SessionLifetime, gaps: list[timedelta]
) -> None:
    session = a_session(lifetime=lifetime)
    now, rotations = T0, 0
    for gap in gaps:
        now += gap
        if not session.is_live(now):
            with pytest.raises(SessionExpiredError):
                session.rotate(presented_hash=session.token_hash, new_hash="next", now=now, lifetime=lifetime)
            break
        session.rotate(presented_hash=session.token_hash, new_hash=f"hash-{rotations + 1}", now=now, lifetime=lifetime)
        rotations += 1
        assert session.idle_expires_at == min(now + lifetime.idle, T0 + lifetime.absolute)
        assert session.idle_expires_at <= session.expires_at == T0 + lifetime.absolute
    assert session.version == 1 + rotations


def test_rotate_of_a_revoked_session_raises_expired() -> None:
    session = a_session()
    session.revoke(now=T0, reason="logout")
    with pytest.raises(SessionExpiredError):
        session.rotate(presented_hash="hash-0", new_hash="hash-1", now=T0, lifetime=LIFETIME)


def test_revoke_ends_the_session_and_records_one_event() -> None:
    session = a_session()
    session.events.clear()
    at = T0 + timedelta(minutes=5)
    session.revoke(now=at, reason="logout")
    assert session.revoked_at == at
    assert not session.is_live(at)
    assert session.version == 2
    assert session.events == [SessionRevoked(occurred_at=at, session_id=SESSION_ID, user_id=USER_ID, reason="logout")]


@given(times=st.integers(min_value=2, max_value=5))
def test_revoke_is_idempotent_with_exactly_one_event(times: int) -> None:
    session = a_session()
    for n in range(times):
        session.revoke(now=T0 + timedelta(minutes=n), reason=f"reason-{n}")
    assert session.revoked_at == T0
    assert session.version == 2
    assert [type(e) for e in session.events] == [SessionStarted, SessionRevoked]
    assert session.events[-1] == SessionRevoked(
        occurred_at=T0, session_id=SESSION_ID, user_id=USER_ID, reason="reason-0"
    )
