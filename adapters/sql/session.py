"""``SqlSession``: the one way repositories run SQL, on the connection of one unit of work.

A statement is either a ``Query`` (built once with named ``bindparam``s; on PostgreSQL its
compiled text goes straight to asyncpg) or any SQLAlchemy statement built per call. Both
kinds get the same column-type processing, the same translation of constraint violations
(``ConstraintErrors``) and the same ``Result``.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import UpdateBase

from adapters.sql.connections import autocommit_driver, pooled_now, socket_ending
from adapters.sql.errors import ConstraintErrors, connection_lost, database_unavailable
from adapters.sql.statements import (
    PRECONDITION_COLUMN,
    Query,
    Result,
    Row,
    Statement,
    chained,
    chained_after,
    locks_rows,
)
from application.errors import DependencyUnavailableError
from application.shared.events import EventCollector

__all__ = ["Precondition", "SqlSession"]

_T = TypeVar("_T")

_SAVEPOINT = "portside_attempt"


Reconnect = Callable[[], Awaitable[AsyncConnection]]
Conflict = Callable[[], Awaitable[Exception]]
"""What a compare-and-set that touched no row raises (it may read: the stored version)."""


@dataclass(frozen=True, slots=True)
class Precondition:
    """A SELECT that must find a row before a session gives out any other statement's
    result (the caller's session is live), and the error it raises when the row is missing."""

    query: Query
    parameters: Mapping[str, Any]
    error: Callable[[], Exception]
    failed: bool = False
    """Once it found no row it stays failed, in this session and the unit of work's next
    blocks, without asking the database again."""


def _touched(rows: int) -> int:
    """How many rows a compare-and-set touched: none (a conflict) or one. More means its
    WHERE does not name one row, a bug to stop at, not a race to retry."""
    if rows > 1:
        raise RuntimeError(f"a compare-and-set touched {rows} rows: its WHERE must name one row and version")
    return rows


def _arguments(plan: Any, parameters: Mapping[str, Any]) -> list[Any]:
    try:
        return plan.arguments(parameters)  # type: ignore[no-any-return]
    except Exception as error:  # as SQLAlchemy reports a failed bind processor
        message = f"({type(error).__module__}.{type(error).__name__}) {error}"
        raise sa_exc.StatementError(message, plan.sql, None, error, hide_parameters=True) from error


def _without_precondition(row: Row) -> dict[str, Any]:
    # An asyncpg record iterates over its values, not its keys.
    return {name: row[name] for name in row.keys() if name != PRECONDITION_COLUMN}  # noqa: SIM118


class SqlSession:
    """Runs a unit of work's statements on one connection. Its methods are named after
    their transaction rules; each takes a ``Query`` or a built statement, with
    ``parameters`` for its bind parameters, and returns a ``Result``:

    - ``read``: a statement that changes nothing (INSERT, UPDATE and DELETE are refused).
      It runs inside the write transaction if this session opened one, otherwise outside
      any, and then may run once more on a fresh connection (below). A locking read
      (``FOR UPDATE``) needs the transaction: send it through ``write``.
    - ``write``: opens the write transaction or joins it, and is never repeated. A violated
      constraint named in ``errors`` raises the error mapped to it; on PostgreSQL the
      transaction is then spoiled, and the unit of work ends with that error.
    - ``compare_and_set``: a write that must touch exactly one row, else a conflict; on
      PostgreSQL it may be held for the commit and sent with the outbox row (below).
    - ``attempt``: a ``write`` under a SAVEPOINT. When it fails it alone is undone and the
      transaction stays usable, on PostgreSQL too: a caller may catch the mapped error and
      try again (another slug).

    On PostgreSQL, connections idle in autocommit mode (see ``create_engine``): a read-only
    use-case pays no BEGIN and no ROLLBACK round trip. Writes that can wait for the commit
    (``write_later``, ``compare_and_set``) are held and, when they can, sent there as one
    statement that commits by itself. Any other write opens a READ COMMITTED transaction
    on the driver connection, which ``commit()`` ends. Reads before
    it see the same data they would have seen inside it (READ COMMITTED takes a fresh
    snapshot per statement), and every write that depends on a read is a compare-and-set
    or protected by a constraint. On SQLite every unit of work is one ``BEGIN IMMEDIATE``
    transaction, since SQLite serializes writers anyway. Built on a PostgreSQL connection
    that is not in autocommit mode (an engine not made by ``create_engine``), the session
    raises ``ValueError`` instead of running under transactions it does not control.

    When the database cannot serve (connection lost, unreachable, SQLite locked past its
    busy timeout) every method raises ``DependencyUnavailableError("database")``, and a
    PostgreSQL connection that failed is invalidated (``broken``). A read that finds its
    connection dead (a pooled connection left over from before a database restart) runs
    once more on a connection from ``reconnect``, provided no write of this session has
    reached the server yet (held writes have not): a read in autocommit mode can be
    repeated, a lost transaction cannot.
    """

    def __init__(
        self, connection: AsyncConnection, reconnect: Reconnect | None = None, precondition: Precondition | None = None
    ) -> None:
        self.connection = connection
        self._reconnect = reconnect
        self.precondition = precondition
        """Checked before any statement's result leaves the session (then None): folded into
        the first read on PostgreSQL, or carried by the held inserts of a block that only
        inserts (see ``write_later``), else run on its own before it (see ``read``). Once
        it failed it stays pending, ``failed``."""
        self._lazy = connection.dialect.name == "postgresql"
        self._writing = not self._lazy
        self._driver: Any = None
        if self._lazy and (pooled := pooled_now(connection)) is not None:
            self._driver = autocommit_driver(connection, pooled)
        self.wrote = False
        """Whether ``write``, ``attempt``, ``write_later`` or ``compare_and_set`` was called:
        on PostgreSQL, a transaction was begun or a write is held for the commit."""
        self.broken = False
        """Whether the connection failed and was invalidated."""
        self._sent = False
        """Whether a write reached the server (a transaction begun, a chain sent): from then
        on a lost connection cannot be made good by reading again elsewhere. Held writes
        are not sent: a check before them may still run again on a fresh connection."""
        self._spoiled: Exception | None = None
        self._held: list[tuple[Query, Mapping[str, Any]]] = []
        self._head: tuple[Query, Mapping[str, Any], Conflict] | None = None
        """A held compare-and-set, the first write of the block: the held inserts follow it."""
        self.events: EventCollector | None = None
        """The block's events (the unit of work sets it): when a held compare-and-set loses,
        the events collected since it was held announce writes that did not happen, and go."""
        self._head_mark = 0

    @property
    def sent(self) -> bool:
        """Whether a write of this session reached the server (held writes have not)."""
        return self._sent

    @property
    def dialect(self) -> str:
        return self.connection.dialect.name

    @property
    def spoiled(self) -> bool:
        """Whether a statement of the transaction failed: the session runs nothing more."""
        return self._spoiled is not None

    async def read(self, statement: Statement, parameters: Mapping[str, Any] | None = None) -> Result:
        if statement.writes if isinstance(statement, Query) else isinstance(statement, UpdateBase):
            raise TypeError("read() runs no INSERT, UPDATE or DELETE: use write()")
        if statement.locks if isinstance(statement, Query) else locks_rows(statement):
            raise TypeError("read() takes no row locks: in autocommit they end with the statement; use write()")
        if self._held or self._head is not None:
            await self._send_held()
        if self.precondition is not None:
            return await self._read_with_precondition(statement, parameters, self.precondition)
        return await self._read(statement, parameters)

    async def check_precondition(self) -> None:
        """Run the pending precondition on its own (a read); raise its error if it fails."""
        precondition = self.precondition
        if precondition is None:
            return
        if precondition.failed or not (await self._read(precondition.query, precondition.parameters)).rows:
            raise self._failed(precondition)
        self.precondition = None

    async def _read_with_precondition(
        self, statement: Statement, parameters: Mapping[str, Any] | None, precondition: Precondition
    ) -> Result:
        """On PostgreSQL outside a transaction, a prebuilt read carries the precondition
        as one more column: one round trip for both. When the read finds no row the column
        tells nothing, and the precondition runs on its own; so it does before a read that
        cannot carry it. A failed precondition stays pending: the session gives out nothing."""
        if precondition.failed:
            raise precondition.error()
        preceded = None
        if self._lazy and not self._writing and isinstance(statement, Query):
            preceded = statement.preceded_by(precondition.query)
        if preceded is None:
            await self.check_precondition()
            return await self._read(statement, parameters)
        result = await self._read(preceded, {**(parameters or {}), **precondition.parameters})
        if not result.rows:
            await self.check_precondition()
            return result
        if not result.rows[0][PRECONDITION_COLUMN]:
            raise self._failed(precondition)
        self.precondition = None
        return Result([_without_precondition(row) for row in result.rows], result.rowcount)

    def _failed(self, precondition: Precondition) -> Exception:
        self.precondition = dataclasses.replace(precondition, failed=True)
        return precondition.error()

    async def _read(self, statement: Statement, parameters: Mapping[str, Any] | None) -> Result:
        self._refuse_if_spoiled()
        try:
            return await self._execute(statement, parameters)
        except Exception as error:
            if not await self._reconnected_after(error, repeatable=True):
                self._spoil_if_in_transaction(error)
                raise
        try:  # once more, on a fresh connection, before any write reached the server
            return await self._execute(statement, parameters)
        except Exception as error:
            await self._reconnected_after(error, repeatable=False)  # raises if the database is gone again
            self._spoil_if_in_transaction(error)
            raise

    def _spoil_if_in_transaction(self, error: Exception) -> None:
        """A failed read spoils an open write transaction (PostgreSQL has aborted it); outside
        one nothing is lost, and the session goes on."""
        if self._writing if self._lazy else self.wrote:
            self._spoiled = error

    async def write(
        self,
        statement: Statement,
        parameters: Mapping[str, Any] | None = None,
        *,
        errors: ConstraintErrors | None = None,
    ) -> Result:
        self._refuse_if_spoiled()
        await self.check_precondition()
        self.wrote = True
        if self._held or self._head is not None:
            await self._send_held()
        return await self._guarded(self._write(statement, parameters), errors)

    async def write_later(self, query: Query, parameters: Mapping[str, Any]) -> None:
        """A write whose result nobody reads (an INSERT of a new row, an outbox row), held
        back until the session's next statement, which sends it first, or its commit.

        On PostgreSQL outside a transaction, ``commit()`` sends the held writes as one
        statement (``chained``), which commits by itself: a use-case that only inserts
        pays one round trip, with no BEGIN and no COMMIT. A pending precondition rides in
        it (``chained_after``: the inserts insert only if it holds) when it can, and is
        checked on its own before the inserts otherwise.
        A constraint it violates raises the driver's error there. Elsewhere, and for a
        statement that returns rows, it is ``write``."""
        if not (self._lazy and query.writes and not query.returns_rows):
            await self.write(query, parameters)
            return
        self._refuse_if_spoiled()
        if (precondition := self.precondition) is not None:
            if precondition.failed:
                raise precondition.error()
            if self._writing or self._head is not None or query.inserted_after_head() is None:
                await self.check_precondition()  # no chain at the commit could carry it
        self.wrote = True
        self._held.append((query, parameters))

    async def compare_and_set(self, query: Query, parameters: Mapping[str, Any], *, conflict: Conflict) -> None:
        """An UPDATE or DELETE that must touch exactly one row (its WHERE names the row and
        the version it was read at); when it touches none, raises ``await conflict()``.

        On PostgreSQL, as the first write since the block began or last committed, outside a
        transaction, it is held:
        ``commit()`` sends it at the head of one statement with the writes held after it
        (the outbox rows, ``chained_after``), which insert only if it touched its row. That
        statement commits by itself: no BEGIN, no COMMIT, one round trip. The conflict then
        comes from ``commit()``, nothing was written, and the session can run the whole
        attempt again (read, change, ``compare_and_set``, commit). A statement before the
        commit sends the held writes first, in a transaction, and the conflict comes from
        it. Elsewhere, and after another write, it runs now, as ``write``."""
        if not (self._lazy and not self._writing and not self._held and self._head is None):
            if _touched((await self.write(query, parameters)).rowcount) == 0:
                raise await conflict()
            return
        self._refuse_if_spoiled()
        await self.check_precondition()
        self.wrote = True
        self._head = (query, parameters, conflict)
        self._head_mark = 0 if self.events is None else self.events.mark()

    async def attempt(
        self,
        statement: Statement,
        parameters: Mapping[str, Any] | None = None,
        *,
        errors: ConstraintErrors | None = None,
    ) -> Result:
        self._refuse_if_spoiled()
        await self.check_precondition()
        self.wrote = True
        if self._held or self._head is not None:
            await self._send_held()
        try:
            return await self._guarded(self._attempt(statement, parameters), errors)
        except Exception:
            self._spoiled = None  # the savepoint undid the failed statement only
            raise

    async def commit(self) -> None:
        """Commit the writes. Refuses (``RuntimeError``) after a statement of the transaction
        failed: PostgreSQL has aborted it and would answer COMMIT with a silent ROLLBACK, so
        both databases refuse alike rather than lose the writes quietly on one of them.
        Raises a held compare-and-set's conflict, or a held precondition's error, when the
        statement that carried it wrote nothing (see ``compare_and_set``, ``write_later``)."""
        self._refuse_if_spoiled()
        if await self._committed_as_one_statement():
            return
        if self._held or self._head is not None:
            await self._send_held()
        if not self._lazy:
            await self._guarded(self.connection.commit())
        elif self._writing:
            self._writing = False
            status = await self._guarded(self._driver.execute("COMMIT"))
            if status != "COMMIT":
                raise RuntimeError(f"PostgreSQL answered {status!r} to COMMIT: the transaction was not committed")

    async def _committed_as_one_statement(self) -> bool:
        """Send the held writes as one statement outside any transaction, which commits by
        itself, if they can go so: a held compare-and-set with the inserts after it, or the
        inserts with a pending precondition at their head, or the inserts alone. False when
        they cannot (``commit`` then sends them in a transaction)."""
        if (head := self._head) is not None:
            if (sql := self._chain_after(head[0])) is None:
                return False
            self._head = None
            if _touched(await self._guarded(self._send_chained_after(sql, head[0], head[1]))) == 0:
                raise await self._lost(head[2])  # and nothing was written
            return True
        if not self._held or self._writing:
            return False
        if (precondition := self.precondition) is not None:
            await self._commit_checked(precondition)
            return True
        if (sql := self._chain()) is None:
            return False
        await self._guarded(self._send_chained(sql))
        return True

    async def rollback(self) -> None:
        """Undo uncommitted writes. Reads in autocommit mode have nothing to undo, so a
        read-only unit of work ends without any call at all. Never raises for a lost
        connection: the server has dropped its transaction already."""
        try:
            self._held.clear()
            self._head = None
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

    async def _execute(self, statement: Statement, parameters: Mapping[str, Any] | None) -> Result:
        if isinstance(statement, Query):
            if self._lazy:
                return await self._execute_on_driver(statement, parameters or {})
            statement = statement.statement
        result = await self.connection.execute(statement, parameters)
        if result.returns_rows:
            rows = result.mappings().all()
            return Result(rows, len(rows))
        return Result((), result.rowcount)

    async def _execute_on_driver(self, query: Query, parameters: Mapping[str, Any]) -> Result:
        plan = query._compiled(self.connection.dialect)
        arguments = _arguments(plan, parameters)
        driver = await self._driver_connection()
        # Inside a write transaction the driver connection is in it too; otherwise autocommit.
        if query.returns_rows:
            rows = plan.rows(await driver.fetch(plan.sql, *arguments))
            return Result(rows, len(rows))
        status: str = await driver.execute(plan.sql, *arguments)
        return Result((), int(status.rpartition(" ")[2]))  # "INSERT 0 1", "UPDATE 1", "DELETE 0"

    async def _send_held(self) -> None:
        """The held writes, one by one inside the transaction: more statements follow. A
        held compare-and-set goes first; when it touches no row, the writes held after it
        (its attempt's) are dropped and its conflict is raised. A precondition the held
        writes were to carry is checked first, on its own."""
        await self.check_precondition()
        head, self._head = self._head, None
        held, self._held = self._held, []
        if head is not None:
            query, parameters, conflict = head
            if _touched((await self._guarded(self._write(query, parameters))).rowcount) == 0:
                raise await self._lost(conflict)  # the held writes after it are its attempt's
        for query, parameters in held:
            await self._guarded(self._write(query, parameters))

    def _chain(self) -> str | None:
        """The held writes as one statement, if they can be: each on a table of its own
        (the order of WITH clauses is PostgreSQL's to pick) and ``chained`` agrees."""
        queries = tuple(query for query, _ in self._held)
        if len(queries) == 1:
            return queries[0]._compiled(self.connection.dialect).sql
        tables = {query.statement.table for query in queries}  # type: ignore[union-attr]
        return chained(queries, self.connection.dialect) if len(tables) == len(queries) else None

    async def _lost(self, conflict: Conflict) -> Exception:
        """The held compare-and-set touched no row: what was held with it is gone unsent."""
        if self.events is not None:
            self.events.drop(since=self._head_mark)
        return await conflict()

    def _chain_after(self, head: Query) -> str | None:
        """The held compare-and-set and the writes held after it as one statement, if they
        can be (``chained_after``)."""
        return chained_after(head, tuple(query for query, _ in self._held), self.connection.dialect)

    async def _commit_checked(self, precondition: Precondition) -> None:
        """Commit the held inserts with ``precondition`` at their head (``chained_after``):
        one statement that inserts only if it holds, else raise its error. When they cannot
        carry it, check it on its own and send them as ``commit`` would."""
        if precondition.failed:
            raise precondition.error()
        sql = self._chain_after(precondition.query)
        if sql is None:
            await self.check_precondition()
            await self.commit()
            return
        # The statement is this block's first and cannot be repeated: a connection found
        # closed must be replaced before it is sent, not after.
        await self._replace_if_closed()
        if await self._guarded(self._send_chained_after(sql, precondition.query, precondition.parameters)) != 1:
            raise self._failed(precondition)  # and nothing was written
        self.precondition = None

    async def _replace_if_closed(self) -> None:
        """Swap the connection for a fresh one if the server has closed it (a database that
        restarted), before anything is sent on it. The pool's check at checkout
        (``create_engine``) sees only what asyncpg has read, and the event loop may not
        have read the close yet; the socket itself knows (``socket_ending``)."""
        if self._reconnect is None:
            return
        driver = await self._driver_connection()
        if driver.is_closed() or socket_ending(driver):
            await self._invalidate()
            await self._take_fresh_connection()

    async def _send_chained_after(self, sql: str, head: Query, parameters: Mapping[str, Any]) -> int:
        """``head`` and the held writes as ``sql``, one statement outside any transaction:
        how many rows the head touched or found (none: nothing written)."""
        held, self._held = self._held, []
        dialect = self.connection.dialect
        counted = head.counted()
        assert counted is not None  # chained_after built the statement from it
        arguments = _arguments(counted._compiled(dialect), parameters)
        for query, parameters in held:
            conditional = query.inserted_after_head()
            assert conditional is not None  # likewise
            arguments += _arguments(conditional._compiled(dialect), parameters)
        driver = await self._driver_connection()
        self._sent = True
        return int(await driver.fetchval(sql, *arguments))

    async def _send_chained(self, sql: str) -> None:
        """The held writes as ``sql``, one statement outside any transaction: it commits by
        itself."""
        held, self._held = self._held, []
        dialect = self.connection.dialect
        arguments = [value for query, parameters in held for value in _arguments(query._compiled(dialect), parameters)]
        driver = await self._driver_connection()
        self._sent = True
        await driver.execute(sql, *arguments)

    async def _write(self, statement: Statement, parameters: Mapping[str, Any] | None) -> Result:
        if not self._writing:
            await self._begin()
        return await self._execute(statement, parameters)

    async def _attempt(self, statement: Statement, parameters: Mapping[str, Any] | None) -> Result:
        if not self._lazy:
            async with self.connection.begin_nested():
                return await self._execute(statement, parameters)
        if not self._writing:
            await self._begin()
        await self._driver.execute(f"SAVEPOINT {_SAVEPOINT}")
        try:
            result = await self._execute(statement, parameters)
        except Exception as error:
            if not database_unavailable(error):
                await self._driver.execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}; RELEASE SAVEPOINT {_SAVEPOINT}")
            raise
        await self._driver.execute(f"RELEASE SAVEPOINT {_SAVEPOINT}")
        return result

    async def _begin(self) -> None:
        # The connection stays in autocommit mode as far as SQLAlchemy knows; the server-side
        # transaction is opened and closed on the driver connection, which SQLAlchemy's
        # statements share. That costs one round trip each way and no mode switches.
        driver = await self._driver_connection()
        self._sent = True
        # Writing from before BEGIN is sent: a block cancelled while it is on its way must
        # still send ROLLBACK when it ends (asyncpg knows of the transaction only once the
        # server's answer is read, which may come after the connection was given back).
        self._writing = True
        await driver.execute("BEGIN ISOLATION LEVEL READ COMMITTED")

    async def _driver_connection(self) -> Any:
        if self._driver is None:
            pooled = await self.connection.get_raw_connection()
            self._driver = autocommit_driver(self.connection, pooled)
        return self._driver

    def _refuse_if_spoiled(self) -> None:
        if self._spoiled is not None:
            raise RuntimeError(
                "a statement of this transaction failed; the unit of work must end without committing"
            ) from self._spoiled

    async def _guarded(self, operation: Awaitable[_T], errors: ConstraintErrors | None = None) -> _T:
        try:
            return await operation
        except Exception as error:
            await self._reconnected_after(error, repeatable=False)
            self._spoiled = error
            translated = None if errors is None else errors.error_for(error)
            if translated is None:
                raise
            # The driver's message would carry the offending values (an e-mail) into logs.
            raise translated from None

    async def _reconnected_after(self, error: Exception, *, repeatable: bool) -> bool:
        """After ``error``: False when it is not the database's availability (re-raise it);
        True when the statement may run again on a fresh connection; otherwise raises
        ``DependencyUnavailableError``."""
        if not (database_unavailable(error) or self._driver_closed()):
            return False
        retry = self._lazy and repeatable and not self._sent and self._reconnect is not None and self._is_lost(error)
        if self._lazy:
            await self._invalidate()
        if not retry or self._reconnect is None:
            raise DependencyUnavailableError("database") from error
        await self._take_fresh_connection()
        return True

    async def _take_fresh_connection(self) -> None:
        assert self._reconnect is not None
        self.connection = await self._reconnect()
        pooled = pooled_now(self.connection)
        self._driver = None if pooled is None else autocommit_driver(self.connection, pooled)
        self.broken = False

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
