"""What a database error means: the connection lost, the database out of reach for now, or
a constraint violation that a repository maps to a domain error (``ConstraintErrors``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping

import asyncpg  # type: ignore[import-untyped]  # no stubs; only its exception classes are used
from sqlalchemy import Column, PrimaryKeyConstraint, Table, UniqueConstraint
from sqlalchemy import exc as sa_exc

__all__ = ["ConstraintErrors", "connection_lost", "database_unavailable"]

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
# timeouts (connect, command, pool checkout; the server's own ``statement_timeout``, 57014)
# and the server's connection limit.
_BUSY = (OSError, sa_exc.TimeoutError, asyncpg.QueryCanceledError, asyncpg.TooManyConnectionsError)
# SQLite gives up with these once its busy timeout has passed; the other OperationalErrors
# (syntax, missing table) are bugs.
_SQLITE_BUSY = ("database is locked", "database table is locked", "unable to open database file")


class ConstraintErrors:
    """The error each named constraint of ``table`` stands for when a write violates it.

    Names are the schema's (``tables.py``'s naming convention: ``uq_users_email``,
    ``pk_users``, ``fk_todos_owner_id_users``) or a unique index's. The error factory runs
    for the violation, identically on both databases: PostgreSQL names the constraint;
    SQLite names a unique key's columns, which map back to it, and says nothing about which
    foreign key failed, so only a table's sole foreign key may be mapped. Unmapped
    violations stay the driver's errors.
    """

    def __init__(self, table: Table, errors: Mapping[str, Callable[[], Exception]]) -> None:
        unique = _unique_keys(table)
        foreign = [str(key.name) for key in table.foreign_key_constraints]
        self._errors = dict(errors)
        self._by_columns: dict[tuple[str, frozenset[str]], str] = {}
        self._foreign_key: str | None = None
        for name in errors:
            if name in unique:
                self._by_columns[(table.name, unique[name])] = name
            elif name in foreign and len(foreign) == 1:
                self._foreign_key = name
            elif name in foreign:
                raise ValueError(f"SQLite cannot tell which of {table.name}'s foreign keys failed: {name!r}")
            else:
                raise ValueError(f"{table.name} has no unique key or foreign key named {name!r}")

    def error_for(self, error: BaseException) -> Exception | None:
        """The mapped error for a constraint violation in ``error``, else None."""
        for cause in _causes(error):
            if isinstance(cause, asyncpg.IntegrityConstraintViolationError):
                return self._error(cause.constraint_name)
            if isinstance(cause, sqlite3.IntegrityError):
                return self._error(self._sqlite_constraint(str(cause)))
        return None

    def _error(self, name: str | None) -> Exception | None:
        factory = None if name is None else self._errors.get(name)
        return None if factory is None else factory()

    def _sqlite_constraint(self, message: str) -> str | None:
        if message == "FOREIGN KEY constraint failed":
            return self._foreign_key
        prefix, _, key = message.partition("UNIQUE constraint failed: ")
        if prefix or not key:
            return None
        if key.startswith("index '"):  # a unique index on expressions
            return key[len("index '") : -1]
        table, columns = "", set()
        for qualified in key.split(", "):
            table, _, column = qualified.rpartition(".")
            columns.add(column)
        return self._by_columns.get((table, frozenset(columns)))


def _unique_keys(table: Table) -> dict[str, frozenset[str]]:
    keys = {
        str(constraint.name): frozenset(column.name for column in constraint.columns)
        for constraint in table.constraints
        if isinstance(constraint, UniqueConstraint | PrimaryKeyConstraint) and constraint.name
    }
    for index in table.indexes:
        if index.unique and index.name:
            keys[str(index.name)] = frozenset(c.name for c in index.expressions if isinstance(c, Column))
    return keys


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
