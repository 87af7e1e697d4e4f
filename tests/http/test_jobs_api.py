"""``/api/v1/jobs``: admins list job records and retry dead letters; nobody else may."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any, ClassVar
from uuid import uuid4

import pytest
from dishka import Scope
from litestar import Request
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.outbox import all_events
from application.identity.create_admin import CreateAdmin, CreateAdminCommand
from application.jobs.handle_event import EventHandlers, HandleEvent
from application.jobs.relay_outbox import RelayOutbox
from application.shared.events import Envelope
from domain.jobs.job import Backoff
from entrypoints.testing.harness import overriding
from tests.http.conftest import API, PASSWORD, Api, running_api
from tests.http.helpers import assert_problem, assert_unauthorized
from tests.support.settings import test_settings

ADMIN = "root@example.com"


class Broken:
    name: ClassVar[str] = "test.broken"
    events: ClassVar[frozenset[str]] = frozenset({"user.registered"})

    async def __call__(self, envelope: Envelope) -> None:
        raise RuntimeError("the mail relay is on fire")


@pytest.fixture
async def api(pg_url: str) -> AsyncIterator[Api]:
    async with running_api(
        test_settings(pg_url),
        None,
        overriding(EventHandlers, EventHandlers((Broken(),))),  # type: ignore[arg-type]
        overriding(Backoff, Backoff(max_attempts=1)),
    ) as api:
        yield api


async def _background(api: Api, kind: Any) -> Any:
    async with api.container(scope=Scope.REQUEST, context={Request: None}) as request:
        return await (await request.get(kind))()


async def _admin_token(api: Api) -> str:
    async with api.container(scope=Scope.REQUEST, context={Request: None}) as request:
        await (await request.get(CreateAdmin))(CreateAdminCommand(email=ADMIN, password=PASSWORD))
    return str((await api.tokens(ADMIN))["access_token"])


async def _dead_letter(api: Api) -> dict[str, Any]:
    """Register a user, relay, and run the job once: its only attempt fails."""
    assert (await api.register("ada@example.com")).status_code == 201
    await _background(api, RelayOutbox)
    [envelope] = [e for e in await _events(api) if e.payload.get("email") == "ada@example.com"]
    async with api.container(scope=Scope.REQUEST, context={Request: None}) as request:
        outcome = await (await request.get(HandleEvent))(envelope)
    assert outcome.done
    return {"id": str(envelope.event_id)}


async def _events(api: Api) -> list[Envelope]:
    return await all_events(await api.container.get(AsyncEngine))


async def test_admins_list_jobs_newest_first_and_filter_dead_letters(api: Api) -> None:
    token = await _admin_token(api)
    dead = await _dead_letter(api)
    api.clock.advance(timedelta(seconds=1))
    assert (await api.register("bob@example.com")).status_code == 201
    await _background(api, RelayOutbox)
    response = await api.client.get(f"{API}/jobs", headers=api.bearer(token))
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(job["status"], job["attempts"]) for job in body["items"]] == [("queued", 0), ("failed", 1), ("queued", 0)]
    assert (body["total"], body["page"], body["size"], body["pages"]) == (3, 1, 20, 1)
    failed = (await api.client.get(f"{API}/jobs", params={"status": "failed"}, headers=api.bearer(token))).json()
    [job] = failed["items"]
    assert set(job) == {"id", "name", "status", "attempts", "last_error", "enqueued_at", "started_at", "finished_at"}
    assert (job["id"], job["name"], job["last_error"]) == (
        dead["id"],
        "user.registered",
        "test.broken: RuntimeError: the mail relay is on fire",
    )
    assert job["finished_at"].endswith("Z")


async def test_a_dead_letter_is_queued_again_once(api: Api) -> None:
    token = await _admin_token(api)
    dead = await _dead_letter(api)
    retried = await api.client.post(f"{API}/jobs/{dead['id']}/retry", headers=api.bearer(token))
    assert retried.status_code == 202, retried.text
    assert (retried.json()["status"], retried.json()["attempts"], retried.json()["finished_at"]) == ("queued", 0, None)
    again = await api.client.post(f"{API}/jobs/{dead['id']}/retry", headers=api.bearer(token))
    assert assert_problem(again, 409)["type"].endswith("illegal-transition")
    missing = await api.client.post(f"{API}/jobs/{uuid4()}/retry", headers=api.bearer(token))
    assert_problem(missing, 404)


async def test_only_admins_may_see_or_retry_jobs(api: Api) -> None:
    await _admin_token(api)
    dead = await _dead_letter(api)
    user = (await api.tokens("ada@example.com"))["access_token"]
    assert_problem(await api.client.get(f"{API}/jobs", headers=api.bearer(user)), 403)
    assert_problem(await api.client.post(f"{API}/jobs/{dead['id']}/retry", headers=api.bearer(user)), 403)
    assert_unauthorized(await api.client.get(f"{API}/jobs"))
    assert_unauthorized(await api.client.post(f"{API}/jobs/{dead['id']}/retry"))


async def test_bad_listing_parameters_are_422(api: Api) -> None:
    token = await _admin_token(api)
    for params in ({"status": "exploded"}, {"page": "0"}, {"size": "101"}):
        assert_problem(await api.client.get(f"{API}/jobs", params=params, headers=api.bearer(token)), 422)
