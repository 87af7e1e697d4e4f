"""``IdentityUnitOfWork.require_live_session``: the store confirms the caller's session
before the request's unit of work gives anything out. On PostgreSQL the check rides on the
next read (one statement for both); everywhere, a dead session, a deactivated user or another
role is ``UnauthenticatedError`` whichever statement comes first, or none."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.memory.database import InMemoryDatabase
from adapters.memory.identity import InMemoryIdentityUnitOfWork
from adapters.memory.todos import InMemoryTodoUnitOfWork
from adapters.memory.unit_of_work import InMemoryUnitOfWork
from adapters.sql.identity import _LIVE_SESSION, SqlIdentityUnitOfWork
from adapters.sql.statements import Query
from adapters.sql.tables import todos
from adapters.sql.todos import SqlTodoUnitOfWork
from adapters.sql.unit_of_work import SqlUnitOfWork
from application.errors import UnauthenticatedError
from application.identity.ports import IdentityUnitOfWork
from application.shared.actor import Actor
from application.todos.ports import TodoQuery, TodoUnitOfWork
from domain.identity.user import Role
from domain.shared.pagination import PageRequest
from domain.todos.todo import Title, Todo, TodoId
from tests.integration.test_identity_repositories import a_session, a_user
from tests.support.builders import T0
from tests.support.statements import log_statements
from tests.support.units import AllRepositories, memory_unit, sql_unit

NOW = T0 + timedelta(minutes=1)


@dataclass
class Store:
    """One storage: ``setup()`` for arranging rows, ``request()`` for the two views a request
    has over its one transaction, and the PostgreSQL statements run (None elsewhere)."""

    kind: str
    setup: Any
    views: Any
    statements: list[str] | None = None
    transactions: list[Any] = field(default_factory=list)

    def request(self) -> tuple[IdentityUnitOfWork, TodoUnitOfWork]:
        transaction, identity, todos = self.views()
        self.transactions.append(transaction)
        return identity, todos

    async def release(self) -> None:
        """What the request scope's finalizer does (the in-memory transaction holds nothing)."""
        for transaction in self.transactions:
            if isinstance(transaction, SqlUnitOfWork):
                await transaction.release()


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def any_store(request: pytest.FixtureRequest) -> Store:
    if request.param == "memory":
        database = InMemoryDatabase()

        def memory_views() -> tuple[Any, IdentityUnitOfWork, TodoUnitOfWork]:
            transaction = InMemoryUnitOfWork(database)
            return transaction, InMemoryIdentityUnitOfWork(transaction), InMemoryTodoUnitOfWork(transaction)

        return Store("memory", lambda: memory_unit(database), memory_views)
    engine: AsyncEngine = request.getfixturevalue("pg_engine" if request.param == "postgres" else "sqlite_engine")
    return _sql_store(request.param, engine)


@pytest.fixture
async def store(any_store: Store) -> AsyncIterator[Store]:
    yield any_store
    await any_store.release()


@pytest.fixture
async def postgres(pg_engine: AsyncEngine) -> AsyncIterator[Store]:
    store = _sql_store("postgres", pg_engine)
    yield store
    await store.release()


def _sql_store(kind: str, engine: AsyncEngine) -> Store:
    def sql_views() -> tuple[Any, IdentityUnitOfWork, TodoUnitOfWork]:
        transaction = SqlUnitOfWork(engine, hold_connection=True)  # as the composition root makes it
        return transaction, SqlIdentityUnitOfWork(transaction), SqlTodoUnitOfWork(transaction)

    return Store(kind, lambda: sql_unit(engine), sql_views, log_statements(engine) if kind == "postgres" else None)


async def _arranged(store: Store, *, revoked: bool = False, active: bool = True) -> tuple[Actor, Todo]:
    """A user with one session and one todo; the session revoked or the user deactivated
    on request."""
    user, uow = a_user(f"{uuid4().hex[:8]}@example.com"), store.setup()
    session = a_session(user, uuid4().hex)
    todo = Todo.create(
        todo_id=TodoId(uuid4()), owner_id=user.id, title=Title.parse("t"), description="", due_at=None, now=T0
    )
    async with uow:
        await uow.users.add(user)
        await uow.sessions.add(session)
        await uow.todos.add(todo)
        await uow.commit()
    if revoked:
        await _revoke(uow, session.id)
    if not active:
        async with uow:
            stored = await uow.users.get(user.id)
            assert stored is not None
            stored.deactivate(now=T0)
            await uow.users.save(stored)
            await uow.commit()
    return Actor(user_id=user.id, session_id=session.id, role=Role.USER), todo


async def _revoke(uow: AllRepositories, session_id: Any) -> None:
    async with uow:
        session = await uow.sessions.get(session_id)
        assert session is not None
        session.revoke(now=T0, reason="test")
        await uow.sessions.revoke(session)
        await uow.commit()


async def _run(store: Store) -> list[str]:
    """The statements run since the last call (PostgreSQL; asyncpg logs with call_soon)."""
    for _ in range(3):
        await asyncio.sleep(0)
    assert store.statements is not None
    run, store.statements[:] = list(store.statements), []
    return run


