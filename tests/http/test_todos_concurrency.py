"""No lost updates under real concurrency: PostgreSQL through the HTTP app."""

from __future__ import annotations

import asyncio

import httpx

from tests.http.conftest import API, Api
from tests.http.test_todos_crud import create, signed_in


async def test_fifty_patches_with_one_if_match_have_exactly_one_winner(api: Api) -> None:
    auth = await signed_in(api)
    url = f"{API}/todos/{(await create(api, auth)).json()['id']}"

    async def patch(n: int) -> httpx.Response:
        return await api.client.patch(url, json={"title": f"writer {n}"}, headers={**auth, "If-Match": '"1"'})

    responses = await asyncio.gather(*(patch(n) for n in range(50)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [412] * 49
    winner = next(r for r in responses if r.status_code == 200).json()
    final = (await api.client.get(url, headers=auth)).json()
    assert final["version"] == 2 and final["title"] == winner["title"]
    assert all(r.json()["current_version"] == 2 for r in responses if r.status_code == 412)


async def test_twenty_writers_that_retry_on_412_lose_nothing(api: Api) -> None:
    auth = await signed_in(api)
    url = f"{API}/todos/{(await create(api, auth)).json()['id']}"

    async def append(token: str) -> int:
        attempts = 0
        while True:
            attempts += 1
            current = await api.client.get(url, headers=auth)
            body, tag = current.json(), current.headers["ETag"]
            response = await api.client.patch(
                url, json={"description": body["description"] + token + ";"}, headers={**auth, "If-Match": tag}
            )
            if response.status_code == 200:
                return attempts
            assert response.status_code == 412, response.text

    tokens = [f"w{n:02d}" for n in range(20)]
    attempts = await asyncio.gather(*(append(token) for token in tokens))
    final = (await api.client.get(url, headers=auth)).json()
    assert sorted(filter(None, final["description"].split(";"))) == tokens
    assert final["version"] == 1 + 20
    assert max(attempts) > 1  # they really did collide


async def test_concurrent_toggles_without_if_match_all_apply(api: Api) -> None:
    auth = await signed_in(api)
    url = f"{API}/todos/{(await create(api, auth)).json()['id']}"
    responses = await asyncio.gather(*(api.client.patch(f"{url}/toggle", headers=auth) for _ in range(11)))
    assert all(r.status_code == 200 for r in responses)
    final = (await api.client.get(url, headers=auth)).json()
    assert (final["version"], final["completed"]) == (12, True)
