"""``SqlSession``: constraint violations become the error the repository mapped, identically
on PostgreSQL and SQLite, through a ``Query`` and through a built statement."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, Table, bindparam, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.engine import create_engine
from adapters.sql.errors import ConstraintErrors
from adapters.sql.session import SqlSession
from adapters.sql.statements import Query
from adapters.sql.tables import sessions, users
from application.errors import AlreadyExistsError, ApplicationError, NotFoundError
from tests.support.builders import T0

KINDS = ["query", "statement"]
_INSERT_USER = Query(insert(users).values({column.name: bindparam(column.name) for column in users.c}))
_INSERT_SESSION = Query(insert(sessions).values({column.name: bindparam(column.name) for column in sessions.c}))
USER_ERRORS = ConstraintErrors(
    users,
    {
        "uq_users_email": lambda: AlreadyExistsError("user", "email"),
        "pk_users": lambda: AlreadyExistsError("user", "id"),
    },
)


def a_user_row(*, user_id: UUID | None = None, email: str = "ada@example.com") -> dict[str, Any]:
    return {
        "id": user_id or uuid4(),
        "email": email,
        "display_name": "Ada",
        "password_hash": "hash",
        "role": "user",
        "is_active": True,
        "created_at": T0,
        "updated_at": T0,
        "email_verified": False,
    }


def a_session_row(user_id: UUID) -> dict[str, Any]:
    return {
        "id": uuid4(),
        "user_id": user_id,
        "token_hash": "t" * 64,
        "created_at": T0,
        "last_used_at": T0,
        "rotated_at": None,
        "idle_expires_at": T0 + timedelta(days=1),
        "expires_at": T0 + timedelta(days=30),
        "revoked_at": None,
        "user_agent": None,
        "ip": None,
        "version": 1,
    }


async def insert_user(
    session: SqlSession, kind: str, row: dict[str, Any], errors: ConstraintErrors | None = USER_ERRORS
) -> None:
    statement = _INSERT_USER if kind == "query" else insert(users).values(row)
    await session.write(statement, row if kind == "query" else None, errors=errors)


@pytest.fixture
async def engine(any_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(any_database_url, pool_size=2)
    yield engine
    await engine.dispose()


@pytest.fixture
async def ada(engine: AsyncEngine) -> dict[str, Any]:
    row = a_user_row()
    async with engine.connect() as connection:
        session = SqlSession(connection)
        await insert_user(session, "query", row)
        await session.commit()
    return row


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("same_id", "email", "field"),
    [(False, "ada@example.com", "email"), (True, "other@example.com", "id")],
    ids=["email", "id"],
)
async def test_a_violated_unique_key_raises_the_error_mapped_to_it(
    engine: AsyncEngine, ada: dict[str, Any], kind: str, same_id: bool, email: str, field: str
) -> None:
    row = a_user_row(user_id=ada["id"] if same_id else None, email=email)
    async with engine.connect() as connection:
        session = SqlSession(connection)
        try:
            with pytest.raises(AlreadyExistsError) as refused:
                await insert_user(session, kind, row)
        finally:
            await session.rollback()
    assert (refused.value.resource, refused.value.field) == ("user", field)


@pytest.mark.parametrize("kind", KINDS)
async def test_an_unmapped_violation_stays_the_drivers_error(
    engine: AsyncEngine, ada: dict[str, Any], kind: str
) -> None:
    only_ids = ConstraintErrors(users, {"pk_users": lambda: AlreadyExistsError("user", "id")})
    async with engine.connect() as connection:
        session = SqlSession(connection)
        try:
            with pytest.raises(Exception) as refused:  # noqa: PT011 - the driver's own class differs per path
                await insert_user(session, kind, a_user_row(), errors=only_ids)
        finally:
            await session.rollback()
    assert not isinstance(refused.value, ApplicationError)
    assert "uq_users_email" in str(refused.value) or "users.email" in str(refused.value)


@pytest.mark.parametrize("kind", KINDS)
async def test_a_violated_foreign_key_raises_the_error_mapped_to_it(engine: AsyncEngine, kind: str) -> None:
    errors = ConstraintErrors(sessions, {"fk_sessions_user_id_users": lambda: NotFoundError("user", "owner")})
    row = a_session_row(uuid4())
    statement = _INSERT_SESSION if kind == "query" else insert(sessions).values(row)
    async with engine.connect() as connection:
        session = SqlSession(connection)
        try:
            with pytest.raises(NotFoundError):
                await session.write(statement, row if kind == "query" else None, errors=errors)
        finally:
            await session.rollback()


def test_a_name_that_is_no_key_of_the_table_is_refused() -> None:
    with pytest.raises(ValueError, match="uq_users_name"):
        ConstraintErrors(users, {"uq_users_name": lambda: AlreadyExistsError("user", "name")})
    with pytest.raises(ValueError, match="fk_todos_owner_id_users"):
        ConstraintErrors(users, {"fk_todos_owner_id_users": lambda: NotFoundError("user", "owner")})


def test_one_of_several_foreign_keys_is_refused_since_sqlite_cannot_tell_them_apart() -> None:
    metadata = MetaData(naming_convention={"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"})
    Table("parents", metadata, Column("id", Integer, primary_key=True))
    links = Table(
        "links",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("left_id", ForeignKey("parents.id")),
        Column("right_id", ForeignKey("parents.id")),
    )
    with pytest.raises(ValueError, match="foreign keys"):
        ConstraintErrors(links, {"fk_links_left_id_parents": lambda: NotFoundError("parent", "left")})
