"""``SqlSession.compare_and_set``: on PostgreSQL an edit of a todo is its read and one more
statement, the compare-and-set and its outbox row together. A conflict then shows at the
commit: nothing of the attempt is written, a writer that named a version gets
``VersionMismatchError`` with the stored version, and one that named none runs its whole
attempt again. A statement between the compare-and-set and the commit sends it first, in a
transaction, and the conflict shows there."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta
from types import TracebackType
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import Text, TypeDecorator, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.shared.event_codec import encode
from adapters.sql.outbox import _INSERT as _OUTBOX_INSERT
from adapters.sql.statements import _ASYNCPG, Query, chained_after
from adapters.sql.tables import outbox, todos
from adapters.sql.todos import _DELETE, _UPDATE, SqlTodoRepository, SqlTodoUnitOfWork
from adapters.sql.unit_of_work import SqlUnitOfWork
from adapters.system.clock import FixedClock
from application.shared.actor import Actor
from application.shared.events import Envelope
from application.todos.delete_todo import DeleteTodo, DeleteTodoCommand
from application.todos.policy import TodoPolicy
from application.todos.ports import TodoRepository
from application.todos.toggle_todo import ToggleTodo, ToggleTodoCommand
from application.todos.update_todo import UpdateTodo, UpdateTodoCommand
from domain.identity.ids import SessionId
from domain.identity.user import Role
from domain.shared.errors import VersionMismatchError
from domain.todos.todo import Title, Todo, TodoId
from tests.integration.test_identity_repositories import a_user
from tests.integration.test_sql_session_held_writes import _sent, a_todo
from tests.support.builders import T0
from tests.support.statements import log_statements
from tests.support.units import sql_unit

LATER = T0 + timedelta(minutes=5)


async def _arranged(engine: AsyncEngine) -> tuple[Actor, Todo]:
    """A user and one todo of theirs, at version 1."""
    user = a_user(f"{uuid4().hex[:8]}@example.com")
    todo = a_todo(user.id, "before")
    async with sql_unit(engine) as uow:
        await uow.users.add(user)
        await uow.todos.add(todo)
        await uow.commit()
    return Actor(user_id=user.id, session_id=SessionId(uuid4()), role=Role.USER), todo


async def _stored(engine: AsyncEngine, todo_id: TodoId) -> tuple[str, bool, int] | None:
    async with sql_unit(engine) as uow:
        todo = await uow.todos.get(todo_id)
    return None if todo is None else (todo.title.value, todo.completed, todo.version)


async def _events(engine: AsyncEngine, todo_id: TodoId) -> list[str]:
    """The changes the outbox holds for the todo, in order."""
    async with engine.connect() as connection:
        query = select(outbox.c.payload).where(outbox.c.aggregate_id == str(todo_id)).order_by(outbox.c.id)
        return [json.loads(payload)["change"] for payload in (await connection.execute(query)).scalars()]


def _unit(engine: AsyncEngine) -> SqlTodoUnitOfWork:
    return SqlTodoUnitOfWork(SqlUnitOfWork(engine, hold_connection=True))  # as a request has it


async def _rename_elsewhere(engine: AsyncEngine, todo_id: TodoId, title: str) -> None:
    """Another writer, on another connection, edits the todo and commits."""
    async with sql_unit(engine) as uow:
        todo = await uow.todos.get(todo_id)
        assert todo is not None
        todo.edit(expected=todo.version, now=LATER, title=Title.parse(title))
        await uow.todos.save(todo)
        await uow.commit()


async def _edit_and_save(todos: TodoRepository, todo_id: TodoId, title: str) -> Todo:
    """Read the todo, retitle it and save it (held for the commit, on PostgreSQL)."""
    todo = await todos.get(todo_id)
    assert todo is not None
    todo.edit(expected=todo.version, now=LATER, title=Title.parse(title))
    await todos.save(todo)
    return todo


class _RacedTodos:
    """The unit of work's todo repository, with ``race`` run once right after the first read."""

    def __init__(self, todos: TodoRepository, race: Callable[[], Awaitable[None]]) -> None:
        self._todos = todos
        self._race: Callable[[], Awaitable[None]] | None = race

    async def get(self, todo_id: TodoId) -> Todo | None:
        todo = await self._todos.get(todo_id)
        if (race := self._race) is not None:
            self._race = None
            await race()
        return todo

    def __getattr__(self, name: str) -> Any:
        return getattr(self._todos, name)


