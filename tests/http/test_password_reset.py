"""POST /auth/password-reset and /auth/password-reset/confirm: the same 202 for every address,
a mailed single-use link valid 30 minutes, every session ended, throttled like a login."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from dishka import Scope
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.outbox import all_events
from adapters.system.clock import FixedClock
from application.identity.ports import IdentityUnitOfWork, LinkTokens
from application.jobs.handle_event import EventHandlers
from application.shared.email import EmailMessage
from domain.identity.link_token import LinkPurpose, LinkToken
from tests.http.conftest import API, PASSWORD, Api
from tests.http.helpers import assert_problem, assert_unauthorized, field_errors, me, refresh
from tests.http.mailroom import Mailroom, api_with_mailroom
from tests.support.builders import T0
from tests.support.settings import test_settings

RESET = f"{API}/auth/password-reset"
CONFIRM = f"{API}/auth/password-reset/confirm"
NEW = "a-brand-new-passphrase-7"
RESET_SUBJECT = "Reset your portside password"
INVALID_LINK = "urn:portside:problem:invalid-link"


@pytest.fixture
async def app(pg_url: str, settings_overrides: dict[str, Any]) -> AsyncIterator[tuple[Api, Mailroom]]:
    async with api_with_mailroom(test_settings(pg_url, **settings_overrides)) as app:
        yield app


async def ask(api: Api, email: str = "ada@example.com") -> httpx.Response:
    return await api.client.post(RESET, json={"email": email})


async def confirm(api: Api, token: str, new_password: str = NEW) -> httpx.Response:
    return await api.client.post(CONFIRM, json={"token": token, "new_password": new_password})


async def mailed_token(api: Api, mailroom: Mailroom, email: str = "ada@example.com") -> str:
    assert (await ask(api, email)).status_code == 202
    return await mailroom.one_token(RESET_SUBJECT)


def assert_invalid_link(response: httpx.Response) -> dict[str, Any]:
    body = assert_problem(response, 400)
    assert body["type"] == INVALID_LINK
    return body


async def test_known_and_unknown_addresses_get_the_same_202(app: tuple[Api, Mailroom]) -> None:
    api, mailroom = app
    await api.tokens()
    await mailroom.run_jobs()  # the welcome e-mail

    known, unknown = await ask(api), await ask(api, "nobody@example.com")

    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content
    assert known.headers["content-type"] == unknown.headers["content-type"] == "application/json"
    assert set(known.json()) == {"detail"}
    [message] = await mailroom.run_jobs()
    assert message.to == "ada@example.com"


async def test_the_whole_flow_swaps_the_password_and_ends_every_session(app: tuple[Api, Mailroom]) -> None:
    api, mailroom = app
    first, second = await api.tokens(), await api.tokens()
    grace = await api.tokens("grace@example.com")
    await mailroom.run_jobs()

    token = await mailed_token(api, mailroom)
    message = mailroom.sent[-1]
    assert f"http://127.0.0.1:8000/reset-password?token={token}" in message.text
    assert message.secret

    response = await confirm(api, token)

    assert response.status_code == 204, response.text
    assert response.content == b""
    assert_unauthorized(await api.login(password=PASSWORD))
    assert (await api.login(password=NEW)).status_code == 200
    for pair in (first, second):
        assert_unauthorized(await me(api, pair["access_token"]))
        assert_unauthorized(await refresh(api, pair["refresh_token"]))
    assert (await me(api, grace["access_token"])).status_code == 200


async def stored_reset_link(mailroom: Mailroom, token: str) -> LinkToken:
    """The stored row of a mailed reset token (white box: whether it was used)."""
    async with mailroom.jobs(scope=Scope.REQUEST) as scope:
        digest = (await scope.get(LinkTokens)).digest(token)
        async with await scope.get(IdentityUnitOfWork) as uow:
            stored = await uow.link_tokens.find(digest, LinkPurpose.PASSWORD_RESET)
    assert stored is not None
    return stored


async def test_used_unknown_and_expired_tokens_get_one_and_the_same_400(app: tuple[Api, Mailroom]) -> None:
    api, mailroom = app
    await api.register()
    await mailroom.run_jobs()
    used = await mailed_token(api, mailroom)
    assert (await confirm(api, used)).status_code == 204
    # Mailed after that reset, which retires the links mailed before it: this one is unused.
    expiring = await mailed_token(api, mailroom)
    assert (await stored_reset_link(mailroom, expiring)).used_at is None

    reused = assert_invalid_link(await confirm(api, used, "yet-another-passphrase-9"))
    unknown = assert_invalid_link(await confirm(api, "x" * 43))
    api.clock.advance(timedelta(minutes=30, seconds=1))
    expired = assert_invalid_link(await confirm(api, expiring, "yet-another-passphrase-9"))

    assert reused == unknown == expired
    assert used not in str(reused) and expiring not in str(expired)
    assert (await stored_reset_link(mailroom, expiring)).used_at is None  # refused for its age alone
    assert (await api.login(password=NEW)).status_code == 200


async def rerun_reset_jobs(mailroom: Mailroom) -> list[EmailMessage]:
    """Run the reset job of every reset request again, as an admin's retry would; what it sent."""
    before = len(mailroom.sent)
    for event in await all_events(await mailroom.jobs.get(AsyncEngine)):
        if event.name == "password_reset.requested":
            async with mailroom.jobs(scope=Scope.REQUEST) as job:
                for handler in (await job.get(EventHandlers)).of(event.name):
                    await handler(event)
    return mailroom.sent[before:]


