"""``InMemoryDatabase``: committed state shared by every in-memory unit of work."""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass, field
from typing import TypeVar

from application.identity.ports import LoginAttempt
from domain.identity.ids import SessionId
from domain.identity.session import Session
from domain.identity.user import User
from domain.shared.events import DomainEvent
from domain.shared.ids import UserId
from domain.todos.todo import Todo, TodoId

__all__ = ["InMemoryDatabase", "Tables", "detached"]

_Entity = TypeVar("_Entity", User, Session, Todo)


def detached(entity: _Entity) -> _Entity:
    """A copy with no pending events, so stored state never aliases what callers mutate."""
    return dataclasses.replace(entity, events=[])


@dataclass(slots=True)
class Tables:
    users: dict[UserId, User] = field(default_factory=dict)
    sessions: dict[SessionId, Session] = field(default_factory=dict)
    refresh_tokens: dict[str, SessionId] = field(default_factory=dict)
    login_failures: dict[str, dict[int, LoginAttempt]] = field(default_factory=dict)
    """Per e-mail, attempt number -> the attempt."""
    last_attempt: int = 0
    todos: dict[TodoId, Todo] = field(default_factory=dict)
    outbox: list[DomainEvent] = field(default_factory=list)

    def copy(self) -> Tables:
        return Tables(
            users=dict(self.users),
            sessions=dict(self.sessions),
            refresh_tokens=dict(self.refresh_tokens),
            login_failures={email: dict(times) for email, times in self.login_failures.items()},
            last_attempt=self.last_attempt,
            todos=dict(self.todos),
            outbox=list(self.outbox),
        )


class InMemoryDatabase:
    """Committed tables plus a lock: one unit of work at a time, so transactions are serializable."""

    def __init__(self) -> None:
        self.committed = Tables()
        self.lock = asyncio.Lock()
