"""POST /auth/verify-email and /auth/verify-email/resend: the link in the welcome e-mail sets
``email_verified`` once, within 48 hours; a bearer may ask for a fresh link, throttled."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.http.conftest import API, Api
from tests.http.helpers import assert_problem, assert_unauthorized, field_errors, me
from tests.http.mailroom import Mailroom, api_with_mailroom, token_of
from tests.support.settings import test_settings

VERIFY = f"{API}/auth/verify-email"
RESEND = f"{API}/auth/verify-email/resend"
WELCOME = "Welcome to portside"
CONFIRM_ADDRESS = "Confirm your e-mail address"
INVALID_LINK = "urn:portside:problem:invalid-link"


@pytest.fixture
async def app(pg_url: str, settings_overrides: dict[str, Any]) -> AsyncIterator[tuple[Api, Mailroom]]:
    async with api_with_mailroom(test_settings(pg_url, **settings_overrides)) as app:
        yield app


async def verify(api: Api, token: str) -> httpx.Response:
    return await api.client.post(VERIFY, json={"token": token})


async def resend(api: Api, access_token: str) -> httpx.Response:
    return await api.client.post(RESEND, headers=api.bearer(access_token))


async def verified(api: Api, access_token: str) -> bool:
    response = await me(api, access_token)
    assert response.status_code == 200, response.text
    return bool(response.json()["email_verified"])


async def test_the_welcome_link_verifies_the_address_once(app: tuple[Api, Mailroom]) -> None:
    api, mailroom = app
    registered = await api.register()
    assert registered.json()["email_verified"] is False
    tokens = await api.tokens()
    token = await mailroom.one_token(WELCOME)
    assert f"http://127.0.0.1:8000/verify-email?token={token}" in mailroom.sent[-1].text
    assert not await verified(api, tokens["access_token"])

    response = await verify(api, token)

    assert response.status_code == 204, response.text
    assert response.content == b""
    assert await verified(api, tokens["access_token"])
    again = assert_problem(await verify(api, token), 400)
    assert again["type"] == INVALID_LINK


async def test_a_link_48_hours_old_is_refused(app: tuple[Api, Mailroom]) -> None:
    api, mailroom = app
    await api.register()
    token = await mailroom.one_token(WELCOME)

    api.clock.advance(timedelta(hours=48))

    assert assert_problem(await verify(api, token), 400)["type"] == INVALID_LINK
    assert not await verified(api, (await api.tokens())["access_token"])


async def test_a_link_still_works_just_before_48_hours(app: tuple[Api, Mailroom]) -> None:
    api, mailroom = app
    await api.register()
    token = await mailroom.one_token(WELCOME)

    api.clock.advance(timedelta(hours=48) - timedelta(seconds=1))

    assert (await verify(api, token)).status_code == 204
    assert await verified(api, (await api.tokens())["access_token"])


async def test_unknown_and_reset_tokens_verify_nothing(app: tuple[Api, Mailroom]) -> None:
    api, mailroom = app
    tokens = await api.tokens()
    await mailroom.run_jobs()
    assert (await api.client.post(f"{API}/auth/password-reset", json={"email": "ada@example.com"})).status_code == 202
    reset = await mailroom.one_token("Reset your portside password")

    for token in ("x" * 43, reset):
        assert assert_problem(await verify(api, token), 400)["type"] == INVALID_LINK
    assert not await verified(api, tokens["access_token"])


async def test_resend_mails_a_fresh_link_that_verifies(app: tuple[Api, Mailroom]) -> None:
    api, mailroom = app
    tokens = await api.tokens()
    welcome = await mailroom.one_token(WELCOME)

    response = await resend(api, tokens["access_token"])

    assert response.status_code == 202, response.text
    assert set(response.json()) == {"detail"}
    [message] = await mailroom.run_jobs()
    assert (message.to, message.subject, message.secret) == ("ada@example.com", CONFIRM_ADDRESS, True)
    fresh = token_of(message)
    assert fresh != welcome
    assert (await verify(api, fresh)).status_code == 204
    assert await verified(api, tokens["access_token"])


async def test_resend_to_a_verified_address_is_202_and_sends_nothing(app: tuple[Api, Mailroom]) -> None:
    api, mailroom = app
    tokens = await api.tokens()
    welcome = await mailroom.one_token(WELCOME)
    before = await resend(api, tokens["access_token"])  # asked for while unverified
    assert (await verify(api, welcome)).status_code == 204
    assert await mailroom.run_jobs() == []  # verified since the request: no link goes

    after = await resend(api, tokens["access_token"])

    assert after.status_code == 202
    assert after.content == before.content
    assert await mailroom.run_jobs() == []


async def test_resend_needs_a_bearer(app: tuple[Api, Mailroom]) -> None:
    api, _ = app
    assert_unauthorized(await api.client.post(RESEND))
    assert_unauthorized(await resend(api, "not-a-token"))


async def test_malformed_and_unknown_fields_are_422(app: tuple[Api, Mailroom]) -> None:
    api, _ = app
    for body, field in (({"token": "t", "email": "ada@example.com"}, "email"), ({}, "token"), ({"token": ""}, "token")):
        assert field in field_errors(assert_problem(await api.client.post(VERIFY, json=body), 422)), body


class TestThrottling:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"rate_limits": True}

    async def test_an_account_past_three_resends_gets_429(self, app: tuple[Api, Mailroom]) -> None:
        api, mailroom = app
        ada, grace = await api.tokens(), await api.tokens("grace@example.com")
        assert [(await resend(api, ada["access_token"])).status_code for _ in range(3)] == [202] * 3

        throttled = await resend(api, ada["access_token"])

        assert_problem(throttled, 429)
        assert 1 <= int(throttled.headers["retry-after"]) <= 15 * 60
        assert (await resend(api, grace["access_token"])).status_code == 202
        sent = await mailroom.run_jobs()
        assert [m.subject for m in sent].count(CONFIRM_ADDRESS) == 4


async def test_the_link_operations_are_documented(app: tuple[Api, Mailroom]) -> None:
    api, _ = app
    document = (await api.client.get("/openapi.json")).json()
    paths = document["paths"]
    operations = {
        ("/auth/password-reset", "202", ("400", "422", "429")),
        ("/auth/password-reset/confirm", "204", ("400", "422")),
        ("/auth/verify-email", "204", ("400", "422")),
        ("/auth/verify-email/resend", "202", ("401", "429")),
    }
    for path, success, problems in operations:
        operation = paths[f"{API}{path}"]["post"]
        assert operation["description"].strip(), path
        assert success in operation["responses"], path
        for status in problems:
            assert set(operation["responses"][status]["content"]) == {"application/problem+json"}, (path, status)
        assert bool(operation.get("security")) is path.endswith("/resend"), path
    confirm = paths[f"{API}/auth/password-reset/confirm"]["post"]
    assert "expired" in confirm["responses"]["400"]["description"]
