"""Operations marked ``READS_FIRST`` check the caller's session with their use-case's first
read, or with the inserts of one that only inserts: one statement on PostgreSQL instead of
two. A session that ended still gets 401 and nothing else from every one of them, and
changes nothing, on every storage, in this process and in another."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.handlers import HTTPRouteHandler
from sqlalchemy.ext.asyncio import AsyncEngine

from entrypoints.http.auth import READS_FIRST
from entrypoints.http.todos.controllers import TodoController
from tests.http.conftest import API, Api, running_api
from tests.http.helpers import assert_unauthorized, logout
from tests.http.test_password_reset_same_work import StatementLog
from tests.support.settings import test_settings

# Each marked operation, as (method, path, body); {id} is an existing todo's.
MARKED = [
    ("GET", "/auth/me", None),
    ("GET", "/todos", None),
    ("GET", "/todos/{id}", None),
    ("POST", "/todos", {"title": "created"}),
    ("PUT", "/todos/{id}", {"title": "replaced", "description": "", "completed": True, "due_at": None}),
    ("PATCH", "/todos/{id}", {"title": "patched"}),
    ("PATCH", "/todos/{id}/toggle", None),
    ("DELETE", "/todos/{id}", None),
]


@pytest.fixture(params=["postgres", "sqlite", "memory"])
def database_url(request: pytest.FixtureRequest) -> str:
    fixture = {"postgres": "pg_url", "sqlite": "sqlite_url"}.get(request.param)
    return str(request.getfixturevalue(fixture)) if fixture else "memory://"


@pytest.fixture
async def any_api(database_url: str) -> AsyncIterator[Api]:
    async with running_api(test_settings(database_url)) as api:
        yield api


def test_the_marked_operations_are_the_ones_tested_here() -> None:
    """A newly marked operation joins ``MARKED``, so the revocation tests below cover it."""
    marked = {
        (method, f"/todos{path}".rstrip("/"))
        for route in vars(TodoController).values()
        if isinstance(route, HTTPRouteHandler) and route.opt.get("session_check") == READS_FIRST["session_check"]
        for method in route.http_methods
        for path in route.paths
    }
    tested = {(method, path.replace("{id}", "{todo_id:uuid}")) for method, path, _ in MARKED}
    assert marked == {entry for entry in tested if entry[1].startswith("/todos")}


async def _call(api: Api, method: str, path: str, body: Any, todo_id: str, token: str) -> Any:
    headers = {**api.bearer(token), "If-Match": "*"}
    url = f"{API}{path.replace('{id}', todo_id)}"
    return await api.client.request(method, url, headers=headers, json=body)


@pytest.mark.parametrize(("method", "path", "body"), MARKED, ids=[f"{m} {p}" for m, p, _ in MARKED])
async def test_an_ended_session_gets_401_and_changes_nothing(any_api: Api, method: str, path: str, body: Any) -> None:
    api = any_api
    token = (await api.tokens())["access_token"]
    created = await api.client.post(f"{API}/todos", json={"title": "mine"}, headers=api.bearer(token))
    assert created.status_code == 201, created.text
    todo_id = created.json()["id"]
    assert (await _call(api, method, path, body, todo_id, token)).status_code < 300  # live: served
    fresh = (await api.tokens())["access_token"]
    await api.client.post(f"{API}/todos", json={"title": "again"}, headers=api.bearer(fresh))
    second = (await api.client.get(f"{API}/todos", headers=api.bearer(fresh))).json()["items"][0]["id"]
    before = (await api.client.get(f"{API}/todos/{second}", headers=api.bearer(fresh))).json()
    listed = (await api.client.get(f"{API}/todos", headers=api.bearer(token))).json()["total"]

    assert (await logout(api, fresh)).status_code == 204

    assert_unauthorized(await _call(api, method, path, body, second, fresh))
    assert_unauthorized(await _call(api, method, path, body, "00000000-0000-7000-8000-000000000000", fresh))
    after = await api.client.get(f"{API}/todos/{second}", headers=api.bearer(token))
    assert after.status_code == 200 and after.json() == before
    assert (await api.client.get(f"{API}/todos", headers=api.bearer(token))).json()["total"] == listed


async def test_another_processs_logout_is_seen_by_a_marked_read(api: Api, pg_url: str) -> None:
    tokens = await api.tokens()
    headers = api.bearer(tokens["access_token"])
    todo_id = (await api.client.post(f"{API}/todos", json={"title": "t"}, headers=headers)).json()["id"]
    async with running_api(test_settings(pg_url), api.clock) as other:
        assert (await other.client.get(f"{API}/todos/{todo_id}", headers=headers)).status_code == 200

        assert (await logout(api, tokens["access_token"])).status_code == 204

        assert_unauthorized(await other.client.get(f"{API}/todos/{todo_id}", headers=headers))


async def _logged() -> None:
    for _ in range(3):  # asyncpg calls its query loggers with call_soon
        await asyncio.sleep(0)


async def test_on_postgres_a_marked_read_is_one_statement(api: Api) -> None:
    tokens = await api.tokens()
    headers = api.bearer(tokens["access_token"])
    todo_id = (await api.client.post(f"{API}/todos", json={"title": "t"}, headers=headers)).json()["id"]
    log = StatementLog(await api.container.get(AsyncEngine))

    for path in (f"/todos/{todo_id}", "/todos", "/auth/me"):
        log.statements.clear()
        assert (await api.client.get(f"{API}{path}", headers=headers)).status_code == 200
        await _logged()
        assert len(log.statements) == 1, (path, log.statements)
        assert "EXISTS" in log.statements[0]

    log.statements.clear()  # a use-case that only inserts: the check rides on its inserts
    assert (await api.client.post(f"{API}/todos", json={"title": "u"}, headers=headers)).status_code == 201
    await _logged()
    assert len(log.statements) == 1, log.statements
    assert "INSERT INTO todos" in log.statements[0] and "EXISTS" in log.statements[0]

    log.statements.clear()  # an unmarked operation still asks for the session on its own
    assert (await api.client.get(f"{API}/auth/sessions", headers=headers)).status_code == 200
    await _logged()
    assert "FROM sessions JOIN users" in log.statements[0] and "EXISTS" not in log.statements[0]
