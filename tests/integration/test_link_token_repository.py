"""The link-token repository's contract (and ``users.email_verified``) on memory, SQLite and
PostgreSQL: idempotent storage by digest, single use by compare-and-set, expiry, purpose."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from uuid import UUID, uuid4

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.memory.database import InMemoryDatabase
from adapters.memory.identity import InMemoryIdentityUnitOfWork
from adapters.memory.unit_of_work import InMemoryUnitOfWork
from adapters.sql.identity import SqlIdentityUnitOfWork
from adapters.sql.unit_of_work import SqlUnitOfWork
from application.errors import NotFoundError
from application.identity.ports import IdentityUnitOfWork
from domain.identity.email import Email
from domain.identity.link_token import LinkPurpose, LinkToken
from domain.identity.user import Role, User
from domain.shared.ids import UserId
from tests.support.builders import T0

RESET, VERIFY = LinkPurpose.PASSWORD_RESET, LinkPurpose.EMAIL_VERIFICATION
EXPIRES = T0 + timedelta(minutes=30)
BEFORE = EXPIRES - timedelta(microseconds=1)

Units = Callable[[], IdentityUnitOfWork]


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def units(request: pytest.FixtureRequest) -> Units:
    """Identity units of work over one store, each call a new transaction boundary."""
    if request.param == "memory":
        database = InMemoryDatabase()
        return lambda: InMemoryIdentityUnitOfWork(InMemoryUnitOfWork(database))
    engine: AsyncEngine = request.getfixturevalue(f"{'pg' if request.param == 'postgres' else 'sqlite'}_engine")
    return lambda: SqlIdentityUnitOfWork(SqlUnitOfWork(engine))


def a_token(user: User, token_hash: str = "a" * 64, *, purpose: LinkPurpose = RESET, **changes: object) -> LinkToken:
    fields: dict[str, object] = {
        "token_hash": token_hash,
        "purpose": purpose,
        "user_id": user.id,
        "event_id": uuid4(),
        "expires_at": EXPIRES,
        **changes,
    }
    return LinkToken(**fields)  # type: ignore[arg-type]


async def a_user(units: Units, email: str = "ada@example.com") -> User:
    user = User.register(
        user_id=UserId(uuid4()), email=Email.parse(email), display_name=None, password_hash="h", role=Role.USER, now=T0
    )
    async with units() as uow:
        await uow.users.add(user)
        await uow.commit()
    return user


async def stored(units: Units, *tokens: LinkToken) -> list[bool]:
    async with units() as uow:
        added = [await uow.link_tokens.add(token) for token in tokens]
        await uow.commit()
    return added


async def find(units: Units, token_hash: str, purpose: LinkPurpose = RESET) -> LinkToken | None:
    async with units() as uow:
        return await uow.link_tokens.find(token_hash, purpose)


async def test_a_token_round_trips_every_field_under_its_digest_and_purpose(units: Units) -> None:
    user = await a_user(units)
    token = a_token(user, purpose=VERIFY, expires_at=T0 + timedelta(hours=48))

    assert await stored(units, token) == [True]

    assert await find(units, token.token_hash, VERIFY) == token
    assert await find(units, token.token_hash, RESET) is None
    assert await find(units, "b" * 64, VERIFY) is None


async def test_a_digest_stored_already_is_kept_and_the_transaction_goes_on(units: Units) -> None:
    user = await a_user(units)
    first = a_token(user)
    await stored(units, first)

    again = a_token(user, expires_at=EXPIRES + timedelta(hours=1))
    other = a_token(user, "c" * 64)
    assert await stored(units, again, other) == [False, True]

    assert await find(units, first.token_hash) == first
    assert await find(units, other.token_hash) == other


async def test_a_token_for_a_missing_account_is_refused(units: Units) -> None:
    ghost = User.register(
        user_id=UserId(UUID(int=9)), email=Email.parse("gone@example.com"), display_name=None, password_hash="h",
        role=Role.USER, now=T0,
    )  # fmt: skip
    async with units() as uow:
        with pytest.raises(NotFoundError):
            await uow.link_tokens.add(a_token(ghost))


async def test_consume_gives_the_account_once_and_only_before_expiry(units: Units) -> None:
    user = await a_user(units)
    late, expired = a_token(user), a_token(user, "e" * 64)
    await stored(units, late, expired)

    async with units() as uow:
        assert await uow.link_tokens.consume(expired.token_hash, RESET, EXPIRES) is None
        assert await uow.link_tokens.consume(late.token_hash, VERIFY, BEFORE) is None
        assert await uow.link_tokens.consume(late.token_hash, RESET, BEFORE) == user.id
        assert await uow.link_tokens.consume(late.token_hash, RESET, BEFORE) is None
        await uow.commit()

    used = await find(units, late.token_hash)
    assert used is not None and used.used_at == BEFORE
    async with units() as uow:
        assert await uow.link_tokens.consume(late.token_hash, RESET, T0) is None
    assert (await find(units, expired.token_hash)) == expired


async def test_a_consumption_that_is_not_committed_leaves_the_token_usable(units: Units) -> None:
    user = await a_user(units)
    token = a_token(user)
    await stored(units, token)

    async with units() as uow:
        assert await uow.link_tokens.consume(token.token_hash, RESET, T0) == user.id
        # left without commit

    async with units() as uow:
        assert await uow.link_tokens.consume(token.token_hash, RESET, T0) == user.id
        await uow.commit()


async def test_consume_all_retires_the_unused_tokens_of_one_account_and_purpose(units: Units) -> None:
    ada, grace = await a_user(units), await a_user(units, "grace@example.com")
    unused = [a_token(ada, "1" * 64), a_token(ada, "2" * 64)]
    used = a_token(ada, "3" * 64, used_at=T0)
    verification = a_token(ada, "4" * 64, purpose=VERIFY)
    graces = a_token(grace, "5" * 64)
    await stored(units, *unused, used, verification, graces)

    async with units() as uow:
        assert await uow.link_tokens.consume_all(ada.id, RESET, BEFORE) == 2
        await uow.commit()

    for token in unused:
        retired = await find(units, token.token_hash)
        assert retired is not None and retired.used_at == BEFORE
    assert await find(units, used.token_hash) == used
    assert await find(units, verification.token_hash, VERIFY) == verification
    assert await find(units, graces.token_hash) == graces


async def test_of_concurrent_consumers_exactly_one_gets_the_account(units: Units) -> None:
    user = await a_user(units)
    token = a_token(user)
    await stored(units, token)

    async def consume() -> UserId | None:
        async with units() as uow:
            got = await uow.link_tokens.consume(token.token_hash, RESET, T0)
            await asyncio.sleep(0.02)  # hold the transaction open while the others try
            await uow.commit()
        return got

    results = await asyncio.gather(*(consume() for _ in range(4)))

    assert [result for result in results if result is not None] == [user.id]


async def test_users_keep_whether_their_address_is_verified(units: Units) -> None:
    user = await a_user(units)
    async with units() as uow:
        loaded = await uow.users.get(user.id)
        assert loaded is not None and loaded.email_verified is False
        loaded.verify_email(now=BEFORE)
        await uow.users.save(loaded)
        await uow.commit()
    async with units() as uow:
        again = await uow.users.get_by_email(user.email)
    assert again is not None
    assert (again.email_verified, again.updated_at) == (True, BEFORE)
