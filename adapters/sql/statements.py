"""Statements as ``SqlSession`` runs them: ``Query`` (built once, compiled once per dialect,
with its columns' type processors) and the one ``Result`` shape every statement returns."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy import Executable, literal_column
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Select
from sqlalchemy.sql.dml import UpdateBase

__all__ = ["PRECONDITION_COLUMN", "Query", "Result", "Row", "Statement", "chained", "locks_rows"]

_ASYNCPG = asyncpg_dialect()  # type: ignore[no-untyped-call]
_REQUIRED = object()
PRECONDITION_COLUMN = "portside_precondition_holds"
"""The column ``Query.preceded_by`` adds: whether the precondition found a row."""


class Row(Protocol):
    """A result row, read by column name (``row["title"]``, ``dict(row)``); its class varies."""

    def __getitem__(self, name: str, /) -> Any: ...

    def keys(self) -> Iterable[str]: ...


class Result:
    """The ``rows`` a statement returned and its ``rowcount``: the rows a write touched, or,
    for a statement that returns rows, how many it returned."""

    __slots__ = ("rowcount", "rows")

    def __init__(self, rows: Sequence[Row], rowcount: int) -> None:
        self.rows = rows
        self.rowcount = rowcount

    def first(self) -> Row | None:
        return self.rows[0] if self.rows else None


class _Plan:
    """A ``Query`` compiled for one asyncpg dialect, with its columns' type processors."""

    __slots__ = ("binds", "dialect", "processors", "sql")

    def __init__(self, statement: Select[Any] | UpdateBase, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.dialect = dialect
        self.sql = str(compiled)
        binds = []
        for name in compiled.positiontup or ():
            bind = compiled.binds[name]
            if bind.expanding:
                raise ValueError(f"a Query cannot expand the list parameter {name!r}; build the statement per call")
            default = _REQUIRED if bind.required else bind.effective_value
            binds.append((name, bind.type.dialect_impl(dialect).bind_processor(dialect), default))
        self.binds = tuple(binds)
        self.processors = tuple(
            (index, process)
            for index, column in enumerate(statement.exported_columns)
            if (process := _reader(column, dialect))
        )

    def arguments(self, parameters: Mapping[str, Any]) -> list[Any]:
        arguments = []
        for name, process, default in self.binds:
            value = parameters.get(name, default)
            if value is _REQUIRED:
                raise sa_exc.InvalidRequestError(f"A value is required for bind parameter {name!r}")
            arguments.append(value if process is None else process(value))
        return arguments

    def rows(self, records: list[Any]) -> Sequence[Row]:
        if not self.processors or not records:
            return records  # asyncpg's records, read by name like any row
        names = tuple(records[0].keys())
        rows = []
        for record in records:
            values = list(record.values())
            for index, process in self.processors:
                values[index] = process(values[index])
            rows.append(dict(zip(names, values, strict=True)))
        return rows


def _reader(column: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    try:
        process: Callable[[Any], Any] | None = column.type.dialect_impl(dialect).result_processor(dialect, None)
    except Exception as error:
        raise TypeError(
            f"a Query cannot read column {column.name!r} ({column.type!r}), whose processing needs the "
            "driver's type code; build the statement per call"
        ) from error
    return process


class Query:
    """A statement built once with named ``bindparam``s; only the parameters vary per call.

    On PostgreSQL ``SqlSession`` sends its compiled text straight to asyncpg, which keeps
    its own prepared statements, so the hot statements of every request skip SQLAlchemy's
    per-execution work (README, Performance). It applies the same bind and result
    processors of the column types that SQLAlchemy applies to a built statement (UTC
    datetimes, JSON), taken from the connection's dialect. Elsewhere the statement runs
    through SQLAlchemy as usual. Raises at construction for what the driver path cannot
    run: list parameters (``IN``), and result columns whose processing depends on the
    driver's type code (``Numeric``).
    """

    __slots__ = ("_plans", "_preceded", "locks", "returns_rows", "statement", "writes")

    def __init__(self, statement: Select[Any] | UpdateBase) -> None:
        self.statement = statement
        self.writes = isinstance(statement, UpdateBase)
        self.locks = locks_rows(statement)
        self.returns_rows = bool(statement.exported_columns)
        _Plan(statement, _ASYNCPG)  # refuses what the driver path cannot run, at import
        self._plans: dict[Dialect, _Plan] = {}
        self._preceded: dict[Query, Query] = {}

    def preceded_by(self, precondition: Query) -> Query | None:
        """This read with one more column, ``PRECONDITION_COLUMN``: whether ``precondition``
        (a SELECT) finds a row. Both then take one round trip. Every row carries the same
        answer, so a read that finds no row tells nothing about it. None for a statement
        that cannot carry the column: a write, a locking read, a compound SELECT. Built once
        per pair. None too when the two share a parameter name: SQLAlchemy would merge them
        into one."""
        preceded = self._preceded.get(precondition)
        if preceded is None:
            if not isinstance(self.statement, Select) or self.locks or not isinstance(precondition.statement, Select):
                return None
            names = {name for name, _, _ in self._compiled(_ASYNCPG).binds}
            if names & {name for name, _, _ in precondition._compiled(_ASYNCPG).binds}:
                return None
            holds = precondition.statement.exists().label(PRECONDITION_COLUMN)
            preceded = self._preceded[precondition] = Query(self.statement.add_columns(holds))
        return preceded

    def _compiled(self, dialect: Dialect) -> _Plan:
        """The plan for ``dialect`` (an engine's), compiled on its first use."""
        plan = self._plans.get(dialect)
        if plan is None:
            plan = self._plans[dialect] = _Plan(self.statement, dialect)
        return plan


Statement = Query | Executable

_PLACEHOLDER = re.compile(r"\$(\d+)")
_CHAINS: dict[tuple[Dialect, tuple[Query, ...]], str | None] = {}


def chained(queries: tuple[Query, ...], dialect: Dialect) -> str | None:
    """One PostgreSQL statement running ``queries`` (writes that return nothing) as
    data-modifying WITH clauses: PostgreSQL runs each exactly once and to completion, in an
    order of its own, and outside a transaction the statement commits or fails as a whole.
    Its parameters are the queries' own, one after another. None when a query's text has
    a quote (a literal or a quoted name, where ``$n`` might not be a parameter) or numbers
    its parameters otherwise than 1..n. Built once per sequence of queries."""
    key = (dialect, queries)
    if key not in _CHAINS:
        _CHAINS[key] = _chain(queries, dialect)
    return _CHAINS[key]


def _chain(queries: tuple[Query, ...], dialect: Dialect) -> str | None:
    parts, offset = [], 0
    for index, query in enumerate(queries):
        plan = query._compiled(dialect)
        if not query.writes or query.returns_rows or "'" in plan.sql or '"' in plan.sql:
            return None
        if {int(number) for number in _PLACEHOLDER.findall(plan.sql)} != set(range(1, len(plan.binds) + 1)):
            return None
        renumbered = _PLACEHOLDER.sub(lambda match: f"${int(match.group(1)) + offset}", plan.sql)  # noqa: B023
        parts.append(f"w{index} AS ({renumbered})")
        offset += len(plan.binds)
    return f"WITH {', '.join(parts)} SELECT {len(queries)}"


def locks_rows(statement: object) -> bool:
    """Whether ``statement`` is a ``SELECT ... FOR UPDATE`` (or ``FOR SHARE``)."""
    # SQLAlchemy keeps the locking clause in ``_for_update_arg``; it has no public reader.
    return isinstance(statement, Select) and statement._for_update_arg is not None


def status_is(column: Any, value: str) -> Any:
    """``column = 'value'`` with the value in the SQL text, not a parameter: PostgreSQL's
    generic plans of prepared statements match a partial index only on a literal. For
    fixed enum values only, never client input."""
    return column == literal_column(f"'{value}'")
