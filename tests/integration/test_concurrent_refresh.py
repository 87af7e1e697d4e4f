"""Refresh-token rotation under real concurrency: at most one winner, replays revoke the session."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from application.errors import UnauthenticatedError
from application.identity.log_in import LogIn, LogInCommand
from application.identity.refresh_session import RefreshSession, RefreshSessionCommand
from application.identity.register_user import RegisterUser, RegisterUserCommand
from application.identity.session_tokens import TokenPair
from tests.support.builders import IdentityApp
from tests.support.units import sql_unit

PASSWORD = "a-sturdy-passphrase-42"


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> AsyncEngine:
    engine: AsyncEngine = request.getfixturevalue(f"{'pg' if request.param == 'postgres' else 'sqlite'}_engine")
    return engine


async def _logged_in(app: IdentityApp, engine: AsyncEngine) -> TokenPair:
    await RegisterUser(sql_unit(engine), app.hasher, app.throttles, app.clock, app.ids)(
        RegisterUserCommand(email="ada@example.com", password=PASSWORD)
    )
    log_in = LogIn(sql_unit(engine), app.hasher, app.tokens, app.guard, app.clock)
    return await log_in(LogInCommand(email="ada@example.com", password=PASSWORD))


async def test_concurrent_refreshes_with_one_token_yield_at_most_one_pair(engine: AsyncEngine) -> None:
    app = IdentityApp()
    pair = await _logged_in(app, engine)

    async def refresh(token: str) -> TokenPair:
        return await RefreshSession(sql_unit(engine), app.tokens, app.clock)(RefreshSessionCommand(token))

    results = await asyncio.gather(*(refresh(pair.refresh_token) for _ in range(8)), return_exceptions=True)
    winners = [r for r in results if isinstance(r, TokenPair)]
    # The first compare-and-set always wins (nothing can revoke before a CAS has succeeded).
    assert len(winners) == 1
    assert all(isinstance(r, (TokenPair, UnauthenticatedError)) for r in results)
    # Every loser was a replay, so the session is gone: the winner's new token is dead too.
    for winner in winners:
        with pytest.raises(UnauthenticatedError):
            await refresh(winner.refresh_token)
