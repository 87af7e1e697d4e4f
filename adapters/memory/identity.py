"""In-memory repositories of the identity context."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from adapters.memory.database import Tables, detached
from application.errors import AlreadyExistsError
from application.identity.ports import (
    LoginAttempt,
    LoginAttemptRepository,
    Principal,
    SessionRepository,
    UserRepository,
)
from application.shared.events import SeenAggregates
from domain.identity.email import Email
from domain.identity.ids import SessionId
from domain.identity.session import Session
from domain.identity.user import User
from domain.shared.errors import VersionMismatchError
from domain.shared.ids import UserId

__all__ = ["InMemoryLoginAttemptRepository", "InMemorySessionRepository", "InMemoryUserRepository"]


class InMemoryUserRepository(UserRepository):
    def __init__(self, tables: Tables, seen: SeenAggregates) -> None:
        self._tables = tables
        self._seen = seen

    async def add(self, user: User) -> None:
        if any(u.email == user.email for u in self._tables.users.values()):
            raise AlreadyExistsError("user", "email")
        self._tables.users[user.id] = detached(user)
        self._seen.add(user)

    async def get(self, user_id: UserId) -> User | None:
        return self._track(self._tables.users.get(user_id))

    async def get_for_update(self, user_id: UserId) -> User | None:
        return await self.get(user_id)  # one unit of work at a time: held already

    async def get_by_email(self, email: Email) -> User | None:
        return self._track(next((u for u in self._tables.users.values() if u.email == email), None))

    async def save(self, user: User) -> None:
        self._tables.users[user.id] = detached(user)
        self._seen.add(user)

    def _track(self, stored: User | None) -> User | None:
        if stored is None:
            return None
        user = detached(stored)
        self._seen.add(user)
        return user


class InMemorySessionRepository(SessionRepository):
    def __init__(self, tables: Tables, seen: SeenAggregates) -> None:
        self._tables = tables
        self._seen = seen

    async def add(self, session: Session) -> None:
        self._tables.sessions[session.id] = detached(session)
        self._tables.refresh_tokens[session.token_hash] = session.id
        self._track(session)

    async def get(self, session_id: SessionId) -> Session | None:
        stored = self._tables.sessions.get(session_id)
        return None if stored is None else self._track(detached(stored))

    async def get_by_token_hash(self, token_hash: str) -> Session | None:
        session_id = self._tables.refresh_tokens.get(token_hash)
        return None if session_id is None else await self.get(session_id)

    async def list_live(self, user_id: UserId, now: datetime) -> list[Session]:
        live = [s for s in self._tables.sessions.values() if s.user_id == user_id and s.is_live(now)]
        live.sort(key=lambda s: (s.created_at, s.id), reverse=True)
        return [self._track(detached(s)) for s in live]

    async def save(self, session: Session) -> None:
        stored = self._tables.sessions.get(session.id)
        expected = session.version - 1
        if stored is None or stored.version != expected:
            raise VersionMismatchError(expected=expected, actual=None if stored is None else stored.version)
        self._tables.sessions[session.id] = detached(session)
        self._tables.refresh_tokens[session.token_hash] = session.id
        self._track(session)

    async def revoke(self, session: Session) -> None:
        stored = self._tables.sessions.get(session.id)
        if stored is not None and stored.revoked_at is None:
            revoked = detached(stored)
            revoked.revoked_at = session.revoked_at
            revoked.version += 1
            self._tables.sessions[session.id] = revoked
        self._seen.add(session)

    async def find_principal(self, session_id: SessionId, now: datetime) -> Principal | None:
        session = self._tables.sessions.get(session_id)
        if session is None or not session.is_live(now):
            return None
        user = self._tables.users.get(session.user_id)
        if user is None or not user.is_active:
            return None
        return Principal(user_id=user.id, role=user.role)

    def _track(self, session: Session) -> Session:
        self._seen.add(session)
        return session


class InMemoryLoginAttemptRepository(LoginAttemptRepository):
    """``lock`` has nothing to do: the in-memory unit of work runs one block at a time."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def lock(self, email: str) -> bool:
        return True

    async def reserve(self, email: str, at: datetime) -> int:
        self._tables.last_attempt += 1
        self._tables.login_failures.setdefault(email, {})[self._tables.last_attempt] = LoginAttempt(at, in_flight=True)
        return self._tables.last_attempt

    async def attempts_since(self, email: str, since: datetime) -> list[LoginAttempt]:
        return [a for a in self._tables.login_failures.get(email, {}).values() if a.at >= since]

    async def fail(self, email: str, attempt: int) -> None:
        attempts = self._tables.login_failures.get(email, {})
        if attempt in attempts:
            attempts[attempt] = LoginAttempt(attempts[attempt].at)

    async def clear_through(self, email: str, attempt: int) -> None:
        attempts = self._tables.login_failures.get(email, {})
        self._keep(email, lambda number: number > attempt or (number < attempt and attempts[number].in_flight))

    async def withdraw(self, email: str, attempt: int) -> None:
        self._keep(email, lambda number: number != attempt)

    def _keep(self, email: str, keep: Callable[[int], bool]) -> None:
        remaining = {n: t for n, t in self._tables.login_failures.get(email, {}).items() if keep(n)}
        if remaining:
            self._tables.login_failures[email] = remaining
        else:
            self._tables.login_failures.pop(email, None)
