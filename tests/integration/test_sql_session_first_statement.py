"""A block that only inserts carries the caller's session check in its inserts: on PostgreSQL
one statement, which inserts only if the check holds. That statement is the block's first
and cannot be repeated, so a pooled connection the server has closed is replaced before it
is sent, even when the event loop has not read the close yet."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator
from datetime import datetime
from uuid import uuid4

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.connections import socket_ending
from adapters.sql.identity import SqlIdentityUnitOfWork
from adapters.sql.todos import SqlTodoUnitOfWork
from adapters.sql.unit_of_work import SqlUnitOfWork
from application.errors import UnauthenticatedError
from application.shared.actor import Actor
from domain.todos.todo import Title, Todo, TodoId
from tests.integration.test_session_check_deferred import NOW, Store, _arranged, _run, _sql_store, any_store
from tests.support.services import PG_ADMIN_DSN


@pytest.fixture
async def postgres(pg_engine: AsyncEngine) -> AsyncIterator[Store]:
    store = _sql_store("postgres", pg_engine)
    yield store
    await store.release()


__all__ = ["any_store"]  # a fixture, shared with the deferred-check tests


def _new_todo(actor: Actor, title: str = "held") -> Todo:
    return Todo.create(
        todo_id=TodoId(uuid4()), owner_id=actor.user_id, title=Title.parse(title), description="", due_at=None, now=NOW
    )


async def test_inserts_alone_carry_the_check_and_insert_only_if_it_holds(any_store: Store) -> None:
    store = any_store
    live, _ = await _arranged(store)
    dead, _ = await _arranged(store, revoked=True)
    if store.statements is not None:
        await _run(store)

    identity, todos = store.request()
    await identity.require_live_session(live, NOW)
    kept = _new_todo(live)
    async with todos:
        await todos.todos.add(kept)
        await todos.commit()
    if store.statements is not None:  # the todo, its outbox row and the check: one statement
        statements = await _run(store)
        assert len(statements) == 1, statements
        assert statements[0].count("INSERT INTO") == 2 and "FROM sessions" in statements[0]

    refused = _new_todo(dead)
    with pytest.raises(UnauthenticatedError):  # in memory at once; on SQL with the first statement
        identity, todos = store.request()
        await identity.require_live_session(dead, NOW)
        async with todos:
            await todos.todos.add(refused)
            await todos.commit()
    if store.statements is not None:
        assert len(await _run(store)) == 1  # asked once, within the inserts, which inserted nothing
    await store.release()

    async with store.setup() as uow:
        assert await uow.todos.get(kept.id) is not None
        assert await uow.todos.get(refused.id) is None


async def test_a_refused_check_stays_refused_without_asking_again(postgres: Store) -> None:
    dead, _ = await _arranged(postgres, revoked=True)
    transaction = SqlUnitOfWork(_engine(postgres), hold_connection=True)
    identity, todos = SqlIdentityUnitOfWork(transaction), SqlTodoUnitOfWork(transaction)
    await identity.require_live_session(dead, NOW)
    await _run(postgres)
    for _ in range(2):
        with pytest.raises(UnauthenticatedError):
            async with todos:
                await todos.todos.add(_new_todo(dead))
                await todos.commit()
    assert len(await _run(postgres)) == 1
    await transaction.release()


async def test_a_failing_chain_ends_with_its_own_error_and_the_check_stays_owed(postgres: Store) -> None:
    live, todo = await _arranged(postgres)
    identity, todos = postgres.request()
    await identity.require_live_session(live, NOW)
    clash = _new_todo(live)
    clash.id = todo.id  # an id already taken: the insert violates the primary key
    with pytest.raises(Exception) as raised:  # noqa: PT011 - the driver's error, however wrapped
        async with todos:
            await todos.todos.add(clash)
            await todos.commit()
    assert "duplicate key" in str(raised.value) and not isinstance(raised.value, RuntimeError)

    async with todos:  # the next block of the request asks again, and it holds
        assert await todos.todos.get(todo.id) is not None


def _engine(store: Store) -> AsyncEngine:
    transaction, _, _ = store.views()
    engine: AsyncEngine = transaction._engine
    return engine


def _terminate_while_the_loop_is_blocked(pid: int) -> None:
    """End the backend from another thread while this one (and its event loop) waits, then
    give the server's error and close time to reach this process's socket unread."""

    async def terminate() -> None:
        admin = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
        finally:
            await admin.close()

    thread = threading.Thread(target=lambda: asyncio.run(terminate()))
    thread.start()
    thread.join()
    time.sleep(0.3)


async def test_a_connection_the_server_ended_is_replaced_before_the_first_statement(postgres: Store) -> None:
    live, _ = await _arranged(postgres)
    transaction = SqlUnitOfWork(_engine(postgres), hold_connection=True)
    identity, todos = SqlIdentityUnitOfWork(transaction), SqlTodoUnitOfWork(transaction)
    await identity.require_live_session(live, NOW)
    kept = _new_todo(live)

    async with todos:
        driver = (await transaction.session.connection.get_raw_connection()).driver_connection
        assert driver is not None
        assert not socket_ending(driver)  # a live idle connection: nothing to read
        await todos.todos.add(kept)
        _terminate_while_the_loop_is_blocked(driver.get_server_pid())
        assert not driver.is_closed()  # asyncpg has not read it: only the socket knows
        assert socket_ending(driver)
        await todos.commit()  # on a fresh connection
    await transaction.release()

    async with postgres.setup() as uow:
        assert await uow.todos.get(kept.id) is not None


async def test_a_check_that_cannot_ride_on_the_inserts_still_runs_again_on_a_fresh_connection(
    postgres: Store,
) -> None:
    live, _ = await _arranged(postgres)
    transaction = SqlUnitOfWork(_engine(postgres), hold_connection=True)
    identity, todos = SqlIdentityUnitOfWork(transaction), SqlTodoUnitOfWork(transaction)
    await identity.require_live_session(live, NOW)
    first, second = _new_todo(live, "first"), _new_todo(live, "second")

    async with todos:
        driver = (await transaction.session.connection.get_raw_connection()).driver_connection
        assert driver is not None
        await todos.todos.add(first)
        await todos.todos.add(second)  # two rows of one table: no chain, the check goes first alone
        _terminate_while_the_loop_is_blocked(driver.get_server_pid())
        await todos.commit()  # the check, a read, finds the connection dead and runs again
    await transaction.release()

    async with postgres.setup() as uow:
        assert await uow.todos.get(first.id) is not None and await uow.todos.get(second.id) is not None


async def test_a_block_that_swallows_a_failed_chain_does_not_end_quietly_without_the_check(
    postgres: Store,
) -> None:
    dead, _ = await _arranged(postgres, revoked=True)
    transaction = SqlUnitOfWork(_engine(postgres), hold_connection=True)
    identity, todos = SqlIdentityUnitOfWork(transaction), SqlTodoUnitOfWork(transaction)
    await identity.require_live_session(dead, NOW)
    clash = _new_todo(dead)
    clash.due_at = datetime(2026, 12, 1)  # naive: its bind processor fails, so the chain does

    with pytest.raises(RuntimeError):  # not a quiet exit that returned as if the check had held
        async with todos:
            await todos.todos.add(clash)
            with contextlib.suppress(Exception):
                await todos.commit()  # the caller swallows the chain's error
    await transaction.release()


async def test_the_probe_never_waits_even_under_a_default_socket_timeout(pg_engine: AsyncEngine) -> None:
    async with pg_engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        previous = socket.getdefaulttimeout()
        socket.setdefaulttimeout(0.5)  # a probe that honoured it would wait, then call the connection ending
        try:
            assert not socket_ending(driver)
        finally:
            socket.setdefaulttimeout(previous)
