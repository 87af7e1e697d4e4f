"""An audit entry stands or falls with its change: a unit of work that fails after the
entry was written (here: its commit) leaves neither the change nor the entry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import pytest
from dishka import Provider, Scope

from application.errors import UnauthenticatedError
from application.identity.create_admin import CreateAdminCommand
from application.identity.delete_user import DeleteUser, DeleteUserCommand
from application.identity.log_in import LogInCommand
from application.identity.ports import IdentityUnitOfWork
from application.identity.register_user import RegisterUserCommand
from application.identity.update_user import UpdateUser, UpdateUserCommand
from application.shared.audit import AuditFilters
from domain.identity.user import Role
from domain.shared.pagination import PageRequest
from entrypoints.testing.harness import Harness, harness_settings
from tests.support.builders import T0

PASSWORD = "a-sturdy-passphrase-42"


class _CommitFailed(RuntimeError):
    pass


@dataclass
class _Switch:
    armed: bool = False
    let_through: int = 0
    """Commits that still succeed while armed: the first transactions of a multi-step use-case."""


class _FailingCommit:
    """The unit of work, except that ``commit()`` raises while the switch is armed."""

    def __init__(self, inner: IdentityUnitOfWork, switch: _Switch) -> None:
        self._inner = inner
        self._switch = switch

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def __aenter__(self) -> _FailingCommit:
        await self._inner.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._inner.__aexit__(exc_type, exc, tb)

    async def commit(self) -> None:
        if self._switch.armed:
            if self._switch.let_through == 0:
                raise _CommitFailed()
            self._switch.let_through -= 1
        await self._inner.commit()


def _failing(switch: _Switch) -> Provider:
    provider = Provider(scope=Scope.REQUEST)

    def wrap(uow: IdentityUnitOfWork) -> IdentityUnitOfWork:
        return _FailingCommit(uow, switch)

    provider.decorate(wrap, provides=IdentityUnitOfWork)
    return provider


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    return url


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[tuple[Harness, _Switch]]:
    switch = _Switch()
    async with Harness(harness_settings(database_url), _failing(switch), start=T0) as harness:
        yield harness, switch


async def _types(app: Harness) -> list[str]:
    async with app.use(IdentityUnitOfWork) as uow, uow:
        page = await uow.audit_log.page(AuditFilters(), PageRequest(size=100))
    return [entry.type for entry in reversed(page.items)]


async def test_a_change_that_rolls_back_leaves_no_entry(app: tuple[Harness, _Switch]) -> None:
    harness, switch = app
    ada = await harness.sign_up("ada@example.com", PASSWORD)
    await harness.create_admin(CreateAdminCommand(email="root@example.com", password=PASSWORD))
    pair = await harness.log_in(LogInCommand(email="root@example.com", password=PASSWORD))
    root = await harness.authenticate(pair.access_token)
    before = await _types(harness)
    # The clock stands still, so entries tie on time and their order among ties is the ids'.
    assert sorted(before) == sorted(["user.registered", "login.succeeded", "admin.created", "login.succeeded"])

    switch.armed = True
    with pytest.raises(_CommitFailed):
        await harness.register(RegisterUserCommand(email="bob@example.com", password=PASSWORD))
    switch.let_through = 1  # the attempt's reservation; then the failure with its entry fails
    with pytest.raises(_CommitFailed):
        await harness.log_in(LogInCommand(email="ada@example.com", password="not the password at all"))
    assert switch.let_through == 0
    async with harness.use(UpdateUser) as update_user:
        with pytest.raises(_CommitFailed):
            await update_user(UpdateUserCommand(actor=root, user_id=ada.user_id, role=Role.ADMIN))
    async with harness.use(DeleteUser) as delete_user:
        with pytest.raises(_CommitFailed):
            await delete_user(DeleteUserCommand(actor=root, user_id=ada.user_id))
    switch.armed = False

    assert await _types(harness) == before  # no entry without its change ...
    assert (await harness.current_user(ada)).role is Role.USER  # ... and no change either
    with pytest.raises(UnauthenticatedError):  # bob was never registered
        await harness.log_in(LogInCommand(email="bob@example.com", password=PASSWORD))
    assert sorted(await _types(harness)) == sorted([*before, "login.failed"])  # ties again: as a set
