"""SQL repositories of the identity context."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, literal, literal_column, or_, select, text, update
from sqlalchemy.exc import DBAPIError

from adapters.shared.unit_of_work import ContextUnitOfWork, repository
from adapters.sql.audit import SqlAuditLog
from adapters.sql.files import SqlFileRepository
from adapters.sql.link_tokens import SqlLinkTokenRepository
from adapters.sql.password_reset_requests import SqlPasswordResetRequestRepository
from adapters.sql.session import Precondition, SqlSession
from adapters.sql.statements import Query
from adapters.sql.tables import login_failures, refresh_tokens, sessions, users
from adapters.sql.unit_of_work import SqlUnitOfWork
from adapters.sql.users import SqlUserRepository
from application.errors import UnauthenticatedError
from application.identity.ports import (
    IdentityUnitOfWork,
    LoginAttempt,
    LoginAttemptRepository,
    Principal,
    SessionRepository,
)
from application.shared.actor import Actor
from domain.identity.ids import SessionId
from domain.identity.session import Session
from domain.identity.user import Role
from domain.shared.errors import VersionMismatchError
from domain.shared.ids import UserId

__all__ = ["SqlIdentityUnitOfWork", "SqlLoginAttemptRepository", "SqlSessionRepository", "SqlUserRepository"]

_LOCK_WAIT_MS = 1000
_LOCK_NOT_AVAILABLE = "55P03"


def _session_row(session: Session) -> dict[str, Any]:
    return {
        "id": session.id,
        "user_id": session.user_id,
        "token_hash": session.token_hash,
        "created_at": session.created_at,
        "last_used_at": session.last_used_at,
        "rotated_at": session.rotated_at,
        "idle_expires_at": session.idle_expires_at,
        "expires_at": session.expires_at,
        "revoked_at": session.revoked_at,
        "user_agent": session.user_agent,
        "ip": session.ip,
        "version": session.version,
    }


def _session(row: Any) -> Session:
    return Session(
        id=SessionId(row["id"]),
        user_id=UserId(row["user_id"]),
        token_hash=row["token_hash"],
        created_at=row["created_at"],
        last_used_at=row["last_used_at"],
        rotated_at=row["rotated_at"],
        idle_expires_at=row["idle_expires_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        user_agent=row["user_agent"],
        ip=row["ip"],
        version=row["version"],
    )


def _live_session(prefix: str = "") -> Any:
    """From ``sessions`` joined to ``users``: the session named by the ``{prefix}session_id``
    parameter, live at ``{prefix}now``, of an active user."""
    now: Any = bindparam(f"{prefix}now")
    return (
        select()
        .select_from(sessions.join(users, users.c.id == sessions.c.user_id))
        .where(
            sessions.c.id == bindparam(f"{prefix}session_id"),
            sessions.c.revoked_at.is_(None),
            sessions.c.idle_expires_at > now,
            sessions.c.expires_at > now,
            users.c.is_active.is_(True),
        )
    )


# The statements every authenticated request runs are built once; only parameters vary.
_PRINCIPAL = Query(_live_session().add_columns(users.c.id, users.c.role))

_LIVE_SESSION = Query(
    _live_session("principal_")
    .add_columns(literal_column("1"))
    .where(users.c.id == bindparam("principal_user_id"), users.c.role == bindparam("principal_role"))
)
"""``_PRINCIPAL`` as a yes-or-no for a given user and role; its parameter names differ from
any repository's, so it can ride on their reads (``Query.preceded_by``)."""


