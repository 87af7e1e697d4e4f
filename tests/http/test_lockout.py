"""Lockout: failed logins for one e-mail lock it, for every way of logging in, with or without an account."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.http.conftest import API, PASSWORD, Api, running_api
from tests.http.helpers import assert_problem, assert_unauthorized
from tests.support.settings import test_settings

THRESHOLD = 3
WINDOW = 60
DURATION = 300
WRONG = "not-the-passphrase"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"lockout_threshold": THRESHOLD, "lockout_window": WINDOW, "lockout_duration": DURATION}


async def form_login(api: Api, username: str, password: str) -> httpx.Response:
    return await api.client.post(f"{API}/auth/token", data={"username": username, "password": password})


async def fail(api: Api, email: str = "ada@example.com", times: int = THRESHOLD) -> None:
    for _ in range(times):
        assert_unauthorized(await api.login(email, WRONG))


def assert_locked(response: httpx.Response, retry_after: int) -> dict[str, Any]:
    body = assert_problem(response, 429)
    assert response.headers["retry-after"] == str(retry_after)
    return body


async def test_threshold_failures_lock_the_email_even_for_the_right_password(api: Api) -> None:
    await api.register()
    await fail(api)

    response = await api.login()

    body = assert_locked(response, DURATION)
    assert "access_token" not in body


async def test_fewer_failures_than_the_threshold_do_not_lock(api: Api) -> None:
    await api.register()
    await fail(api, times=THRESHOLD - 1)
    assert (await api.login()).status_code == 200


async def test_retry_after_counts_down_from_the_failure_that_completed_the_run(api: Api) -> None:
    await api.register()
    await fail(api, times=THRESHOLD - 1)
    api.clock.advance(timedelta(seconds=20))
    await fail(api, times=1)
    api.clock.advance(timedelta(seconds=100))

    assert_locked(await api.login(), DURATION - 100)


async def test_the_lock_ends_after_its_duration_and_the_right_password_works_again(api: Api) -> None:
    await api.register()
    await fail(api)
    api.clock.advance(timedelta(seconds=DURATION - 1))
    assert_locked(await api.login(), 1)

    api.clock.advance(timedelta(seconds=1))

    assert (await api.login()).status_code == 200


async def test_attempts_while_locked_do_not_extend_the_lock(api: Api) -> None:
    await api.register()
    await fail(api)
    for _ in range(THRESHOLD + 1):
        api.clock.advance(timedelta(seconds=30))
        assert (await api.login("ada@example.com", WRONG)).status_code == 429

    api.clock.advance(timedelta(seconds=DURATION - 30 * (THRESHOLD + 1)))

    assert (await api.login()).status_code == 200


async def test_failures_spread_wider_than_the_window_do_not_lock(api: Api) -> None:
    await api.register()
    for _ in range(THRESHOLD):
        await fail(api, times=1)
        api.clock.advance(timedelta(seconds=WINDOW // (THRESHOLD - 1) + 1))

    assert (await api.login()).status_code == 200


async def test_a_successful_login_forgets_earlier_failures(api: Api) -> None:
    await api.register()
    await fail(api, times=THRESHOLD - 1)
    assert (await api.login()).status_code == 200
    await fail(api, times=THRESHOLD - 1)

    assert (await api.login()).status_code == 200


async def test_failures_count_across_spellings_of_one_email(api: Api) -> None:
    await api.register("ada@example.com")
    for spelling in ["ADA@example.com", "  ada@EXAMPLE.com ", "ada@example.com"][:THRESHOLD]:
        assert_unauthorized(await api.login(spelling, WRONG))

    assert_locked(await api.login("Ada@Example.Com"), DURATION)


async def test_an_email_without_account_locks_the_same_way(api: Api) -> None:
    """No enumeration: a locked unknown e-mail answers exactly like a locked account."""
    await api.register("ada@example.com")
    await fail(api, "ada@example.com")
    await fail(api, "ghost@example.com")

    existing = await api.login("ada@example.com", PASSWORD)
    unknown = await api.login("ghost@example.com", PASSWORD)

    assert_locked(existing, DURATION)
    assert_locked(unknown, DURATION)
    assert existing.content == unknown.content


async def test_lockout_is_per_email(api: Api) -> None:
    await api.register("ada@example.com")
    await api.register("grace@example.com")
    await fail(api, "ada@example.com")

    assert (await api.login("grace@example.com")).status_code == 200


async def test_token_endpoint_counts_towards_and_obeys_the_login_lockout(api: Api) -> None:
    await api.register()
    await fail(api, times=THRESHOLD - 1)
    assert_unauthorized(await form_login(api, "ada@example.com", WRONG))

    assert_locked(await api.login(), DURATION)
    assert_locked(await form_login(api, "ada@example.com", PASSWORD), DURATION)


async def test_login_failures_lock_the_token_endpoint(api: Api) -> None:
    await api.register()
    for _ in range(THRESHOLD):
        assert_unauthorized(await form_login(api, "ADA@example.com", WRONG))

    assert_locked(await form_login(api, "ada@example.com", PASSWORD), DURATION)
    assert_locked(await api.login(), DURATION)


async def test_the_lock_is_kept_in_the_database_and_holds_in_another_process(api: Api, pg_url: str) -> None:
    await api.register()
    await fail(api)

    settings = test_settings(pg_url, lockout_threshold=THRESHOLD, lockout_window=WINDOW, lockout_duration=DURATION)
    async with running_api(settings, api.clock) as other:
        assert_locked(await other.login(), DURATION)
