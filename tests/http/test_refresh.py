"""POST /auth/refresh: rotation, reuse detection, concurrent replays, idle and absolute expiry."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from adapters.sql.tables import refresh_tokens, sessions
from tests.http.conftest import API, Api
from tests.http.helpers import assert_problem, assert_token_pair, assert_unauthorized, claims_of, me, refresh, run_sql

REFRESH = f"{API}/auth/refresh"


async def test_refresh_returns_a_new_pair_for_the_same_session(api: Api) -> None:
    old = await api.tokens()
    api.clock.advance(timedelta(minutes=5))

    response = await refresh(api, old["refresh_token"])

    new = assert_token_pair(response)
    assert new["refresh_token"] != old["refresh_token"]
    assert new["access_token"] != old["access_token"]
    old_claims, new_claims = claims_of(old["access_token"]), claims_of(new["access_token"])
    assert new_claims["sid"] == old_claims["sid"]
    assert new_claims["sub"] == old_claims["sub"]
    assert new_claims["jti"] != old_claims["jti"]
    assert new_claims["iat"] == old_claims["iat"] + 300
    assert (await me(api, new["access_token"])).status_code == 200


async def test_rotated_tokens_keep_working_in_a_chain(api: Api) -> None:
    token = (await api.tokens())["refresh_token"]
    for _ in range(3):
        response = await refresh(api, token)
        assert response.status_code == 200, response.text
        token = response.json()["refresh_token"]


async def test_reusing_a_rotated_token_revokes_the_whole_session(api: Api) -> None:
    first = await api.tokens()
    second = (await refresh(api, first["refresh_token"])).json()
    third = (await refresh(api, second["refresh_token"])).json()

    assert_unauthorized(await refresh(api, first["refresh_token"]))

    assert_unauthorized(await refresh(api, third["refresh_token"]))
    assert_unauthorized(await me(api, third["access_token"]))
    assert_unauthorized(await refresh(api, second["refresh_token"]))


async def test_reuse_in_one_session_leaves_the_users_other_sessions_alone(api: Api) -> None:
    stolen = await api.tokens()
    other = await api.tokens()
    await refresh(api, stolen["refresh_token"])

    assert_unauthorized(await refresh(api, stolen["refresh_token"]))

    assert (await me(api, other["access_token"])).status_code == 200
    assert (await refresh(api, other["refresh_token"])).status_code == 200


async def test_concurrent_refreshes_with_one_token_let_at_most_one_win_and_revoke_the_session(api: Api) -> None:
    tokens = await api.tokens()

    responses = await asyncio.gather(*(refresh(api, tokens["refresh_token"]) for _ in range(5)))

    statuses = [response.status_code for response in responses]
    assert statuses.count(200) <= 1, statuses
    assert set(statuses) <= {200, 401}, statuses
    for response in responses:
        if response.status_code == 401:
            assert_unauthorized(response)
    assert_unauthorized(await me(api, tokens["access_token"]))
    for response in responses:
        if response.status_code == 200:
            winner = response.json()
            assert_unauthorized(await refresh(api, winner["refresh_token"]))
            assert_unauthorized(await me(api, winner["access_token"]))


@pytest.mark.parametrize(
    ("idle", "status"), [(timedelta(days=14) - timedelta(seconds=1), 200), (timedelta(days=14), 401)]
)
async def test_refresh_token_expires_after_14_days_idle(api: Api, idle: timedelta, status: int) -> None:
    tokens = await api.tokens()
    api.clock.advance(idle)
    assert (await refresh(api, tokens["refresh_token"])).status_code == status


async def test_each_refresh_restarts_the_idle_period(api: Api) -> None:
    token = (await api.tokens())["refresh_token"]
    api.clock.advance(timedelta(days=10))
    token = (await refresh(api, token)).json()["refresh_token"]
    api.clock.advance(timedelta(days=10))
    assert (await refresh(api, token)).status_code == 200


async def test_refresh_token_expires_after_30_days_even_when_used_regularly(api: Api) -> None:
    token = (await api.tokens())["refresh_token"]
    for _ in range(2):  # day 13, day 26
        api.clock.advance(timedelta(days=13))
        response = await refresh(api, token)
        assert response.status_code == 200, response.text
        token = response.json()["refresh_token"]
    api.clock.advance(timedelta(days=3, hours=23))  # day 29 and 23 hours: still inside
    response = await refresh(api, token)
    assert response.status_code == 200, response.text
    token = response.json()["refresh_token"]

    api.clock.advance(timedelta(hours=1))  # day 30

    assert_unauthorized(await refresh(api, token))


async def test_unknown_refresh_token_is_401(api: Api) -> None:
    await api.tokens()
    for token in ("garbage", "x" * 512, "eyJhbGciOiJIUzI1NiJ9.e30.abc"):
        assert_unauthorized(await refresh(api, token))


async def test_the_access_token_is_not_a_refresh_token(api: Api) -> None:
    tokens = await api.tokens()
    assert_unauthorized(await refresh(api, tokens["access_token"]))


async def test_an_invalid_refresh_body_is_a_422_problem(api: Api) -> None:
    bodies: list[object] = [{}, {"refresh_token": ""}, {"refresh_token": 1}, {"refresh_token": "t", "x": 1}, []]
    for body in bodies:
        assert_problem(await api.client.post(REFRESH, json=body), 422)


async def test_refresh_after_logout_is_401(api: Api) -> None:
    tokens = await api.tokens()
    await api.client.post(f"{API}/auth/logout", headers=api.bearer(tokens["access_token"]))
    assert_unauthorized(await refresh(api, tokens["refresh_token"]))


async def test_refresh_tokens_are_stored_only_as_hashes(api: Api) -> None:
    first = await api.tokens()
    second = (await refresh(api, first["refresh_token"])).json()

    token_rows, session_rows = await run_sql(api, select(refresh_tokens), select(sessions))

    stored = repr(token_rows) + repr(session_rows)
    for raw in (first["refresh_token"], second["refresh_token"]):
        assert raw not in stored
    assert hashlib.sha256(second["refresh_token"].encode()).hexdigest() in stored
