"""Refresh-token rotation under real concurrency: at most one winner, replays revoke the session."""

from __future__ import annotations

import asyncio

import pytest

from application.errors import UnauthenticatedError
from application.identity.log_in import LogInCommand
from application.identity.refresh_session import RefreshSessionCommand
from application.identity.register_user import RegisterUserCommand
from application.identity.session_tokens import TokenPair
from tests.support.builders import a_harness

PASSWORD = "a-sturdy-passphrase-42"


async def test_concurrent_refreshes_with_one_token_yield_at_most_one_pair(any_database_url: str) -> None:
    async with a_harness(database_url=any_database_url) as app:
        await app.register(RegisterUserCommand(email="ada@example.com", password=PASSWORD))
        pair = await app.log_in(LogInCommand(email="ada@example.com", password=PASSWORD))

        async def refresh(token: str) -> TokenPair:
            return await app.refresh(RefreshSessionCommand(token))

        results = await asyncio.gather(*(refresh(pair.refresh_token) for _ in range(8)), return_exceptions=True)
        winners = [r for r in results if isinstance(r, TokenPair)]
        # The first compare-and-set always wins (nothing can revoke before a CAS has succeeded).
        assert len(winners) == 1
        assert all(isinstance(r, (TokenPair, UnauthenticatedError)) for r in results)
        # Every loser was a replay, so the session is gone: the winner's new token is dead too.
        for winner in winners:
            with pytest.raises(UnauthenticatedError):
                await refresh(winner.refresh_token)
