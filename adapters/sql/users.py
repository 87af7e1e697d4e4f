"""``SqlUserRepository``: accounts, the admins' lock, and the admin listing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, delete, func, insert, or_, select, update
from sqlalchemy.sql import Select

from adapters.sql.errors import ConstraintErrors
from adapters.sql.session import SqlSession
from adapters.sql.statements import Query
from adapters.sql.tables import users
from application.errors import AlreadyExistsError
from application.identity.ports import UserQuery, UserRepository
from domain.identity.email import Email
from domain.identity.user import Role, User
from domain.shared.ids import UserId
from domain.shared.pagination import Page

__all__ = ["SqlUserRepository", "like_pattern"]

# The escape character of the listing's LIKE patterns; "/" rather than "\", whose meaning in
# a string literal depends on PostgreSQL's standard_conforming_strings.
_ESCAPE = "/"


def like_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, lowercased, its wildcards (``%``, ``_``)
    and the escape character taken literally."""
    escaped = text.lower().replace(_ESCAPE, _ESCAPE * 2).replace("%", f"{_ESCAPE}%").replace("_", f"{_ESCAPE}_")
    return f"%{escaped}%"


def _user_row(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email.value,
        "display_name": user.display_name,
        "password_hash": user.password_hash,
        "role": user.role.value,
        "is_active": user.is_active,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
        "email_verified": user.email_verified,
    }


def _user(row: Any) -> User:
    return User(
        id=UserId(row["id"]),
        email=Email(row["email"]),
        display_name=row["display_name"],
        password_hash=row["password_hash"],
        role=Role(row["role"]),
        is_active=row["is_active"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        email_verified=row["email_verified"],
    )


def _maybe_user(row: Any) -> User | None:
    return None if row is None else _user(row)


# The statements every authenticated request runs are built once; only parameters vary.
_INSERT_USER = Query(insert(users).values({column.name: bindparam(column.name) for column in users.c}))
_USER_BY_ID = Query(select(users).where(users.c.id == bindparam("id")))
_USER_BY_EMAIL = Query(select(users).where(users.c.email == bindparam("email")))
_ACTIVE_ADMINS = (
    select(users.c.id)
    .where(users.c.role == Role.ADMIN.value, users.c.is_active.is_(True))
    .order_by(users.c.id)
    .with_for_update()
)
_USER_ERRORS = ConstraintErrors(users, {"uq_users_email": lambda: AlreadyExistsError("user", "email")})


def _matching(statement: Select[Any], text: str | None) -> Select[Any]:
    if text is None:
        return statement
    pattern = like_pattern(text)
    return statement.where(
        or_(
            func.lower(users.c.email).like(pattern, escape=_ESCAPE),
            func.lower(users.c.display_name).like(pattern, escape=_ESCAPE),
        )
    )


class SqlUserRepository(UserRepository):
    """The admins' lock is ``SELECT ... FOR UPDATE`` in id order on PostgreSQL (READ
    COMMITTED re-checks a row it waited for, so a demoted admin drops out). SQLite has no
    row locks: every unit of work there is one ``BEGIN IMMEDIATE`` transaction, which holds
    the database's one write lock, so the same statement serializes just as well."""

    def __init__(self, session: SqlSession) -> None:
        self._db = session

    async def add(self, user: User) -> None:
        await self._db.write(_INSERT_USER, _user_row(user), errors=_USER_ERRORS)

    async def get(self, user_id: UserId) -> User | None:
        return _maybe_user((await self._db.read(_USER_BY_ID, {"id": user_id})).first())

    async def get_for_update(self, user_id: UserId) -> User | None:
        # Through ``write``: the row lock needs the transaction, which a write opens.
        result = await self._db.write(select(users).where(users.c.id == user_id).with_for_update())
        return _maybe_user(result.first())

    async def get_by_email(self, email: Email) -> User | None:
        return _maybe_user((await self._db.read(_USER_BY_EMAIL, {"email": email.value})).first())

    async def save(self, user: User) -> None:
        row = _user_row(user)
        del row["id"], row["created_at"]
        await self._db.write(update(users).where(users.c.id == user.id).values(row), errors=_USER_ERRORS)

    async def lock_active_admins(self) -> list[UserId]:
        return [UserId(row["id"]) for row in (await self._db.write(_ACTIVE_ADMINS)).rows]

    async def delete(self, user: User) -> None:
        # Sessions, refresh tokens, link tokens and todos go with it (ON DELETE CASCADE).
        await self._db.write(delete(users).where(users.c.id == user.id))

    async def page(self, query: UserQuery) -> Page[User]:
        listing = (
            _matching(select(users), query.text)
            .order_by(users.c.created_at.desc(), users.c.id.desc())
            .limit(query.page.size)
            .offset(query.page.offset)
        )
        rows = (await self._db.read(listing)).rows
        if query.page.offset == 0 and len(rows) < query.page.size:
            total = len(rows)  # a short first page is everything
        else:
            count = _matching(select(func.count().label("total")).select_from(users), query.text)
            total = int((await self._db.read(count)).rows[0]["total"])
        return Page(items=[_user(row) for row in rows], request=query.page, total=total)