async def test_a_live_session_reads_as_before(store: Store) -> None:
    actor, todo = await _arranged(store)
    identity, todos = store.request()
    if store.statements is not None:
        await _run(store)

    await identity.require_live_session(actor, NOW)
    async with todos:
        loaded = await todos.todos.get(todo.id)
        missing = await todos.todos.get(TodoId(uuid4()))

    assert loaded is not None and (loaded.id, loaded.title, loaded.version) == (todo.id, todo.title, 1)
    assert missing is None


@pytest.mark.parametrize(
    "what",
    ["revoked", "deactivated", "another role", "another user", "expired"],
)
async def test_a_dead_session_gets_nothing_from_the_first_read(store: Store, what: str) -> None:
    actor, todo = await _arranged(store, revoked=what == "revoked", active=what != "deactivated")
    if what == "another role":
        actor = Actor(user_id=actor.user_id, session_id=actor.session_id, role=Role.ADMIN)
    if what == "another user":
        other, _ = await _arranged(store)
        actor = Actor(user_id=other.user_id, session_id=actor.session_id, role=Role.USER)
    now = NOW + timedelta(days=400) if what == "expired" else NOW
    identity, todos = store.request()

    with pytest.raises(UnauthenticatedError):
        await identity.require_live_session(actor, now)
        async with todos:
            await todos.todos.get(todo.id)


async def test_a_dead_session_gets_nothing_from_a_read_that_finds_nothing(store: Store) -> None:
    actor, _ = await _arranged(store, revoked=True)
    identity, todos = store.request()

    with pytest.raises(UnauthenticatedError):
        await identity.require_live_session(actor, NOW)
        async with todos:
            await todos.todos.get(TodoId(uuid4()))


async def test_a_dead_session_writes_nothing(store: Store) -> None:
    actor, _ = await _arranged(store, revoked=True)
    identity, todos = store.request()
    todo = Todo.create(
        todo_id=TodoId(uuid4()), owner_id=actor.user_id, title=Title.parse("x"), description="", due_at=None, now=NOW
    )

    with pytest.raises(UnauthenticatedError):
        await identity.require_live_session(actor, NOW)
        async with todos:
            await todos.todos.add(todo)
            await todos.commit()

    async with store.setup() as uow:
        assert await uow.todos.get(todo.id) is None


async def test_a_block_that_runs_no_statement_still_checks_when_it_ends(store: Store) -> None:
    live, _ = await _arranged(store)
    dead, _ = await _arranged(store, revoked=True)

    identity, todos = store.request()
    await identity.require_live_session(live, NOW)
    async with todos:
        pass

    identity, todos = store.request()
    with pytest.raises(UnauthenticatedError):
        await identity.require_live_session(dead, NOW)
        async with todos:
            pass


async def test_on_postgres_the_check_rides_on_the_first_read_once(postgres: Store) -> None:
    store = postgres
    actor, todo = await _arranged(store)
    identity, todos = store.request()
    await _run(store)

    await identity.require_live_session(actor, NOW)
    async with todos:
        await todos.todos.get(todo.id)
    first = await _run(store)
    async with todos:
        await todos.todos.get(todo.id)
    second = await _run(store)
    async with todos:
        await todos.todos.get(TodoId(uuid4()))
    third = await _run(store)

    assert len(first) == 1 and "EXISTS" in first[0] and "FROM todos" in first[0]
    assert len(second) == 1 and "EXISTS" not in second[0]
    assert len(third) == 1


async def test_on_postgres_a_listing_page_brings_its_count_and_the_check_in_one_statement(postgres: Store) -> None:
    store = postgres
    actor, _ = await _arranged(store)
    second = Todo.create(
        todo_id=TodoId(uuid4()), owner_id=actor.user_id, title=Title.parse("u"), description="", due_at=None, now=T0
    )
    async with store.setup() as uow:
        await uow.todos.add(second)
        await uow.commit()
    identity, todos = store.request()
    await _run(store)

    await identity.require_live_session(actor, NOW)
    async with todos:
        full = await todos.todos.list(actor.user_id, TodoQuery(page=PageRequest(page=1, size=1)))
    one = await _run(store)
    async with todos:
        past = await todos.todos.list(actor.user_id, TodoQuery(page=PageRequest(page=3, size=1)))
    alone = await _run(store)

    assert (len(full.items), full.total) == (1, 2)
    assert len(one) == 1 and "EXISTS" in one[0] and "count(*)" in one[0]
    assert (past.items, past.total) == ([], 2)
    assert len(alone) == 2  # a page past the last brings no row, so no count: asked on its own


async def test_on_postgres_a_read_that_finds_nothing_asks_for_the_session_on_its_own(postgres: Store) -> None:
    store = postgres
    actor, _ = await _arranged(store)
    identity, todos = store.request()
    await _run(store)

    await identity.require_live_session(actor, NOW)
    async with todos:
        assert await todos.todos.get(TodoId(uuid4())) is None

    statements = await _run(store)
    assert len(statements) == 2 and "FROM todos" in statements[0] and "FROM sessions" in statements[1]


def test_a_read_sharing_a_parameter_name_with_the_check_is_not_folded() -> None:
    own = Query(select(todos.c.id).where(todos.c.id == bindparam("id")))
    clashing = Query(select(todos.c.id).where(todos.c.owner_id == bindparam("principal_user_id")))

    assert own.preceded_by(_LIVE_SESSION) is not None
    assert clashing.preceded_by(_LIVE_SESSION) is None