class SqlSessionRepository(SessionRepository):
    def __init__(self, session: SqlSession) -> None:
        self._db = session

    async def add(self, session: Session) -> None:
        await self._db.write(insert(sessions).values(_session_row(session)))
        await self._remember_token(session)

    async def get(self, session_id: SessionId) -> Session | None:
        row = (await self._db.read(select(sessions).where(sessions.c.id == session_id))).first()
        return None if row is None else _session(row)

    async def get_by_token_hash(self, token_hash: str) -> Session | None:
        query = (
            select(sessions)
            .join(refresh_tokens, refresh_tokens.c.session_id == sessions.c.id)
            .where(refresh_tokens.c.token_hash == token_hash)
        )
        row = (await self._db.read(query)).first()
        return None if row is None else _session(row)

    async def list_live(self, user_id: UserId, now: datetime) -> list[Session]:
        query = (
            select(sessions)
            .where(
                sessions.c.user_id == user_id,
                sessions.c.revoked_at.is_(None),
                sessions.c.idle_expires_at > now,
                sessions.c.expires_at > now,
            )
            .order_by(sessions.c.created_at.desc(), sessions.c.id.desc())
        )
        return [_session(row) for row in (await self._db.read(query)).rows]

    async def save(self, session: Session) -> None:
        expected = session.version - 1
        row = _session_row(session)
        del row["id"], row["user_id"], row["created_at"]
        result = await self._db.write(
            update(sessions).where(sessions.c.id == session.id, sessions.c.version == expected).values(row)
        )
        if result.rowcount != 1:
            raise VersionMismatchError(expected=expected, actual=None)
        await self._remember_token(session)

    async def revoke(self, session: Session) -> bool:
        result = await self._db.write(
            update(sessions)
            .where(sessions.c.id == session.id, sessions.c.revoked_at.is_(None))
            .values(revoked_at=session.revoked_at, version=sessions.c.version + 1)
        )
        return result.rowcount == 1

    async def find_principal(self, session_id: SessionId, now: datetime) -> Principal | None:
        row = (await self._db.read(_PRINCIPAL, {"session_id": session_id, "now": now})).first()
        return None if row is None else Principal(user_id=UserId(row["id"]), role=Role(row["role"]))

    async def _remember_token(self, session: Session) -> None:
        await self._db.write(
            insert(refresh_tokens).values(
                token_hash=session.token_hash, session_id=session.id, issued_at=session.last_used_at
            )
        )


class SqlLoginAttemptRepository(LoginAttemptRepository):
    """``lock`` takes a transaction-scoped advisory lock on PostgreSQL, keyed by a hash of the
    e-mail (a collision only makes two e-mails wait for each other), waiting at most a
    second. On SQLite the unit of work's ``BEGIN IMMEDIATE`` already holds the database's
    one write lock, so the first statement of the block is lock enough."""

    def __init__(self, session: SqlSession) -> None:
        self._db = session

    async def lock(self, email: str) -> bool:
        if self._db.dialect != "postgresql":
            await self._db.write(select(literal(1)))
            return True
        # A lock held longer than this means a pile-up on one e-mail: refuse rather than
        # let the waiters hold pooled connections.
        await self._db.write(text(f"SET LOCAL lock_timeout = '{_LOCK_WAIT_MS}ms'"))
        try:
            await self._db.write(select(func.pg_advisory_xact_lock(func.hashtextextended(email, 0))))
        except DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
                return False
            raise
        return True

    async def reserve(self, email: str, at: datetime) -> int:
        result = await self._db.write(
            insert(login_failures).values(email=email, failed_at=at, in_flight=True).returning(login_failures.c.id)
        )
        return int(result.rows[0]["id"])

    async def attempts_since(self, email: str, since: datetime) -> list[LoginAttempt]:
        query = select(login_failures.c.failed_at, login_failures.c.in_flight).where(
            login_failures.c.email == email, login_failures.c.failed_at >= since
        )
        return [LoginAttempt(row["failed_at"], in_flight=row["in_flight"]) for row in (await self._db.read(query)).rows]

    async def fail(self, email: str, attempt: int) -> None:
        await self._db.write(
            update(login_failures)
            .where(login_failures.c.email == email, login_failures.c.id == attempt)
            .values(in_flight=False)
        )

    async def clear_through(self, email: str, attempt: int) -> None:
        await self._db.write(
            delete(login_failures).where(
                login_failures.c.email == email,
                or_(login_failures.c.id == attempt, and_(login_failures.c.id < attempt, ~login_failures.c.in_flight)),
            )
        )

    async def withdraw(self, email: str, attempt: int) -> None:
        await self._db.write(
            delete(login_failures).where(login_failures.c.email == email, login_failures.c.id == attempt)
        )


class SqlIdentityUnitOfWork(ContextUnitOfWork[SqlSession], IdentityUnitOfWork):
    files = repository(SqlFileRepository)
    users = repository(SqlUserRepository)
    sessions = repository(SqlSessionRepository)
    login_attempts = repository(SqlLoginAttemptRepository)
    link_tokens = repository(SqlLinkTokenRepository)
    password_reset_requests = repository(SqlPasswordResetRequestRepository)
    audit_log = repository(SqlAuditLog)

    def __init__(self, transaction: SqlUnitOfWork) -> None:
        super().__init__(transaction)
        self._sql = transaction

    async def require_live_session(self, actor: Actor, now: datetime) -> None:
        """Deferred: the check rides on the next block's first read (``SqlUnitOfWork.require``)."""
        parameters = {
            "principal_session_id": actor.session_id,
            "principal_now": now,
            "principal_user_id": actor.user_id,
            "principal_role": actor.role.value,
        }
        self._sql.require(Precondition(_LIVE_SESSION, parameters, UnauthenticatedError))