async def test_a_reset_job_run_again_mails_its_link_only_while_the_link_is_usable(app: tuple[Api, Mailroom]) -> None:
    api, mailroom = app
    await api.register()
    await mailroom.run_jobs()
    token = await mailed_token(api, mailroom)
    first = mailroom.sent[-1]

    [again] = await rerun_reset_jobs(mailroom)  # after a crash: the same link, the same key
    assert (again.key, again.text) == (first.key, first.text)
    assert (await confirm(api, token)).status_code == 204
    assert await rerun_reset_jobs(mailroom) == []  # used: no dead link is mailed

    await mailed_token(api, mailroom)
    api.clock.advance(timedelta(minutes=30))
    assert await rerun_reset_jobs(mailroom) == []  # expired (and used): none either


async def test_a_token_still_works_just_before_thirty_minutes(app: tuple[Api, Mailroom]) -> None:
    api, mailroom = app
    await api.register()
    await mailroom.run_jobs()
    token = await mailed_token(api, mailroom)

    api.clock.advance(timedelta(minutes=30) - timedelta(seconds=1))

    assert (await confirm(api, token)).status_code == 204


async def test_a_password_against_the_policy_is_422_on_new_password_and_spares_the_token(
    app: tuple[Api, Mailroom],
) -> None:
    api, mailroom = app
    await api.register()
    await mailroom.run_jobs()
    token = await mailed_token(api, mailroom)

    for weak in ("short", "password123", "ADA@example.com", "y" * 129):
        response = await confirm(api, token, weak)
        assert set(field_errors(assert_problem(response, 422))) == {"new_password"}, weak
        assert weak not in response.text

    assert (await confirm(api, token)).status_code == 204


async def test_malformed_and_unknown_fields_are_422(app: tuple[Api, Mailroom]) -> None:
    api, _ = app
    bodies: list[tuple[str, dict[str, Any], str]] = [
        (RESET, {"email": "ada@example.com", "redirect": "https://evil.example"}, "redirect"),
        (RESET, {}, "email"),
        (RESET, {"email": "not-an-address"}, "email"),
        (CONFIRM, {"token": "t", "new_password": NEW, "logout": False}, "logout"),
        (CONFIRM, {"new_password": NEW}, "token"),
        (CONFIRM, {"token": "", "new_password": NEW}, "token"),
    ]
    for path, body, field in bodies:
        response = await api.client.post(path, json=body)
        assert field in field_errors(assert_problem(response, 422)), (path, body)


@pytest.fixture
async def on_either_database(any_database_url: str) -> AsyncIterator[tuple[Api, Mailroom]]:
    async with api_with_mailroom(test_settings(any_database_url), FixedClock(T0)) as app:
        yield app


async def test_of_concurrent_confirmations_with_one_token_exactly_one_is_204(
    on_either_database: tuple[Api, Mailroom],
) -> None:
    api, mailroom = on_either_database
    await api.register()
    await mailroom.run_jobs()
    token = await mailed_token(api, mailroom)
    passwords = [f"concurrent-passphrase-{n}" for n in range(8)]

    responses = await asyncio.gather(*(confirm(api, token, password) for password in passwords))

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [204] + [400] * (len(passwords) - 1)
    for response in responses:
        if response.status_code == 400:
            assert_invalid_link(response)
    [winner] = [p for p, r in zip(passwords, responses, strict=True) if r.status_code == 204]
    assert (await api.login(password=winner)).status_code == 200
    loser = next(p for p in passwords if p != winner)
    assert_unauthorized(await api.login(password=loser))


class TestThrottling:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"rate_limits": True, "lockout_threshold": 100}

    async def test_an_address_past_three_requests_gets_429_known_or_not(self, app: tuple[Api, Mailroom]) -> None:
        api, mailroom = app
        await api.register()
        for email in ("ada@example.com", "nobody@example.com"):
            assert [(await ask(api, email)).status_code for _ in range(3)] == [202] * 3
            throttled = await ask(api, email)
            assert_problem(throttled, 429)
            assert 1 <= int(throttled.headers["retry-after"]) <= 15 * 60
        await mailroom.run_jobs()
        assert [m.subject for m in mailroom.sent].count(RESET_SUBJECT) == 3

    async def test_a_client_past_ten_requests_a_minute_gets_429_whatever_the_address(
        self, app: tuple[Api, Mailroom]
    ) -> None:
        api, _ = app
        statuses = [(await ask(api, f"user{n}@example.com")).status_code for n in range(11)]
        assert statuses == [202] * 10 + [429]
        api.clock.advance(timedelta(minutes=1))
        assert (await ask(api, "user11@example.com")).status_code == 202


async def test_rate_limits_off_lifts_the_reset_throttles(app: tuple[Api, Mailroom]) -> None:
    api, _ = app
    assert [(await ask(api)).status_code for _ in range(12)] == [202] * 12
