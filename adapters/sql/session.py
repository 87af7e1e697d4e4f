"""``SqlSession``: the connection of one unit of work, with the transaction opened only for writes."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar, cast

import asyncpg  # type: ignore[import-untyped]  # no stubs; only its exception classes are used
import msgspec
from sqlalchemy import CursorResult, Executable
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Select
from sqlalchemy.sql.dml import UpdateBase

from application.errors import DependencyUnavailableError

__all__ = ["Query", "SqlSession", "connection_lost", "database_unavailable", "discard"]

_T = TypeVar("_T")

_ASYNCPG = asyncpg_dialect()  # type: ignore[no-untyped-call]
_JSON = msgspec.json.Encoder()

# Driver errors after which the connection is gone: class 08, the server shutting down or
# starting up, or the socket itself (reset, refused, broken pipe).
_LOST = (
    sa_exc.DisconnectionError,
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,
    ConnectionError,
)
# Errors that say the database is out of reach for now without proving the connection dead:
# timeouts (connect, command, pool checkout) and the server's connection limit.
_BUSY = (OSError, sa_exc.TimeoutError, asyncpg.TooManyConnectionsError)
# SQLite gives up with these once its busy timeout has passed; the other OperationalErrors
# (syntax, missing table) are bugs.
_SQLITE_BUSY = ("database is locked", "database table is locked", "unable to open database file")


class Query:
    """A statement built once with named ``bindparam``s, compiled once for asyncpg.

    On PostgreSQL ``SqlSession.fetch`` and ``SqlSession.run`` send the compiled text
    straight to the driver, which keeps its own prepared statements: the hot statements of
    every request skip SQLAlchemy's per-execution work (README, Performance). Elsewhere the
    statement runs through SQLAlchemy as usual. Parameters named
    in ``json`` are JSON-encoded for the driver (SQLAlchemy's JSON type does it otherwise).
    """

    def __init__(self, statement: Select[Any] | UpdateBase, *, json: Sequence[str] = ()) -> None:
        self.statement = statement
        compiled = statement.compile(dialect=_ASYNCPG)
        self.postgres_sql = str(compiled)
        self.parameter_names: Sequence[str] = tuple(compiled.positiontup or ())
        self.json = frozenset(json)

    def driver_arguments(self, parameters: Mapping[str, Any]) -> list[Any]:
        return [
            _JSON.encode(parameters[name]).decode() if name in self.json else parameters[name]
            for name in self.parameter_names
        ]


def _causes(error: BaseException) -> Iterator[BaseException]:
    """``error`` and the errors it was raised from: SQLAlchemy and its asyncpg adapter wrap
    the driver's exception, which names the actual failure."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        wrapped = current.orig if isinstance(current, sa_exc.DBAPIError) else None
        current = current.__cause__ or (wrapped if isinstance(wrapped, BaseException) else None)


def connection_lost(error: BaseException) -> bool:
    """Whether ``error`` says the connection broke; it must then be invalidated, not reused."""
    for cause in _causes(error):
        if isinstance(cause, sa_exc.DBAPIError) and cause.connection_invalidated:
            return True
        if isinstance(cause, _LOST):
            return True
        if isinstance(cause, asyncpg.InterfaceError) and "connection is closed" in str(cause):
            return True
    return False


def database_unavailable(error: BaseException) -> bool:
    """Whether ``error`` means the database cannot serve now (worth a retry later), as
    opposed to a bug or a refused statement (constraint violations stay what they are)."""
    if connection_lost(error):
        return True
    for cause in _causes(error):
        if isinstance(cause, _BUSY):
            return True
        if isinstance(cause, sqlite3.OperationalError) and any(text in str(cause) for text in _SQLITE_BUSY):
            return True
    return False


async def discard(connection: AsyncConnection) -> None:
    """Close ``connection`` without returning it to the pool as healthy. Never raises.

    On PostgreSQL the socket is cut first: SQLAlchemy's invalidation otherwise says goodbye
    to the server and waits up to 2 s for an answer that a vanished server never sends.
    """
    with contextlib.suppress(Exception):
        if not connection.invalidated and connection.dialect.name == "postgresql":
            (await connection.get_raw_connection()).driver_connection.terminate()  # type: ignore[union-attr]
    with contextlib.suppress(Exception):
        await connection.invalidate()
    with contextlib.suppress(Exception):
        await connection.close()


Reconnect = Callable[[], Awaitable[AsyncConnection]]


class SqlSession:
    """Runs a unit of work's statements on one connection.

    On PostgreSQL, connections idle in autocommit mode (see ``create_engine``): a read-only
    use-case pays no BEGIN and no ROLLBACK round trip. The first write opens a READ
    COMMITTED transaction on the driver connection, which ``commit()`` ends. Reads before
    it see the same data they would have seen inside it (READ COMMITTED takes a fresh
    snapshot per statement), and every write that depends on a read is a compare-and-set
    or protected by a constraint. On SQLite every unit of work is one ``BEGIN IMMEDIATE``
    transaction, since SQLite serializes writers anyway.

    When the database cannot serve (connection lost, unreachable, SQLite locked past its
    busy timeout) every method raises ``DependencyUnavailableError("database")``, and a
    PostgreSQL connection that failed is invalidated (``broken``). A read that finds its
    connection dead (a pooled connection left over from before a database restart) runs
    once more on a connection from ``reconnect``, provided this session has written
    nothing yet: a read in autocommit mode can be repeated, a lost transaction cannot.
    """

    def __init__(self, connection: AsyncConnection, reconnect: Reconnect | None = None) -> None:
        self.connection = connection
        self._reconnect = reconnect
        self._lazy = connection.dialect.name == "postgresql"
        self._writing = not self._lazy
        self._driver: Any = None
        self.wrote = False
        """Whether ``write`` or ``run`` was called: on PostgreSQL, a transaction was begun."""
        self.broken = False
        """Whether the connection failed and was invalidated."""

    @property
    def dialect(self) -> str:
        return self.connection.dialect.name

    async def read(self, statement: Executable, parameters: Any = None) -> CursorResult[Any]:
        try:
            return await self.connection.execute(statement, parameters)
        except Exception as error:
            if not await self._reconnected_after(error, repeatable=True):
                raise
        return await self._guarded(self.connection.execute(statement, parameters))

    async def fetch(self, query: Query, **parameters: Any) -> Sequence[Mapping[str, Any]]:
        """The rows of ``query``, as mappings of column name to value."""
        try:
            return await self._fetch(query, parameters)
        except Exception as error:
            if not await self._reconnected_after(error, repeatable=True):
                raise
        return await self._guarded(self._fetch(query, parameters))

    async def run(self, query: Query, **parameters: Any) -> int:
        """Execute a write built as a ``Query``; the number of rows it touched."""
        self.wrote = True
        return await self._guarded(self._run(query, parameters))

    async def write(self, statement: Executable, parameters: Any = None) -> CursorResult[Any]:
        self.wrote = True
        return await self._guarded(self._write(statement, parameters))

    async def commit(self) -> None:
        if not self._lazy:
            await self._guarded(self.connection.commit())
        elif self._writing:
            self._writing = False
            await self._guarded(self._driver.execute("COMMIT"))

    async def rollback(self) -> None:
        """Undo uncommitted writes. Reads in autocommit mode have nothing to undo, so a
        read-only unit of work ends without any call at all. Never raises for a lost
        connection: the server has dropped its transaction already."""
        try:
            if self.broken:
                return
            if not self._lazy:
                if self.connection.in_transaction():
                    await self.connection.rollback()
            elif self._writing:
                self._writing = False
                await self._driver.execute("ROLLBACK")
        except Exception as error:
            if not database_unavailable(error):
                raise
            await self._invalidate()

    async def _fetch(self, query: Query, parameters: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
        if not self._lazy:
            result = await self.connection.execute(query.statement, parameters)
            return cast(Sequence[Mapping[str, Any]], result.mappings().all())
        driver = await self._driver_connection()
        # Inside a write transaction the driver connection is in it too; otherwise autocommit.
        rows: Sequence[Mapping[str, Any]] = await driver.fetch(query.postgres_sql, *query.driver_arguments(parameters))
        return rows

    async def _run(self, query: Query, parameters: Mapping[str, Any]) -> int:
        if not self._lazy:
            return (await self.connection.execute(query.statement, parameters)).rowcount
        if not self._writing:
            await self._begin()
        status: str = await self._driver.execute(query.postgres_sql, *query.driver_arguments(parameters))
        return int(status.rpartition(" ")[2])  # "INSERT 0 1", "UPDATE 1", "DELETE 0"

    async def _write(self, statement: Executable, parameters: Any) -> CursorResult[Any]:
        if not self._writing:
            await self._begin()
        return await self.connection.execute(statement, parameters)

    async def _begin(self) -> None:
        # The connection stays in autocommit mode as far as SQLAlchemy knows; the server-side
        # transaction is opened and closed on the driver connection, which SQLAlchemy's
        # statements share. That costs one round trip each way and no mode switches.
        driver = await self._driver_connection()
        await driver.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
        self._writing = True

    async def _driver_connection(self) -> Any:
        if self._driver is None:
            self._driver = (await self.connection.get_raw_connection()).driver_connection
        return self._driver

    async def _guarded(self, operation: Awaitable[_T]) -> _T:
        try:
            return await operation
        except Exception as error:
            await self._reconnected_after(error, repeatable=False)
            raise

    async def _reconnected_after(self, error: Exception, *, repeatable: bool) -> bool:
        """After ``error``: False when it is not the database's availability (re-raise it);
        True when the statement may run again on a fresh connection; otherwise raises
        ``DependencyUnavailableError``."""
        if not (database_unavailable(error) or self._driver_closed()):
            return False
        retry = self._lazy and repeatable and not self.wrote and self._reconnect is not None and self._is_lost(error)
        if self._lazy:
            await self._invalidate()
        if not retry or self._reconnect is None:
            raise DependencyUnavailableError("database") from error
        self.connection = await self._reconnect()
        self._driver = None
        self.broken = False
        return True

    def _is_lost(self, error: Exception) -> bool:
        return connection_lost(error) or self._driver_closed()

    def _driver_closed(self) -> bool:
        return self._driver is not None and bool(self._driver.is_closed())

    async def _invalidate(self) -> None:
        self.broken = True
        self._writing = False
        if self._driver is not None:
            with contextlib.suppress(Exception):
                self._driver.terminate()  # see ``discard``
        with contextlib.suppress(Exception):
            await self.connection.invalidate()
