"""In-memory repositories of the identity context."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from adapters.memory.database import detached
from adapters.memory.files import InMemoryFileRepository
from adapters.memory.unit_of_work import InMemoryRepository, InMemoryUnitOfWork
from adapters.shared.unit_of_work import ContextUnitOfWork, repository
from application.errors import AlreadyExistsError, NotFoundError, UnauthenticatedError
from application.identity.ports import (
    IdentityUnitOfWork,
    LinkTokenRepository,
    LoginAttempt,
    LoginAttemptRepository,
    PasswordResetRequestRepository,
    Principal,
    SessionRepository,
    UserQuery,
    UserRepository,
)
from application.shared.actor import Actor
from application.shared.audit import AuditFilters, AuditLog
from domain.identity.email import Email
from domain.identity.ids import SessionId
from domain.identity.link_token import LinkPurpose, LinkToken
from domain.identity.password_reset import PasswordResetRequest, PasswordResetRequestId
from domain.identity.session import Session
from domain.identity.user import User
from domain.shared.audit import AuditEntry, AuditEntryId
from domain.shared.errors import VersionMismatchError
from domain.shared.ids import UserId
from domain.shared.pagination import Page, PageRequest

__all__ = [
    "IdentityTables",
    "InMemoryAuditLog",
    "InMemoryIdentityUnitOfWork",
    "InMemoryLinkTokenRepository",
    "InMemoryLoginAttemptRepository",
    "InMemoryPasswordResetRequestRepository",
    "InMemorySessionRepository",
    "InMemoryUserRepository",
]


def _copy(stored: User | None) -> User | None:
    return None if stored is None else detached(stored)


@dataclass(slots=True)
class IdentityTables:
    users: dict[UserId, User] = field(default_factory=dict)
    sessions: dict[SessionId, Session] = field(default_factory=dict)
    refresh_tokens: dict[str, SessionId] = field(default_factory=dict)
    login_failures: dict[str, dict[int, LoginAttempt]] = field(default_factory=dict)
    """Per e-mail, attempt number -> the attempt."""
    last_attempt: int = 0
    link_tokens: dict[str, LinkToken] = field(default_factory=dict)
    """Digest -> the token (immutable, so copies share them)."""
    password_reset_requests: dict[PasswordResetRequestId, PasswordResetRequest] = field(default_factory=dict)
    """Stored detached and never changed, so copies share them."""
    audit_log: dict[AuditEntryId, AuditEntry] = field(default_factory=dict)
    """Immutable entries, so copies share them."""

    def copy(self) -> IdentityTables:
        return IdentityTables(
            users=dict(self.users),
            sessions=dict(self.sessions),
            refresh_tokens=dict(self.refresh_tokens),
            login_failures={email: dict(times) for email, times in self.login_failures.items()},
            last_attempt=self.last_attempt,
            link_tokens=dict(self.link_tokens),
            password_reset_requests=dict(self.password_reset_requests),
            audit_log=dict(self.audit_log),
        )


class InMemoryUserRepository(InMemoryRepository[IdentityTables], UserRepository):
    def __init__(self, unit: InMemoryUnitOfWork) -> None:
        super().__init__(unit, IdentityTables)

    async def add(self, user: User) -> None:
        if any(u.email == user.email for u in self._writable.users.values()):
            raise AlreadyExistsError("user", "email")
        self._writable.users[user.id] = detached(user)

    async def get(self, user_id: UserId) -> User | None:
        return _copy(self._tables.users.get(user_id))

    async def get_for_update(self, user_id: UserId) -> User | None:
        return await self.get(user_id)  # one unit of work at a time: held already

    async def get_by_email(self, email: Email) -> User | None:
        return _copy(next((u for u in self._tables.users.values() if u.email == email), None))

    async def save(self, user: User) -> None:
        self._writable.users[user.id] = detached(user)

    async def lock_active_admins(self) -> list[UserId]:
        # One unit of work at a time: reading them is holding them.
        return sorted((u.id for u in self._tables.users.values() if u.is_active_admin), key=str)

    async def delete(self, user: User) -> None:
        tables = self._writable
        tables.users.pop(user.id, None)
        # As the SQL foreign keys cascade, here and in the other contexts' tables.
        self._unit.drop_user(user.id)
        gone = {s.id for s in tables.sessions.values() if s.user_id == user.id}
        tables.sessions = {k: v for k, v in tables.sessions.items() if k not in gone}
        tables.refresh_tokens = {k: v for k, v in tables.refresh_tokens.items() if v not in gone}
        tables.link_tokens = {k: v for k, v in tables.link_tokens.items() if v.user_id != user.id}

    async def page(self, query: UserQuery) -> Page[User]:
        text = None if query.text is None else query.text.lower()
        found = [
            u
            for u in self._tables.users.values()
            if text is None or text in u.email.value.lower() or text in u.display_name.lower()
        ]
        found.sort(key=lambda u: (u.created_at, u.id), reverse=True)
        start = query.page.offset
        return Page(
            items=[detached(u) for u in found[start : start + query.page.size]], request=query.page, total=len(found)
        )


class InMemorySessionRepository(InMemoryRepository[IdentityTables], SessionRepository):
    def __init__(self, unit: InMemoryUnitOfWork) -> None:
        super().__init__(unit, IdentityTables)

    async def add(self, session: Session) -> None:
        self._writable.sessions[session.id] = detached(session)
        self._writable.refresh_tokens[session.token_hash] = session.id

    async def get(self, session_id: SessionId) -> Session | None:
        stored = self._tables.sessions.get(session_id)
        return None if stored is None else detached(stored)

    async def get_by_token_hash(self, token_hash: str) -> Session | None:
        session_id = self._tables.refresh_tokens.get(token_hash)
        return None if session_id is None else await self.get(session_id)

    async def list_live(self, user_id: UserId, now: datetime) -> list[Session]:
        live = [s for s in self._tables.sessions.values() if s.user_id == user_id and s.is_live(now)]
        live.sort(key=lambda s: (s.created_at, s.id), reverse=True)
        return [detached(s) for s in live]

    async def save(self, session: Session) -> None:
        stored = self._writable.sessions.get(session.id)
        expected = session.version - 1
        if stored is None or stored.version != expected:
            raise VersionMismatchError(expected=expected, actual=None if stored is None else stored.version)
        self._writable.sessions[session.id] = detached(session)
        self._writable.refresh_tokens[session.token_hash] = session.id

    async def revoke(self, session: Session) -> bool:
        stored = self._tables.sessions.get(session.id)
        if stored is None or stored.revoked_at is not None:
            return False
        revoked = detached(stored)
        revoked.revoked_at = session.revoked_at
        revoked.version += 1
        self._writable.sessions[session.id] = revoked
        return True

    async def find_principal(self, session_id: SessionId, now: datetime) -> Principal | None:
        session = self._tables.sessions.get(session_id)
        if session is None or not session.is_live(now):
            return None
        user = self._tables.users.get(session.user_id)
        if user is None or not user.is_active:
            return None
        return Principal(user_id=user.id, role=user.role)


class InMemoryLoginAttemptRepository(InMemoryRepository[IdentityTables], LoginAttemptRepository):
    """``lock`` has nothing to do: the in-memory unit of work runs one block at a time."""

    def __init__(self, unit: InMemoryUnitOfWork) -> None:
        super().__init__(unit, IdentityTables)

    async def lock(self, email: str) -> bool:
        return True

    async def reserve(self, email: str, at: datetime) -> int:
        self._writable.last_attempt += 1
        self._writable.login_failures.setdefault(email, {})[self._writable.last_attempt] = LoginAttempt(
            at, in_flight=True
        )
        return self._writable.last_attempt

    async def attempts_since(self, email: str, since: datetime) -> list[LoginAttempt]:
        return [a for a in self._tables.login_failures.get(email, {}).values() if a.at >= since]

    async def fail(self, email: str, attempt: int) -> None:
        attempts = self._writable.login_failures.get(email, {})
        if attempt in attempts:
            attempts[attempt] = LoginAttempt(attempts[attempt].at)

    async def clear_through(self, email: str, attempt: int) -> None:
        attempts = self._writable.login_failures.get(email, {})
        self._keep(email, lambda number: number > attempt or (number < attempt and attempts[number].in_flight))

    async def withdraw(self, email: str, attempt: int) -> None:
        self._keep(email, lambda number: number != attempt)

    def _keep(self, email: str, keep: Callable[[int], bool]) -> None:
        remaining = {n: t for n, t in self._writable.login_failures.get(email, {}).items() if keep(n)}
        if remaining:
            self._writable.login_failures[email] = remaining
        else:
            self._writable.login_failures.pop(email, None)


class InMemoryLinkTokenRepository(InMemoryRepository[IdentityTables], LinkTokenRepository):
    """Consuming is a compare-and-set because the unit of work runs one block at a time."""

    def __init__(self, unit: InMemoryUnitOfWork) -> None:
        super().__init__(unit, IdentityTables)

    async def add(self, token: LinkToken) -> bool:
        if token.token_hash in self._tables.link_tokens:
            return False
        if token.user_id not in self._tables.users:
            raise NotFoundError("user", "id")  # as the SQL foreign key
        self._writable.link_tokens[token.token_hash] = token
        return True

    async def find(self, token_hash: str, purpose: LinkPurpose) -> LinkToken | None:
        token = self._tables.link_tokens.get(token_hash)
        return token if token is not None and token.purpose is purpose else None

    async def consume(self, token_hash: str, purpose: LinkPurpose, now: datetime) -> UserId | None:
        token = await self.find(token_hash, purpose)
        if token is None or not token.usable(now):
            return None
        self._writable.link_tokens[token_hash] = dataclasses.replace(token, used_at=now)
        return token.user_id

    async def consume_all(self, user_id: UserId, purpose: LinkPurpose, now: datetime) -> int:
        unused = [
            t
            for t in self._tables.link_tokens.values()
            if (t.user_id, t.purpose, t.used_at) == (user_id, purpose, None)
        ]
        for token in unused:
            self._writable.link_tokens[token.token_hash] = dataclasses.replace(token, used_at=now)
        return len(unused)


class InMemoryPasswordResetRequestRepository(InMemoryRepository[IdentityTables], PasswordResetRequestRepository):
    def __init__(self, unit: InMemoryUnitOfWork) -> None:
        super().__init__(unit, IdentityTables)

    async def add(self, request: PasswordResetRequest) -> None:
        self._writable.password_reset_requests[request.id] = detached(request)


class InMemoryAuditLog(InMemoryRepository[IdentityTables], AuditLog):
    def __init__(self, unit: InMemoryUnitOfWork) -> None:
        super().__init__(unit, IdentityTables)

    async def record(self, entry: AuditEntry) -> None:
        self._writable.audit_log[entry.id] = dataclasses.replace(entry, detail=dict(entry.detail))

    async def page(self, filters: AuditFilters, page: PageRequest) -> Page[AuditEntry]:
        def matches(e: AuditEntry) -> bool:
            return (
                (filters.type is None or e.type == filters.type)
                and (filters.user_id is None or filters.user_id in (e.actor_id, e.subject_id))
                and (filters.subject_id is None or e.subject_id == filters.subject_id)
                and (filters.since is None or e.at >= filters.since)
                and (filters.until is None or e.at < filters.until)
            )

        found = sorted(filter(matches, self._tables.audit_log.values()), key=lambda e: (e.at, e.id), reverse=True)
        return Page(items=found[page.offset : page.offset + page.size], request=page, total=len(found))


class InMemoryIdentityUnitOfWork(ContextUnitOfWork[InMemoryUnitOfWork], IdentityUnitOfWork):
    files = repository(InMemoryFileRepository)
    users = repository(InMemoryUserRepository)
    sessions = repository(InMemorySessionRepository)
    login_attempts = repository(InMemoryLoginAttemptRepository)
    link_tokens = repository(InMemoryLinkTokenRepository)
    password_reset_requests = repository(InMemoryPasswordResetRequestRepository)
    audit_log = repository(InMemoryAuditLog)

    async def require_live_session(self, actor: Actor, now: datetime) -> None:
        """Checked at once: a lookup in memory costs no round trip to save."""
        async with self:
            principal = await self.sessions.find_principal(actor.session_id, now)
        if principal != Principal(user_id=actor.user_id, role=actor.role):
            raise UnauthenticatedError()
