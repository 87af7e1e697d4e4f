"""``LinkToken.usable`` and the ``User`` changes that mailed links start or prove."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from hypothesis import given
from hypothesis import strategies as st

from domain.identity.email import Email
from domain.identity.events import EmailVerificationRequested, EmailVerified
from domain.identity.link_token import LinkPurpose, LinkToken
from domain.identity.user import Role, User
from domain.shared.ids import UserId

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
LATER = T0 + timedelta(minutes=5)
USER_ID = UserId(UUID(int=7))
OFFSETS = st.integers(-(10**9), 10**9).map(lambda us: timedelta(microseconds=us))


def a_token(*, used_at: datetime | None = None) -> LinkToken:
    return LinkToken(
        token_hash="d" * 64,
        purpose=LinkPurpose.PASSWORD_RESET,
        user_id=USER_ID,
        event_id=UUID(int=1),
        expires_at=T0,
        used_at=used_at,
    )


def a_user() -> User:
    user = User.register(
        user_id=USER_ID,
        email=Email.parse("ada@example.com"),
        display_name=None,
        password_hash="h",
        role=Role.USER,
        now=T0,
    )
    user.events.clear()
    return user


@given(offset=OFFSETS)
def test_an_unused_token_is_usable_exactly_before_it_expires(offset: timedelta) -> None:
    assert a_token().usable(T0 + offset) is (offset < timedelta(0))


@given(offset=OFFSETS)
def test_a_used_token_is_never_usable(offset: timedelta) -> None:
    assert not a_token(used_at=T0 - timedelta(hours=1)).usable(T0 + offset)


def test_a_new_account_is_unverified() -> None:
    assert not a_user().email_verified


def test_verifying_records_once_and_moves_updated_at() -> None:
    user = a_user()
    assert user.verify_email(now=LATER)
    assert not user.verify_email(now=LATER + timedelta(minutes=1))
    assert (user.email_verified, user.updated_at) == (True, LATER)
    assert user.events == [EmailVerified(occurred_at=LATER, user_id=USER_ID, email="ada@example.com")]


def test_a_verification_request_is_recorded_only_while_unverified() -> None:
    user = a_user()
    assert user.request_email_verification(now=LATER)
    user.verify_email(now=LATER)
    user.events.clear()
    assert not user.request_email_verification(now=LATER)
    assert user.events == []


def test_a_request_before_verification_names_the_account() -> None:
    user = a_user()
    user.request_email_verification(now=LATER)
    assert user.events == [EmailVerificationRequested(occurred_at=LATER, user_id=USER_ID, email="ada@example.com")]
