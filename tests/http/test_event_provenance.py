"""Events committed by a request carry its request id and, once authenticated, its actor."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from application.shared.outbox import OutboxReader
from tests.http.conftest import API, PASSWORD, Api


async def _envelopes(api: Api) -> list[tuple[str, UUID | None, str | None]]:
    reader = await api.container.get(OutboxReader)
    batch = await reader.claim(100, timedelta(seconds=30))
    return [(e.name, e.actor_id, e.request_id) for e in batch.envelopes]


async def test_an_authenticated_change_names_its_actor_and_request(api: Api) -> None:
    tokens = await api.tokens()
    headers = {**api.bearer(tokens["access_token"]), "X-Request-ID": "create-todo-1"}
    created = await api.client.post(f"{API}/todos", json={"title": "write the note"}, headers=headers)
    assert created.status_code == 201, created.text
    me = (await api.client.get(f"{API}/auth/me", headers=api.bearer(tokens["access_token"]))).json()
    events = await _envelopes(api)
    assert events[-1] == ("todo.changed", UUID(me["id"]), "create-todo-1")


async def test_an_anonymous_request_names_no_actor_but_its_request(api: Api) -> None:
    response = await api.client.post(
        f"{API}/auth/register",
        json={"email": "eve@example.com", "password": PASSWORD},
        headers={"X-Request-ID": "register-1"},
    )
    assert response.status_code == 201, response.text
    assert await _envelopes(api) == [("user.registered", None, "register-1")]
