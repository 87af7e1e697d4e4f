"""What a served request allocates is freed by reference counting: nothing of it waits for
the cycle collector. The server raises the collector's thresholds on this
(``entrypoints.http.asgi``); a reference cycle that holds a request's scope would keep the
scope and everything reachable from it (headers, the route's state, the request's container)
alive until a collection, which then runs far more often and over far more."""

from __future__ import annotations

from typing import Any

from tests.http.conftest import API, Api
from tests.support.garbage import left_for_the_collector


def _scopes(garbage: list[Any]) -> list[str]:
    return [f"{o.get('method')} {o.get('path')}" for o in garbage if isinstance(o, dict) and o.get("type") == "http"]


async def test_the_common_requests_leave_no_scope_for_the_cycle_collector(api: Api) -> None:
    auth = api.bearer((await api.tokens())["access_token"])

    async def requests() -> None:
        created = await api.client.post(f"{API}/todos", json={"title": "t"}, headers=auth)
        assert created.status_code == 201, created.text
        todo = f"{API}/todos/{created.json()['id']}"
        statuses = [
            (await api.client.get(todo, headers=auth)).status_code,
            (await api.client.patch(todo, json={"completed": True}, headers=auth | {"If-Match": "*"})).status_code,
            (await api.client.get(f"{API}/todos?size=20", headers=auth)).status_code,
            (await api.client.get(f"{API}/auth/me", headers=auth)).status_code,
            (await api.client.get("/health")).status_code,
            (await api.client.get(f"{API}/todos/00000000-0000-0000-0000-000000000000", headers=auth)).status_code,
            (await api.client.get(f"{API}/auth/me")).status_code,
        ]
        assert statuses == [200, 200, 200, 200, 200, 404, 401]

    assert _scopes(await left_for_the_collector(requests)) == []