class _Raced:
    """A ``TodoUnitOfWork`` whose first read of a todo is followed by another writer's commit."""

    def __init__(self, uow: SqlTodoUnitOfWork, race: Callable[[], Awaitable[None]]) -> None:
        self._uow = uow
        self.todos: Any = None
        self._race = race

    async def __aenter__(self) -> _Raced:
        await self._uow.__aenter__()
        self.todos = _RacedTodos(self._uow.todos, self._race)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._uow.__aexit__(exc_type, exc, tb)

    async def commit(self) -> None:
        await self._uow.commit()


async def test_an_edit_is_its_read_and_one_statement(pg_engine: AsyncEngine) -> None:
    actor, todo = await _arranged(pg_engine)
    statements = log_statements(pg_engine)
    edit = UpdateTodo(_unit(pg_engine), FixedClock(LATER), TodoPolicy())

    edited = await edit(UpdateTodoCommand(actor=actor, todo_id=todo.id, expected_version=1, title="after"))

    assert await _sent(statements) == ["SELECT", "WITH"]  # no BEGIN, no COMMIT
    assert edited.version == 2
    assert await _stored(pg_engine, todo.id) == ("after", False, 2)
    assert await _events(pg_engine, todo.id) == ["created", "updated"]


async def test_a_stale_version_found_at_the_commit_writes_nothing_and_tells_the_stored_one(
    pg_engine: AsyncEngine,
) -> None:
    actor, todo = await _arranged(pg_engine)
    uow = _Raced(_unit(pg_engine), lambda: _rename_elsewhere(pg_engine, todo.id, "theirs"))
    edit = UpdateTodo(uow, FixedClock(LATER), TodoPolicy())  # type: ignore[arg-type]

    with pytest.raises(VersionMismatchError) as raised:
        await edit(UpdateTodoCommand(actor=actor, todo_id=todo.id, expected_version=1, title="mine"))

    assert (raised.value.expected, raised.value.actual) == (1, 2)
    assert await _stored(pg_engine, todo.id) == ("theirs", False, 2)
    assert await _events(pg_engine, todo.id) == ["created", "updated"]  # theirs alone


async def test_a_writer_that_named_no_version_runs_again_and_applies_once(pg_engine: AsyncEngine) -> None:
    actor, todo = await _arranged(pg_engine)
    uow = _Raced(_unit(pg_engine), lambda: _rename_elsewhere(pg_engine, todo.id, "theirs"))
    statements = log_statements(pg_engine)
    toggle = ToggleTodo(uow, FixedClock(LATER), TodoPolicy())  # type: ignore[arg-type]

    toggled = await toggle(ToggleTodoCommand(actor=actor, todo_id=todo.id))

    assert toggled.version == 3 and toggled.completed
    assert await _stored(pg_engine, todo.id) == ("theirs", True, 3)
    assert await _events(pg_engine, todo.id) == ["created", "updated", "updated"]
    # Two attempts, each a read and one statement, and the conflict's read of the version;
    # the race's read and statement in between.
    assert Counter(await _sent(statements)) == {"SELECT": 4, "WITH": 3}


async def test_a_delete_is_its_read_and_one_statement_and_retries_a_lost_race(pg_engine: AsyncEngine) -> None:
    actor, todo = await _arranged(pg_engine)
    statements = log_statements(pg_engine)
    await DeleteTodo(_unit(pg_engine), FixedClock(LATER), TodoPolicy())(DeleteTodoCommand(actor=actor, todo_id=todo.id))
    assert await _sent(statements) == ["SELECT", "WITH"]
    assert await _stored(pg_engine, todo.id) is None
    assert await _events(pg_engine, todo.id) == ["created", "deleted"]

    actor, todo = await _arranged(pg_engine)
    uow = _Raced(_unit(pg_engine), lambda: _rename_elsewhere(pg_engine, todo.id, "theirs"))
    await DeleteTodo(uow, FixedClock(LATER), TodoPolicy())(DeleteTodoCommand(actor=actor, todo_id=todo.id))  # type: ignore[arg-type]
    assert await _stored(pg_engine, todo.id) is None
    assert await _events(pg_engine, todo.id) == ["created", "updated", "deleted"]

    actor, todo = await _arranged(pg_engine)
    uow = _Raced(_unit(pg_engine), lambda: _rename_elsewhere(pg_engine, todo.id, "theirs"))
    with pytest.raises(VersionMismatchError):
        await DeleteTodo(uow, FixedClock(LATER), TodoPolicy())(  # type: ignore[arg-type]
            DeleteTodoCommand(actor=actor, todo_id=todo.id, expected_version=1)
        )
    assert await _stored(pg_engine, todo.id) == ("theirs", False, 2)


