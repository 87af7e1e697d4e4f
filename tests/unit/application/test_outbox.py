"""Domain events reach the outbox with the commit of the use-case that recorded them, and
a use-case that fails writes none."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from uuid import UUID

import pytest

from application.errors import ApplicationError
from application.identity.change_password import ChangePasswordCommand
from application.identity.create_admin import CreateAdminCommand
from application.identity.log_out import LogOutCommand
from application.identity.refresh_session import RefreshSessionCommand
from application.identity.register_user import RegisterUserCommand
from application.identity.revoke_session import RevokeSessionCommand
from application.identity.session_tokens import TokenPair
from application.shared.actor import Actor
from domain.identity.ids import SessionId
from domain.shared.errors import DomainError
from entrypoints.testing.harness import Harness
from tests.support.builders import T0
from tests.unit.application.flows import (
    EMAIL,
    NEW_PASSWORD,
    OTHER_EMAIL,
    PASSWORD,
    WRONG_PASSWORD,
    Recorded,
    log_in,
    recorded,
    session_revoked,
    signed_in,
)


async def test_each_use_case_commits_its_events_in_order_with_the_clock_time(app: Harness) -> None:
    first, actor = await signed_in(app)
    app.clock.advance(timedelta(minutes=1))
    second = await log_in(app)
    app.clock.advance(timedelta(minutes=1))
    await app.change_password(ChangePasswordCommand(actor, PASSWORD, NEW_PASSWORD))
    app.clock.advance(timedelta(minutes=1))
    await app.log_out(LogOutCommand(actor=actor))

    user_id, minute = str(actor.user_id), timedelta(minutes=1)

    def started(at: datetime, session_id: SessionId) -> Recorded:
        return ("session.started", at, "session", str(session_id), {"session_id": str(session_id), "user_id": user_id})

    assert await recorded(app) == [
        ("user.registered", T0, "user", user_id, {"user_id": user_id, "email": EMAIL, "role": "user"}),
        started(T0, first.session_id),
        started(T0 + minute, second.session_id),
        ("user.password_changed", T0 + 2 * minute, "user", user_id, {"user_id": user_id}),
        session_revoked(T0 + 2 * minute, actor.user_id, second.session_id, "password_changed"),
        session_revoked(T0 + 3 * minute, actor.user_id, first.session_id, "logout"),
    ]


async def test_refresh_and_reads_record_no_events(app: Harness) -> None:
    pair, actor = await signed_in(app)
    before = await app.events()
    await app.refresh(RefreshSessionCommand(refresh_token=pair.refresh_token))
    await app.authenticate(pair.access_token)
    await app.current_user(actor)
    await app.list_sessions(actor)
    assert await app.events() == before


Scenario = Callable[[Harness, TokenPair, Actor], Awaitable[object]]
FAILING: dict[str, Scenario] = {
    "duplicate registration": lambda app, pair, actor: app.register(RegisterUserCommand(EMAIL, NEW_PASSWORD)),
    "weak registration": lambda app, pair, actor: app.register(RegisterUserCommand(OTHER_EMAIL, "short")),
    "wrong password": lambda app, pair, actor: log_in(app, password=WRONG_PASSWORD),
    "unknown email": lambda app, pair, actor: log_in(app, email=OTHER_EMAIL),
    "unknown refresh token": lambda app, pair, actor: app.refresh(RefreshSessionCommand("unknown")),
    "wrong current password": lambda app, pair, actor: app.change_password(
        ChangePasswordCommand(actor, WRONG_PASSWORD, NEW_PASSWORD)
    ),
    "weak new password": lambda app, pair, actor: app.change_password(ChangePasswordCommand(actor, PASSWORD, "short")),
    "unknown session": lambda app, pair, actor: app.revoke_session(
        RevokeSessionCommand(Actor(actor.user_id, actor.session_id, actor.role), SessionId(UUID(int=1)))
    ),
    "weak admin password": lambda app, pair, actor: app.create_admin(CreateAdminCommand(EMAIL, "short")),
}


@pytest.mark.parametrize("scenario", FAILING.values(), ids=FAILING.keys())
async def test_failed_use_case_writes_nothing_to_the_outbox(app: Harness, scenario: Scenario) -> None:
    pair, actor = await signed_in(app)
    before = await app.events()
    with pytest.raises((ApplicationError, DomainError)):
        await scenario(app, pair, actor)
    assert await app.events() == before
