"""``SqlTodoRepository``: compare-and-set writes and a one-round-trip page query."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, select, update

from adapters.shared.unit_of_work import ContextUnitOfWork, repository
from adapters.sql.session import SqlSession
from adapters.sql.statements import Query
from adapters.sql.tables import todos
from application.todos.ports import TodoQuery, TodoRepository, TodoSort, TodoUnitOfWork
from domain.shared.errors import VersionMismatchError
from domain.shared.ids import UserId
from domain.shared.pagination import Page
from domain.todos.todo import Title, Todo, TodoId

__all__ = ["SqlTodoRepository", "SqlTodoUnitOfWork"]

# Titles sort by code point everywhere (SQLite's default; the "C" collation on PostgreSQL),
# so the order does not depend on the server's locale.
_TITLE_ORDER_POSTGRES = {
    TodoSort.TITLE: (todos.c.title.collate("C").asc(), todos.c.id.asc()),
    TodoSort.TITLE_DESC: (todos.c.title.collate("C").desc(), todos.c.id.desc()),
}
_ORDER = {
    TodoSort.CREATED: (todos.c.created_at.asc(), todos.c.id.asc()),
    TodoSort.CREATED_DESC: (todos.c.created_at.desc(), todos.c.id.desc()),
    TodoSort.UPDATED: (todos.c.updated_at.asc(), todos.c.id.asc()),
    TodoSort.UPDATED_DESC: (todos.c.updated_at.desc(), todos.c.id.desc()),
    TodoSort.DUE: (todos.c.due_at.asc().nulls_last(), todos.c.id.asc()),
    TodoSort.DUE_DESC: (todos.c.due_at.desc().nulls_last(), todos.c.id.desc()),
    TodoSort.TITLE: (todos.c.title.asc(), todos.c.id.asc()),
    TodoSort.TITLE_DESC: (todos.c.title.desc(), todos.c.id.desc()),
}


_BY_ID = Query(select(todos).where(todos.c.id == bindparam("id")))
_INSERT = Query(insert(todos).values({c.name: bindparam(c.name) for c in todos.c}))
_CHANGEABLE = ("title", "description", "completed", "due_at", "version", "updated_at")
# Compare-and-set: the row changes only if it is still at the version the edit started from.
_UPDATE = Query(
    update(todos)
    .where(todos.c.id == bindparam("key_id"), todos.c.version == bindparam("key_version"))
    .values({name: bindparam(f"new_{name}") for name in _CHANGEABLE})
)
_DELETE = Query(delete(todos).where(todos.c.id == bindparam("key_id"), todos.c.version == bindparam("key_version")))


_LISTINGS: dict[tuple[str, TodoSort, bool], tuple[Query, Query]] = {}


def _row(todo: Todo) -> dict[str, Any]:
    return {
        "id": todo.id,
        "owner_id": todo.owner_id,
        "title": todo.title.value,
        "description": todo.description,
        "completed": todo.completed,
        "due_at": todo.due_at,
        "version": todo.version,
        "created_at": todo.created_at,
        "updated_at": todo.updated_at,
    }


def _todo(row: Any) -> Todo:
    return Todo(
        id=TodoId(row["id"]),
        owner_id=UserId(row["owner_id"]),
        title=Title(row["title"]),
        description=row["description"],
        completed=row["completed"],
        due_at=row["due_at"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class SqlTodoRepository(TodoRepository):
    def __init__(self, session: SqlSession) -> None:
        self._db = session

    async def add(self, todo: Todo) -> None:
        await self._db.write_later(_INSERT, _row(todo))  # a new id: nothing to learn from the result

    async def get(self, todo_id: TodoId) -> Todo | None:
        row = (await self._db.read(_BY_ID, {"id": todo_id})).first()
        return None if row is None else _todo(row)

    async def save(self, todo: Todo) -> None:
        """Compare-and-set; on PostgreSQL the conflict may come from the commit (see
        ``SqlSession.compare_and_set``)."""
        row = _row(todo)
        changes = {f"new_{name}": row[name] for name in _CHANGEABLE}
        changes.update(key_id=todo.id, key_version=todo.version - 1)
        await self._db.compare_and_set(_UPDATE, changes, conflict=lambda: self._conflict(todo.id, todo.version - 1))

    async def delete(self, todo: Todo) -> None:
        """Compare-and-set, as ``save``."""
        changes = {"key_id": todo.id, "key_version": todo.version}
        await self._db.compare_and_set(_DELETE, changes, conflict=lambda: self._conflict(todo.id, todo.version))

    async def list(self, owner_id: UserId, query: TodoQuery) -> Page[Todo]:
        page_query, count_query = self._listing(query.sort, query.completed is not None)
        filters = {"owner_id": owner_id, "completed": query.completed}
        page = {**filters, "limit": query.page.size, "offset": query.page.offset}
        rows = (await self._db.read(page_query, page)).rows
        if rows:
            total = rows[0]["total"]  # counted by the page's own statement
        elif query.page.offset == 0:
            total = 0
        else:  # past the last page: no row brought the count
            total = (await self._db.read(count_query, filters)).rows[0]["total"]
        return Page(items=[_todo(row) for row in rows], request=query.page, total=total)

    def _listing(self, sort: TodoSort, by_completed: bool) -> tuple[Query, Query]:
        """The page and count queries for a sort and filter, built once per process.

        The page carries the count as a column (an uncorrelated scalar subquery, which
        PostgreSQL and SQLite run once): one round trip. Two index scans (the page's, the
        count's) cost the database far less than count(*) OVER (), which must read every
        matching row before the LIMIT. The count alone serves a page past the last.
        """
        key = (self._db.dialect, sort, by_completed)
        if key not in _LISTINGS:
            condition = todos.c.owner_id == bindparam("owner_id")
            if by_completed:
                condition = and_(condition, todos.c.completed == bindparam("completed"))
            count = select(func.count().label("total")).select_from(todos).where(condition)
            page = (
                select(todos, count.scalar_subquery().label("total"))
                .where(condition)
                .order_by(*self._order(sort))
                .limit(bindparam("limit"))
                .offset(bindparam("offset"))
            )
            _LISTINGS[key] = (Query(page), Query(count))
        return _LISTINGS[key]

    def _order(self, sort: TodoSort) -> tuple[Any, ...]:
        if self._db.dialect == "postgresql" and sort in _TITLE_ORDER_POSTGRES:
            return _TITLE_ORDER_POSTGRES[sort]
        return _ORDER[sort]

    async def _conflict(self, todo_id: TodoId, expected: int) -> VersionMismatchError:
        row = (await self._db.read(select(todos.c.version).where(todos.c.id == todo_id))).first()
        return VersionMismatchError(expected=expected, actual=None if row is None else int(row["version"]))


class SqlTodoUnitOfWork(ContextUnitOfWork[SqlSession], TodoUnitOfWork):
    todos = repository(SqlTodoRepository)