async def test_a_statement_after_the_compare_and_set_sends_it_first_in_a_transaction(pg_engine: AsyncEngine) -> None:
    _, todo = await _arranged(pg_engine)
    statements = log_statements(pg_engine)

    async with sql_unit(pg_engine) as uow:
        await _edit_and_save(uow.todos, todo.id, "mine")
        assert await uow.todos.get(todo.id) is not None
        await uow.commit()
    assert await _sent(statements) == ["SELECT", "BEGIN", "UPDATE", "SELECT", "INSERT", "COMMIT"]
    assert await _stored(pg_engine, todo.id) == ("mine", False, 2)

    async with sql_unit(pg_engine) as uow:
        stale = await uow.todos.get(todo.id)
        assert stale is not None
        await _rename_elsewhere(pg_engine, todo.id, "theirs")
        stale.edit(expected=2, now=LATER, title=Title.parse("stale"))
        await uow.todos.save(stale)
        with pytest.raises(VersionMismatchError) as raised:
            await uow.todos.get(todo.id)  # sends the held compare-and-set, which finds version 3
        assert raised.value.actual == 3
        await uow.commit()  # the failed attempt's event went with it
    assert await _stored(pg_engine, todo.id) == ("theirs", False, 3)
    assert await _events(pg_engine, todo.id) == ["created", "updated", "updated"]


async def test_leaving_without_a_commit_sends_nothing(pg_engine: AsyncEngine) -> None:
    _, todo = await _arranged(pg_engine)
    statements = log_statements(pg_engine)

    async with sql_unit(pg_engine) as uow:
        await _edit_and_save(uow.todos, todo.id, "mine")

    assert await _sent(statements) == ["SELECT"]
    assert await _stored(pg_engine, todo.id) == ("before", False, 1)


async def test_a_chain_that_fails_writes_none_of_it_and_the_error_is_the_drivers(pg_engine: AsyncEngine) -> None:
    _, todo = await _arranged(pg_engine)
    async with pg_engine.connect() as connection:
        taken: UUID = (await connection.execute(select(outbox.c.event_id).limit(1))).scalar_one()

    with pytest.raises(Exception) as raised:  # noqa: PT011 - the driver's unique violation, however wrapped
        async with sql_unit(pg_engine) as uow:
            await _edit_and_save(uow.todos, todo.id, "mine")
            duplicate = Envelope(
                event_id=taken,
                name="todo.changed",
                occurred_at=LATER,
                aggregate_type="todo",
                aggregate_id="x",
                actor_id=None,
                request_id=None,
            )
            await uow.session.write_later(_OUTBOX_INSERT, encode(duplicate))
            await uow.commit()

    assert "unique" in str(raised.value).lower() and not isinstance(raised.value, RuntimeError)
    assert await _stored(pg_engine, todo.id) == ("before", False, 1)


def test_only_an_update_a_delete_or_a_check_heads_and_only_plain_inserts_follow() -> None:
    plain = Query(insert(outbox).values({name: bindparam(name) for name in ("name", "payload")}))
    renamed = Query(insert(outbox).values({"name": bindparam("event_name")}))
    returning = Query(insert(outbox).values({"name": bindparam("name")}).returning(outbox.c.id))
    upsert = Query(pg_insert(outbox).values({"name": bindparam("name")}).on_conflict_do_nothing())
    computed = Query(insert(outbox).values({"name": func.lower(bindparam("name"))}))
    same_table = Query(insert(todos).values({"id": bindparam("id"), "title": bindparam("title")}))
    a_check = Query(select(todos.c.id).where(todos.c.id == bindparam("id")))
    locking = Query(select(todos.c.id).where(todos.c.id == bindparam("id")).with_for_update())
    returns_rows = Query(update(todos).values(title=bindparam("title")).returning(todos.c.id))

    assert chained_after(_UPDATE, (_OUTBOX_INSERT,), _ASYNCPG) is not None
    assert chained_after(_DELETE, (plain,), _ASYNCPG) is not None
    assert chained_after(_UPDATE, (), _ASYNCPG) is not None
    assert chained_after(a_check, (_OUTBOX_INSERT, same_table), _ASYNCPG) is not None  # it writes no table
    for follower in (renamed, returning, upsert, computed, same_table):
        assert chained_after(_UPDATE, (follower,), _ASYNCPG) is None, follower.statement
    for head in (locking, returns_rows, plain):
        assert chained_after(head, (_OUTBOX_INSERT,), _ASYNCPG) is None, head.statement


