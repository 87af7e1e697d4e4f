"""The identity repositories' contract, held by every implementation."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from application.errors import AlreadyExistsError
from domain.identity.email import Email
from domain.identity.ids import SessionId
from domain.identity.session import Session, SessionLifetime
from domain.identity.user import Role, User
from domain.shared.errors import VersionMismatchError
from domain.shared.ids import UserId
from tests.integration.conftest import UowFactory
from tests.support.builders import T0


def a_user(email: str = "ada@example.com", role: Role = Role.USER) -> User:
    return User.register(
        user_id=UserId(uuid4()), email=Email.parse(email), display_name=None, password_hash="h", role=role, now=T0
    )


def a_session(user: User, token_hash: str = "t0", *, at: timedelta = timedelta(0)) -> Session:
    return Session.start(
        session_id=SessionId(uuid4()),
        user_id=user.id,
        token_hash=token_hash,
        now=T0 + at,
        lifetime=SessionLifetime(),
        user_agent="ua",
        ip="198.51.100.1",
    )


async def stored(new_uow: UowFactory, user: User, *sessions: Session) -> None:
    async with new_uow() as uow:
        await uow.users.add(user)
        for session in sessions:
            await uow.sessions.add(session)
        await uow.commit()


async def test_user_round_trips_every_field(new_uow: UowFactory) -> None:
    user = a_user(role=Role.ADMIN)
    await stored(new_uow, user)
    async with new_uow() as uow:
        loaded = await uow.users.get(user.id)
        by_email = await uow.users.get_by_email(Email.parse("ADA@example.com"))
    assert loaded is not None and by_email is not None
    for field in ("id", "email", "display_name", "password_hash", "role", "is_active", "created_at", "updated_at"):
        assert getattr(loaded, field) == getattr(user, field), field
    assert by_email.id == user.id


async def test_duplicate_email_is_refused_and_keeps_the_first(new_uow: UowFactory) -> None:
    first = a_user()
    await stored(new_uow, first)
    async with new_uow() as uow:
        with pytest.raises(AlreadyExistsError):
            await uow.users.add(a_user())
    async with new_uow() as uow:
        kept = await uow.users.get_by_email(Email.parse("ada@example.com"))
    assert kept is not None and kept.id == first.id


async def test_uncommitted_changes_are_rolled_back(new_uow: UowFactory) -> None:
    user = a_user()
    async with new_uow() as uow:
        await uow.users.add(user)
    async with new_uow() as uow:
        assert await uow.users.get(user.id) is None


async def test_saved_user_changes_are_visible_after_commit(new_uow: UowFactory) -> None:
    user = a_user()
    await stored(new_uow, user)
    async with new_uow() as uow:
        loaded = await uow.users.get(user.id)
        assert loaded is not None
        loaded.change_password("h2", now=T0 + timedelta(minutes=1))
        loaded.is_active = False
        await uow.users.save(loaded)
        await uow.commit()
    async with new_uow() as uow:
        again = await uow.users.get(user.id)
    assert again is not None
    assert (again.password_hash, again.is_active, again.updated_at) == ("h2", False, T0 + timedelta(minutes=1))


async def test_session_is_found_by_every_token_it_ever_issued(new_uow: UowFactory) -> None:
    user = a_user()
    session = a_session(user, "t0")
    await stored(new_uow, user, session)
    async with new_uow() as uow:
        loaded = await uow.sessions.get(session.id)
        assert loaded is not None
        loaded.rotate(presented_hash="t0", new_hash="t1", now=T0 + timedelta(minutes=5), lifetime=SessionLifetime())
        await uow.sessions.save(loaded)
        await uow.commit()
    async with new_uow() as uow:
        by_old = await uow.sessions.get_by_token_hash("t0")
        by_new = await uow.sessions.get_by_token_hash("t1")
        unknown = await uow.sessions.get_by_token_hash("nope")
    assert by_old is not None and by_new is not None and unknown is None
    assert by_old.id == by_new.id == session.id
    assert by_new.token_hash == "t1" and by_new.version == 2
    assert by_new.rotated_at == T0 + timedelta(minutes=5) and session.rotated_at is None


async def test_stale_session_save_is_refused_and_stores_nothing(new_uow: UowFactory) -> None:
    user = a_user()
    session = a_session(user, "t0")
    await stored(new_uow, user, session)
    async with new_uow() as uow:
        mine, theirs = await uow.sessions.get(session.id), await uow.sessions.get(session.id)
        assert mine is not None and theirs is not None
        mine.rotate(presented_hash="t0", new_hash="mine", now=T0, lifetime=SessionLifetime())
        theirs.rotate(presented_hash="t0", new_hash="theirs", now=T0, lifetime=SessionLifetime())
        await uow.sessions.save(mine)
        with pytest.raises(VersionMismatchError):
            await uow.sessions.save(theirs)
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.sessions.get_by_token_hash("theirs") is None
        current = await uow.sessions.get(session.id)
    assert current is not None and (current.token_hash, current.version) == ("mine", 2)


async def test_revocation_wins_over_any_version(new_uow: UowFactory) -> None:
    user = a_user()
    session = a_session(user)
    await stored(new_uow, user, session)
    async with new_uow() as uow:
        loaded = await uow.sessions.get(session.id)
        assert loaded is not None
        loaded.version = 99  # whatever this copy believes, revocation is stored
        loaded.revoke(now=T0 + timedelta(minutes=1), reason="logout")
        await uow.sessions.revoke(loaded)
        await uow.commit()
    async with new_uow() as uow:
        again = await uow.sessions.get(session.id)
        principal = await uow.sessions.find_principal(session.id, T0 + timedelta(minutes=2))
    assert again is not None and again.revoked_at == T0 + timedelta(minutes=1)
    assert principal is None


async def test_list_live_returns_only_live_sessions_newest_first(new_uow: UowFactory) -> None:
    user, other = a_user(), a_user("bob@example.com")
    older, newer, revoked = (a_session(user, f"t{i}", at=timedelta(minutes=i)) for i in range(3))
    revoked.revoke(now=T0 + timedelta(minutes=3), reason="logout")
    await stored(new_uow, user, older, newer, revoked)
    await stored(new_uow, other, a_session(other, "o"))
    async with new_uow() as uow:
        live = await uow.sessions.list_live(user.id, T0 + timedelta(minutes=10))
        after_idle = await uow.sessions.list_live(user.id, T0 + timedelta(days=15))
    assert [s.id for s in live] == [newer.id, older.id]
    assert after_idle == []


async def test_find_principal_requires_live_session_and_active_user(new_uow: UowFactory) -> None:
    user = a_user(role=Role.ADMIN)
    session = a_session(user)
    await stored(new_uow, user, session)
    async with new_uow() as uow:
        live = await uow.sessions.find_principal(session.id, T0 + timedelta(hours=1))
        expired = await uow.sessions.find_principal(session.id, T0 + timedelta(days=31))
        unknown = await uow.sessions.find_principal(SessionId(uuid4()), T0)
    assert live is not None and (live.user_id, live.role) == (user.id, Role.ADMIN)
    assert expired is None and unknown is None
    async with new_uow() as uow:
        loaded = await uow.users.get(user.id)
        assert loaded is not None
        loaded.is_active = False
        await uow.users.save(loaded)
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.sessions.find_principal(session.id, T0 + timedelta(hours=1)) is None


async def test_entering_the_transaction_again_inside_it_is_refused(new_uow: UowFactory) -> None:
    """Two context views of one request share one transaction: the second cannot open it
    again (in memory that would wait forever for the lock the first holds)."""
    uow = new_uow()
    async with uow:
        with pytest.raises(RuntimeError, match="entered twice"):
            async with uow:
                pass
    async with uow:  # and once left, it opens again
        assert await uow.users.get(a_user().id) is None


async def test_revoking_a_session_revoked_already_changes_nothing(new_uow: UowFactory) -> None:
    user = a_user()
    session = a_session(user)
    async with new_uow() as uow:
        await uow.users.add(user)
        await uow.sessions.add(session)
        await uow.commit()
    async with new_uow() as uow:
        first, second = await uow.sessions.get(session.id), await uow.sessions.get(session.id)
        assert first is not None and second is not None
        first.revoke(now=T0, reason="logout")
        second.revoke(now=T0 + timedelta(seconds=1), reason="password_changed")
        assert await uow.sessions.revoke(first) is True
        assert await uow.sessions.revoke(second) is False
        await uow.commit()
    async with new_uow() as uow:
        stored = await uow.sessions.get(session.id)
    assert stored is not None and stored.revoked_at == T0
