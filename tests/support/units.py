"""One unit of work exposing every context's repositories, for repository-level tests.

Production code asks for one context's protocol (``IdentityUnitOfWork``, ``TodoUnitOfWork``);
tests that exercise several repositories in one transaction use this view instead. Anything
else (``release``, ``commits``) is the transaction's own.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.memory.broadcast import InMemoryCampaignRepository, InMemoryDeliveryRepository
from adapters.memory.chat import InMemoryMessageRepository, InMemoryThreadRepository, InMemoryUpdateRepository
from adapters.memory.database import InMemoryDatabase
from adapters.memory.files import InMemoryFileRepository
from adapters.memory.identity import (
    InMemoryAuditLog,
    InMemoryLoginAttemptRepository,
    InMemorySessionRepository,
    InMemoryUserRepository,
)
from adapters.memory.posts import InMemoryPostRepository
from adapters.memory.telegram_chats import InMemoryTelegramChatRepository
from adapters.memory.todos import InMemoryTodoRepository
from adapters.memory.unit_of_work import InMemoryUnitOfWork
from adapters.shared.unit_of_work import ContextUnitOfWork
from adapters.sql.audit import SqlAuditLog
from adapters.sql.broadcast import SqlCampaignRepository, SqlDeliveryRepository
from adapters.sql.chat import SqlMessageRepository, SqlThreadRepository, SqlUpdateRepository
from adapters.sql.files import SqlFileRepository
from adapters.sql.identity import SqlLoginAttemptRepository, SqlSessionRepository, SqlUserRepository
from adapters.sql.posts import SqlPostRepository
from adapters.sql.telegram_chats import SqlTelegramChatRepository
from adapters.sql.todos import SqlTodoRepository
from adapters.sql.unit_of_work import SqlUnitOfWork
from application.broadcast.ports import CampaignRepository, DeliveryRepository
from application.chat.ports import MessageRepository, ThreadRepository, UpdateRepository
from application.files.ports import FileRepository
from application.identity.ports import LoginAttemptRepository, SessionRepository, UserRepository
from application.posts.ports import PostRepository
from application.shared.audit import AuditLog
from application.telegram.ports import TelegramChatRepository
from application.todos.ports import TodoRepository

__all__ = ["AllRepositories", "memory_unit", "sql_unit"]

_SQL = (
    SqlUserRepository,
    SqlSessionRepository,
    SqlLoginAttemptRepository,
    SqlTodoRepository,
    SqlAuditLog,
    SqlPostRepository,
    SqlFileRepository,
    SqlCampaignRepository,
    SqlDeliveryRepository,
    SqlTelegramChatRepository,
    SqlUpdateRepository,
    SqlThreadRepository,
    SqlMessageRepository,
)
_MEMORY = (
    InMemoryUserRepository,
    InMemorySessionRepository,
    InMemoryLoginAttemptRepository,
    InMemoryTodoRepository,
    InMemoryAuditLog,
    InMemoryPostRepository,
    InMemoryFileRepository,
    InMemoryCampaignRepository,
    InMemoryDeliveryRepository,
    InMemoryTelegramChatRepository,
    InMemoryUpdateRepository,
    InMemoryThreadRepository,
    InMemoryMessageRepository,
)


class AllRepositories(ContextUnitOfWork[Any]):
    def __init__(self, transaction: Any) -> None:
        super().__init__(transaction)
        self._kinds: tuple[Any, ...] = _SQL if isinstance(transaction, SqlUnitOfWork) else _MEMORY

    @property
    def users(self) -> UserRepository:
        return self._transaction.repository(self._kinds[0])  # type: ignore[no-any-return]

    @property
    def sessions(self) -> SessionRepository:
        return self._transaction.repository(self._kinds[1])  # type: ignore[no-any-return]

    @property
    def login_attempts(self) -> LoginAttemptRepository:
        return self._transaction.repository(self._kinds[2])  # type: ignore[no-any-return]

    @property
    def todos(self) -> TodoRepository:
        return self._transaction.repository(self._kinds[3])  # type: ignore[no-any-return]

    @property
    def audit_log(self) -> AuditLog:
        return self._transaction.repository(self._kinds[4])  # type: ignore[no-any-return]

    @property
    def posts(self) -> PostRepository:
        return self._transaction.repository(self._kinds[5])  # type: ignore[no-any-return]

    @property
    def files(self) -> FileRepository:
        return self._transaction.repository(self._kinds[6])  # type: ignore[no-any-return]

    @property
    def campaigns(self) -> CampaignRepository:
        return self._transaction.repository(self._kinds[7])  # type: ignore[no-any-return]

    @property
    def deliveries(self) -> DeliveryRepository:
        return self._transaction.repository(self._kinds[8])  # type: ignore[no-any-return]

    @property
    def chats(self) -> TelegramChatRepository:
        return self._transaction.repository(self._kinds[9])  # type: ignore[no-any-return]

    @property
    def updates(self) -> UpdateRepository:
        return self._transaction.repository(self._kinds[10])  # type: ignore[no-any-return]

    @property
    def threads(self) -> ThreadRepository:
        return self._transaction.repository(self._kinds[11])  # type: ignore[no-any-return]

    @property
    def messages(self) -> MessageRepository:
        return self._transaction.repository(self._kinds[12])  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transaction, name)


def sql_unit(engine: AsyncEngine, **options: Any) -> AllRepositories:
    return AllRepositories(SqlUnitOfWork(engine, **options))


def memory_unit(database: InMemoryDatabase, **options: Any) -> AllRepositories:
    return AllRepositories(InMemoryUnitOfWork(database, **options))