class _Json(TypeDecorator[Any]):
    """Text that a bind processor fills from a dict, rendered with the same cast as text."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return None if value is None else json.dumps(value)


def test_a_follower_keeps_its_parameters_types_or_is_refused() -> None:
    own_type = Query(insert(outbox).values({"name": bindparam("name"), "payload": bindparam("payload", type_=_Json)}))
    conditional = own_type.inserted_after_head()
    assert conditional is not None
    parameters = {"name": "n", "payload": {"a": 1}}
    sent = conditional._compiled(_ASYNCPG).arguments(parameters)
    assert sent == own_type._compiled(_ASYNCPG).arguments(parameters) == ["n", '{"a": 1}']

    defaulted = Query(insert(outbox).values({"name": bindparam("name", value="default")}))
    assert defaulted.inserted_after_head() is None


async def test_a_compare_and_set_that_cannot_head_a_chain_goes_in_a_transaction(pg_engine: AsyncEngine) -> None:
    _, todo = await _arranged(pg_engine)
    statements = log_statements(pg_engine)
    new = a_todo(todo.owner_id, "new")

    async with sql_unit(pg_engine) as uow:
        todos_alone = SqlTodoRepository(uow.session)  # no events: the insert is the one write held after
        mine = await todos_alone.get(todo.id)
        assert mine is not None
        mine.edit(expected=1, now=LATER, title=Title.parse("mine"))
        await todos_alone.save(mine)
        await todos_alone.add(new)  # the head's own table: no chain may carry both
        await uow.commit()

    assert await _sent(statements) == ["SELECT", "BEGIN", "UPDATE", "INSERT", "COMMIT"]
    assert await _stored(pg_engine, todo.id) == ("mine", False, 2)
    assert await _stored(pg_engine, new.id) == ("new", False, 1)


async def test_on_sqlite_the_conflict_comes_from_the_save(sqlite_engine: AsyncEngine) -> None:
    _, todo = await _arranged(sqlite_engine)
    async with sql_unit(sqlite_engine) as uow:
        mine, stale = await uow.todos.get(todo.id), await uow.todos.get(todo.id)
        assert mine is not None and stale is not None
        mine.edit(expected=1, now=LATER, title=Title.parse("mine"))
        stale.edit(expected=1, now=LATER, title=Title.parse("stale"))
        await uow.todos.save(mine)
        with pytest.raises(VersionMismatchError) as raised:
            await uow.todos.save(stale)
        assert raised.value.actual == 2
        await uow.commit()
    assert await _stored(sqlite_engine, todo.id) == ("mine", False, 2)


async def test_two_racing_unversioned_toggles_both_apply(pg_engine: AsyncEngine) -> None:
    actor, todo = await _arranged(pg_engine)

    async def toggle() -> Todo:
        return await ToggleTodo(_unit(pg_engine), FixedClock(LATER), TodoPolicy())(
            ToggleTodoCommand(actor=actor, todo_id=todo.id)
        )

    results = await asyncio.gather(*(toggle() for _ in range(6)))

    assert sorted(result.version for result in results) == list(range(2, 8))
    assert await _stored(pg_engine, todo.id) == ("before", False, 7)
    assert await _events(pg_engine, todo.id) == ["created"] + ["updated"] * 6


async def test_a_compare_and_set_that_touches_two_rows_is_a_bug_not_a_race(pg_engine: AsyncEngine) -> None:
    actor, _ = await _arranged(pg_engine)
    async with sql_unit(pg_engine) as uow:
        await uow.todos.add(a_todo(actor.user_id, "second"))
        await uow.commit()
    by_owner = Query(update(todos).where(todos.c.owner_id == bindparam("owner")).values(title=bindparam("title")))

    async def conflict() -> Exception:
        return VersionMismatchError(expected=1, actual=None)

    with pytest.raises(RuntimeError, match="touched 2 rows"):
        async with sql_unit(pg_engine) as uow:
            await uow.session.compare_and_set(by_owner, {"owner": actor.user_id, "title": "both"}, conflict=conflict)
            await uow.commit()
