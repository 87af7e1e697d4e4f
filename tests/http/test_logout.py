"""POST /auth/logout: the session ends at once, in every process; `all_sessions` ends them all."""

from __future__ import annotations

import pytest

from tests.http.conftest import API, Api, running_api
from tests.http.helpers import assert_problem, assert_unauthorized, logout, me, refresh
from tests.support.settings import test_settings

LOGOUT = f"{API}/auth/logout"


async def test_logout_without_a_body_is_204_and_ends_the_session_at_once(api: Api) -> None:
    tokens = await api.tokens()
    assert (await me(api, tokens["access_token"])).status_code == 200

    response = await api.client.post(LOGOUT, headers=api.bearer(tokens["access_token"]))

    assert response.status_code == 204, response.text
    assert response.content == b""
    assert_unauthorized(await me(api, tokens["access_token"]))
    assert_unauthorized(await refresh(api, tokens["refresh_token"]))


@pytest.mark.parametrize("body", [{}, {"all_sessions": False}])
async def test_logout_of_one_session_leaves_the_users_other_sessions_alone(api: Api, body: dict[str, bool]) -> None:
    laptop = await api.tokens()
    phone = await api.tokens()

    assert (await logout(api, laptop["access_token"], body)).status_code == 204

    assert_unauthorized(await me(api, laptop["access_token"]))
    assert (await me(api, phone["access_token"])).status_code == 200
    assert (await refresh(api, phone["refresh_token"])).status_code == 200


async def test_logout_of_all_sessions_ends_every_session_of_the_user_only(api: Api) -> None:
    laptop = await api.tokens("ada@example.com")
    phone = await api.tokens("ada@example.com")
    grace = await api.tokens("grace@example.com")

    assert (await logout(api, laptop["access_token"], {"all_sessions": True})).status_code == 204

    for tokens in (laptop, phone):
        assert_unauthorized(await me(api, tokens["access_token"]))
        assert_unauthorized(await refresh(api, tokens["refresh_token"]))
    assert (await me(api, grace["access_token"])).status_code == 200
    assert (await refresh(api, grace["refresh_token"])).status_code == 200


async def test_the_user_can_log_in_again_after_logging_out_everywhere(api: Api) -> None:
    tokens = await api.tokens()
    await logout(api, tokens["access_token"], {"all_sessions": True})

    fresh = await api.tokens()

    assert (await me(api, fresh["access_token"])).status_code == 200


async def test_logout_needs_a_token(api: Api) -> None:
    assert_unauthorized(await api.client.post(LOGOUT))


async def test_a_token_of_an_ended_session_cannot_log_out_again(api: Api) -> None:
    tokens = await api.tokens()
    await logout(api, tokens["access_token"])
    assert_unauthorized(await logout(api, tokens["access_token"]))


async def test_an_invalid_logout_body_is_422_and_logs_nobody_out(api: Api) -> None:
    tokens = await api.tokens()
    other = await api.tokens()

    for body in ({"all_sessions": True, "everywhere": True}, {"all_sessions": "yes"}, []):
        response = await api.client.post(LOGOUT, headers=api.bearer(tokens["access_token"]), json=body)
        assert_problem(response, 422)

    assert (await me(api, tokens["access_token"])).status_code == 200
    assert (await me(api, other["access_token"])).status_code == 200


async def test_malformed_logout_json_is_a_400_problem(api: Api) -> None:
    tokens = await api.tokens()
    headers = {**api.bearer(tokens["access_token"]), "content-type": "application/json"}
    assert_problem(await api.client.post(LOGOUT, headers=headers, content=b'{"all_sessions": '), 400)


async def test_logout_is_seen_at_once_by_another_process(api: Api, pg_url: str) -> None:
    tokens = await api.tokens()
    async with running_api(test_settings(pg_url), api.clock) as other:
        assert (await me(other, tokens["access_token"])).status_code == 200

        assert (await logout(api, tokens["access_token"])).status_code == 204

        assert_unauthorized(await me(other, tokens["access_token"]))
