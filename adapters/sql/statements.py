"""Statements as ``SqlSession`` runs them: ``Query`` (built once, compiled once per dialect,
with its columns' type processors) and the one ``Result`` shape every statement returns."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy import Executable, bindparam, insert, literal_column, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Select
from sqlalchemy.sql.dml import Delete, Insert, Update, UpdateBase

__all__ = ["PRECONDITION_COLUMN", "Query", "Result", "Row", "Statement", "chained", "chained_after", "locks_rows"]

_ASYNCPG = asyncpg_dialect()  # type: ignore[no-untyped-call]
_REQUIRED = object()
_UNSET: Any = object()
_HEAD = "portside_head"
"""The WITH clause of ``chained_after`` that holds the head write's rows."""
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

    __slots__ = ("_conditional", "_counted", "_plans", "_preceded", "locks", "returns_rows", "statement", "writes")

    def __init__(self, statement: Select[Any] | UpdateBase) -> None:
        self.statement = statement
        self.writes = isinstance(statement, UpdateBase)
        self.locks = locks_rows(statement)
        self.returns_rows = bool(statement.exported_columns)
        _Plan(statement, _ASYNCPG)  # refuses what the driver path cannot run, at import
        self._plans: dict[Dialect, _Plan] = {}
        self._preceded: dict[Query, Query] = {}
        self._counted: Query | None = _UNSET
        self._conditional: Query | None = _UNSET

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

    def counted(self) -> Query | None:
        """This statement as the head of ``chained_after``, a row for each row it touched or
        found: an UPDATE or DELETE with ``RETURNING 1``; a SELECT (a check) as ``SELECT 1
        WHERE EXISTS (...)``. None for another statement: an INSERT, one that returns rows
        already, a locking read. Built once."""
        if self._counted is _UNSET:
            statement, counted = self.statement, None
            if isinstance(statement, Update | Delete) and not self.returns_rows:
                counted = Query(statement.returning(literal_column("1")))
            elif isinstance(statement, Select) and not self.locks:
                counted = Query(select(literal_column("1")).where(statement.exists()))
            self._counted = counted
        return self._counted

    def inserted_after_head(self) -> Query | None:
        """This INSERT made to insert only if the head write of ``chained_after`` touched a
        row: ``INSERT INTO t (a, b) SELECT $1::UUID, $2::VARCHAR WHERE EXISTS (SELECT 1 FROM
        portside_head)``, valid only inside that chain. Only for the plain one-row form
        ``insert(table).values({column: bindparam(column), ...})`` with every parameter named
        after its column (checked by compiling that form again and comparing the text): no
        RETURNING, no ON CONFLICT, no SQL expression around a parameter. None otherwise.
        Built once."""
        if self._conditional is _UNSET:
            self._conditional = _inserted_after_head(self)
        return self._conditional

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
        if not query.writes or query.returns_rows or (numbered := _numbered(query, dialect, offset)) is None:
            return None
        parts.append(f"w{index} AS ({numbered})")
        offset += len(query._compiled(dialect).binds)
    return f"WITH {', '.join(parts)} SELECT {len(queries)}"


def _inserted_after_head(query: Query) -> Query | None:
    statement = query.statement
    if type(statement) is not Insert or query.returns_rows:
        return None  # a dialect's subclass (ON CONFLICT) or a RETURNING
    table = statement.table
    compiled = statement.compile(dialect=_ASYNCPG)
    names = list(compiled.positiontup or ())
    if not names or len(set(names)) != len(names) or not all(name in table.c for name in names):
        return None
    plain = insert(table).values({name: bindparam(name) for name in names})
    if str(plain.compile(dialect=_ASYNCPG)) != query._compiled(_ASYNCPG).sql:
        return None
    binds = [compiled.binds[name] for name in names]
    if any(not bind.required or bind.type._isnull for bind in binds):
        return None  # a default value to keep, or no type to cast to
    # Each parameter keeps its own type (its bind processor), and the driver's dialect
    # writes it with its cast ($1::UUID), which a SELECT list needs: there is no VALUES
    # target to take the type from.
    values = select(*(bindparam(bind.key, type_=bind.type) for bind in binds))
    exists: Any = literal_column(f"EXISTS (SELECT 1 FROM {_HEAD})")  # noqa: S608 - a constant
    return Query(insert(table).from_select(names, values.where(exists)))


