"""The periodic cleanup on memory, SQLite and PostgreSQL: what the retention rules let go
is deleted, and nothing that still matters."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from application.errors import UnauthenticatedError
from application.identity.log_in import LogInCommand
from application.identity.log_out import LogOutCommand
from application.jobs.handle_event import HandleEvent
from application.jobs.list_jobs import ListJobs, ListJobsCommand
from application.jobs.relay_outbox import RelayOutbox
from application.shared.housekeeping import CleanUp
from domain.identity.user import Role
from entrypoints.testing.harness import Harness, harness_settings
from tests.support.builders import T0

PASSWORD = "a-sturdy-passphrase-42"


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    return url


async def _relay_and_handle(app: Harness) -> int:
    async with app.use(RelayOutbox) as relay:
        await relay()
    handled = 0
    for envelope in await app.events():
        if envelope.name == "user.registered":
            async with app.use(HandleEvent) as handle:
                await handle(envelope)
            handled += 1
    return handled


async def test_cleanup_deletes_what_has_expired_and_keeps_the_rest(database_url: str) -> None:
    async with Harness(harness_settings(database_url, retention_days=7), start=T0) as app:
        ada = await app.sign_up("ada@example.com", PASSWORD)
        bob = await app.sign_up("bob@example.com", PASSWORD)
        await app.log_out(LogOutCommand(actor=bob))  # ended now: kept 7 days
        with pytest.raises(UnauthenticatedError):
            await app.log_in(LogInCommand(email="ada@example.com", password="wrong password here"))
        relayed = len(await app.events())
        assert await _relay_and_handle(app) == 2
        app.clock.advance(timedelta(days=8))
        await app.sign_up("cyd@example.com", PASSWORD)  # fresh: an unrelayed event, a live session
        async with app.use(CleanUp) as clean_up:
            report = await clean_up()
        assert report == {
            "sessions": 1,  # bob's, revoked 8 days ago; ada's is idle 8 of its 14 days, cyd's is new
            "login_failures": 1,
            "link_tokens": 0,
            "outbox": relayed,
            "handled_events": 2,
            "jobs": 2,
        }
        async with app.use(CleanUp) as clean_up:
            assert set((await clean_up()).values()) == {0}  # nothing left to delete
        assert len(await app.events()) == len([e for e in await app.events() if e.occurred_at > T0])
        async with app.use(ListJobs) as list_jobs:
            assert (await list_jobs(ListJobsCommand(actor=replace(ada, role=Role.ADMIN)))).total == 0
        sessions = await app.list_sessions(ada)
        assert len(sessions) == 1  # ada's live session survived
