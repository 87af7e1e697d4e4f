"""``Harness``: the whole app as ``build_container`` wires it, driven one use-case call at a time.

Each call opens a REQUEST scope (one unit of work, as an HTTP request or a job gets), takes
the use-case from it, awaits it and closes the scope. The clock is a ``FixedClock`` that moves
only when told to. State lives in memory by default (``memory://``); give any database URL,
migrated beforehand, and the same checks run against SQL. Extra dishka providers come last
and may replace adapters (``override=True``, or ``overriding``), as an embedder's wiring does.

This module needs nothing beyond portside; ``entrypoints.testing.strategies`` and
``entrypoints.testing.machines`` need hypothesis (``pip install portside[testing]``).
"""

from __future__ import annotations

import atexit
import dataclasses
import functools
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self, TypeVar, overload

from dishka import AsyncContainer, Provider, Scope
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.memory.database import InMemoryDatabase
from adapters.sql.outbox import all_events
from adapters.system.clock import FixedClock
from application.identity.authenticate_access_token import AuthenticateAccessToken
from application.identity.change_password import ChangePassword, ChangePasswordCommand
from application.identity.create_admin import CreateAdmin, CreateAdminCommand, CreateAdminResult
from application.identity.delete_user import DeleteUser, DeleteUserCommand
from application.identity.get_current_user import GetCurrentUser
from application.identity.get_user import GetUser, GetUserCommand, UserReading
from application.identity.list_sessions import ListSessions, SessionView
from application.identity.list_users import ListUsers, ListUsersCommand
from application.identity.log_in import LogIn, LogInCommand
from application.identity.log_out import LogOut, LogOutCommand
from application.identity.refresh_session import RefreshSession, RefreshSessionCommand
from application.identity.register_user import RegisterUser, RegisterUserCommand
from application.identity.revoke_session import RevokeSession, RevokeSessionCommand
from application.identity.session_tokens import TokenPair
from application.identity.update_profile import UpdateProfile, UpdateProfileCommand
from application.identity.update_user import UpdateUser, UpdateUserCommand
from application.shared.actor import Actor
from application.shared.events import Envelope
from application.shared.ports import Clock
from application.todos.create_todo import CreateTodo, CreateTodoCommand
from application.todos.delete_todo import DeleteTodo, DeleteTodoCommand
from application.todos.get_todo import GetTodo
from application.todos.list_todos import ListTodos, ListTodosCommand
from application.todos.replace_todo import ReplaceTodo, ReplaceTodoCommand
from application.todos.toggle_todo import ToggleTodo, ToggleTodoCommand
from application.todos.update_todo import UpdateTodo, UpdateTodoCommand
from domain.identity.user import User
from domain.shared.pagination import Page
from domain.todos.todo import Todo, TodoId
from entrypoints.container import build_container
from entrypoints.providers.storage import Storage
from entrypoints.settings import MEMORY_DATABASE_URL, Settings

__all__ = ["START", "Harness", "harness_settings", "overriding"]

_T = TypeVar("_T")

START = datetime(2026, 1, 1, tzinfo=UTC)
"""Where a harness's clock starts unless told otherwise."""

_SECRET = "portside-testing-harness-secret-not-for-production"


@functools.cache
def _scratch_uploads() -> str:
    directory = tempfile.mkdtemp(prefix="portside-uploads-")
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return directory


def harness_settings(database_url: str = MEMORY_DATABASE_URL, **changes: Any) -> Settings:
    """Settings for checks, with ``changes`` (any ``Settings`` field) on top.

    Hashing is argon2id at 1 MiB and one pass (fast, and far too weak for production), the
    JWT secret is fixed, the per-client rate limits and the access log are off, and uploads
    go to a scratch directory of this process (removed when it exits), not ``./var``.
    """
    base = Settings(
        upload_dir=_scratch_uploads(),
        database_url=database_url,
        jwt_secret=_SECRET,
        argon2_memory_kib=1024,
        argon2_iterations=1,
        rate_limits=False,
        access_log=False,
        db_pool_size=5,
    )
    return dataclasses.replace(base, **changes)


def overriding(kind: Any, value: object) -> Provider:
    """A provider putting ``value`` in place of what the app provides as ``kind`` (a port,
    most often: ``PasswordHasher``, ``Clock``), process-wide."""
    provider = Provider(scope=Scope.APP)
    provider.provide(lambda: value, provides=kind, override=True)
    return provider