_AFTER_HEAD: dict[tuple[Dialect, Query, tuple[Query, ...]], str | None] = {}


def chained_after(head: Query, followers: tuple[Query, ...], dialect: Dialect) -> str | None:
    """One PostgreSQL statement: ``head`` (an UPDATE or DELETE, or a SELECT that checks:
    ``Query.counted``) and then ``followers`` (plain INSERTs, ``Query.inserted_after_head``),
    which insert only if the head touched or found a row; it answers how many it did.
    ``WITH portside_head AS (UPDATE ... RETURNING 1), w0 AS (INSERT ... WHERE EXISTS (SELECT
    1 FROM portside_head)), ... SELECT count(*) FROM portside_head``. Outside a transaction
    it commits or fails as a whole: a compare-and-set and its outbox row, or a session check
    and the inserts it guards, in one round trip, and nothing written when the head found
    nothing. Every part sees one snapshot. Its parameters: the head's, then each
    follower's. None when a statement cannot take part, or two write one table (the
    writes would not see each other's rows). Built once per sequence."""
    key = (dialect, head, followers)
    if key not in _AFTER_HEAD:
        _AFTER_HEAD[key] = _chain_after(head, followers, dialect)
    return _AFTER_HEAD[key]


def _chain_after(head: Query, followers: tuple[Query, ...], dialect: Dialect) -> str | None:
    counted = head.counted()
    conditional = [follower.inserted_after_head() for follower in followers]
    if counted is None or None in conditional:
        return None
    written = [follower.statement.table for follower in followers]  # type: ignore[union-attr]
    if head.writes:
        written.append(head.statement.table)  # type: ignore[union-attr]
    if len(set(written)) != len(written):
        return None
    numbered = _numbered(counted, dialect, 0)
    if numbered is None:
        return None
    parts, offset = [f"{_HEAD} AS ({numbered})"], len(counted._compiled(dialect).binds)
    for index, query in enumerate(conditional):
        assert query is not None
        if (numbered := _numbered(query, dialect, offset)) is None:
            return None
        parts.append(f"w{index} AS ({numbered})")
        offset += len(query._compiled(dialect).binds)
    return f"WITH {', '.join(parts)} SELECT count(*) FROM {_HEAD}"  # noqa: S608 - compiled statements, no value


def _numbered(query: Query, dialect: Dialect, offset: int) -> str | None:
    """``query``'s SQL with its parameters numbered from ``offset`` + 1; None when its text
    has a quote (a literal or a quoted name, where ``$n`` might not be a parameter) or
    numbers its parameters otherwise than 1..n."""
    plan = query._compiled(dialect)
    if "'" in plan.sql or '"' in plan.sql:
        return None
    if {int(number) for number in _PLACEHOLDER.findall(plan.sql)} != set(range(1, len(plan.binds) + 1)):
        return None
    return _PLACEHOLDER.sub(lambda match: f"${int(match.group(1)) + offset}", plan.sql)


def locks_rows(statement: object) -> bool:
    """Whether ``statement`` is a ``SELECT ... FOR UPDATE`` (or ``FOR SHARE``)."""
    # SQLAlchemy keeps the locking clause in ``_for_update_arg``; it has no public reader.
    return isinstance(statement, Select) and statement._for_update_arg is not None


def status_is(column: Any, value: str) -> Any:
    """``column = 'value'`` with the value in the SQL text, not a parameter: PostgreSQL's
    generic plans of prepared statements match a partial index only on a literal. For
    fixed enum values only, never client input."""
    return column == literal_column(f"'{value}'")