class Harness:
    """The app on ``settings`` (default: ``harness_settings()``) with ``providers`` last.

    ``clock`` is the app's ``Clock``, starting at ``start``. On ``memory://`` the harness
    makes the app's ``InMemoryDatabase`` itself, so ``database`` is at hand without awaiting;
    pass another harness's ``database`` to share its committed state (two processes on one
    database). Close the harness (``async with``, or ``close()``) to close its container:
    engines, hashing threads.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *providers: Provider,
        start: datetime = START,
        database: InMemoryDatabase | None = None,
    ) -> None:
        self.settings = settings or harness_settings()
        self.clock = FixedClock(start)
        self._memory = Storage.of(self.settings) is Storage.MEMORY
        if database is not None and not self._memory:
            raise ValueError("a shared in-memory database needs PORTSIDE_DATABASE_URL=memory://")
        self._database = (database or InMemoryDatabase()) if self._memory else None
        pinned = [overriding(Clock, self.clock)]
        if self._database is not None:
            pinned.append(overriding(InMemoryDatabase, self._database))
        self.container: AsyncContainer = build_container(self.settings, *pinned, *providers)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self.container.close()

    @property
    def database(self) -> InMemoryDatabase:
        """The committed in-memory state (``memory://`` only), for white-box checks."""
        if self._database is None:
            raise RuntimeError(f"{self.settings.database_url!r} is not memory://: there is no in-memory database")
        return self._database

    async def events(self) -> list[Envelope]:
        """Every event committed so far, oldest first, as the outbox holds it."""
        if self._database is not None:
            return self._database.events()
        return await all_events(await self.get(AsyncEngine))

    # Ports are Protocols, which mypy will not bind to ``type[T]``: as dishka's ``get``
    # does, they fall back to ``Any``.
    @overload
    async def get(self, kind: type[_T]) -> _T: ...
    @overload
    async def get(self, kind: Any) -> Any: ...
    async def get(self, kind: Any) -> Any:
        """A process-wide (APP-scoped) service: ``PasswordHasher``, ``TokenIssuer``, ..."""
        return await self.container.get(kind)

    @overload
    def use(self, kind: type[_T]) -> AbstractAsyncContextManager[_T]: ...
    @overload
    def use(self, kind: Any) -> AbstractAsyncContextManager[Any]: ...
    def use(self, kind: Any) -> AbstractAsyncContextManager[Any]:
        """``kind`` (a use-case, a unit of work) from a REQUEST scope open for the block."""
        return self._in_request(kind)

    @asynccontextmanager
    async def _in_request(self, kind: Any) -> AsyncIterator[Any]:
        async with self.container(scope=Scope.REQUEST) as request:
            yield await request.get(kind)

    async def sign_up(self, email: str, password: str) -> Actor:
        """Register, log in and authenticate: the actor of a new account's first session."""
        await self.register(RegisterUserCommand(email=email, password=password))
        pair = await self.log_in(LogInCommand(email=email, password=password))
        return await self.authenticate(pair.access_token)

    # ------------------------------------------------------------------ identity

    async def register(self, command: RegisterUserCommand) -> User:
        async with self.use(RegisterUser) as register:
            return await register(command)

    async def log_in(self, command: LogInCommand) -> TokenPair:
        async with self.use(LogIn) as log_in:
            return await log_in(command)

    async def refresh(self, command: RefreshSessionCommand) -> TokenPair:
        async with self.use(RefreshSession) as refresh:
            return await refresh(command)

    async def log_out(self, command: LogOutCommand) -> None:
        async with self.use(LogOut) as log_out:
            await log_out(command)

    async def authenticate(self, access_token: str) -> Actor:
        async with self.use(AuthenticateAccessToken) as authenticate:
            return await authenticate(access_token)

    async def current_user(self, actor: Actor) -> User:
        async with self.use(GetCurrentUser) as current_user:
            return await current_user(actor)

    async def change_password(self, command: ChangePasswordCommand) -> None:
        async with self.use(ChangePassword) as change_password:
            await change_password(command)

    async def list_sessions(self, actor: Actor) -> list[SessionView]:
        async with self.use(ListSessions) as list_sessions:
            return await list_sessions(actor)

    async def revoke_session(self, command: RevokeSessionCommand) -> None:
        async with self.use(RevokeSession) as revoke_session:
            await revoke_session(command)

    async def create_admin(self, command: CreateAdminCommand) -> CreateAdminResult:
        async with self.use(CreateAdmin) as create_admin:
            return await create_admin(command)

    # ------------------------------------------------------------------ todos

    async def create_todo(self, command: CreateTodoCommand) -> Todo:
        async with self.use(CreateTodo) as create_todo:
            return await create_todo(command)

    async def get_todo(self, actor: Actor, todo_id: TodoId) -> Todo:
        async with self.use(GetTodo) as get_todo:
            return await get_todo(actor, todo_id)

    async def list_todos(self, command: ListTodosCommand) -> Page[Todo]:
        async with self.use(ListTodos) as list_todos:
            return await list_todos(command)

    async def update_todo(self, command: UpdateTodoCommand) -> Todo:
        async with self.use(UpdateTodo) as update_todo:
            return await update_todo(command)

    async def replace_todo(self, command: ReplaceTodoCommand) -> Todo:
        async with self.use(ReplaceTodo) as replace_todo:
            return await replace_todo(command)

    async def toggle_todo(self, command: ToggleTodoCommand) -> Todo:
        async with self.use(ToggleTodo) as toggle_todo:
            return await toggle_todo(command)

    async def delete_todo(self, command: DeleteTodoCommand) -> None:
        async with self.use(DeleteTodo) as delete_todo:
            await delete_todo(command)

    # ------------------------------------------------------------------ users

    async def list_users(self, command: ListUsersCommand) -> Page[User]:
        async with self.use(ListUsers) as list_users:
            return await list_users(command)

    async def get_user(self, command: GetUserCommand) -> UserReading:
        async with self.use(GetUser) as get_user:
            return await get_user(command)

    async def update_profile(self, command: UpdateProfileCommand) -> User:
        async with self.use(UpdateProfile) as update_profile:
            return await update_profile(command)

    async def update_user(self, command: UpdateUserCommand) -> User:
        async with self.use(UpdateUser) as update_user:
            return await update_user(command)

    async def delete_user(self, command: DeleteUserCommand) -> None:
        async with self.use(DeleteUser) as delete_user:
            await delete_user(command)
