"""Per-client throttling of password checks, shared by /auth/login and /auth/token."""

from __future__ import annotations

from typing import Any

import pytest

from tests.http.conftest import API, PASSWORD, Api


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"rate_limits": True, "login_throttle": 3, "lockout_threshold": 100}


async def test_a_client_past_the_limit_gets_429_whatever_the_email(api: Api) -> None:
    await api.register()
    statuses = [(await api.login(f"user{n}@example.com", "wrong-password")).status_code for n in range(3)]
    assert statuses == [401, 401, 401]
    throttled = await api.login()  # right credentials, but this client used up its attempts
    assert throttled.status_code == 429
    assert throttled.headers["content-type"] == "application/problem+json"
    assert 1 <= int(throttled.headers["Retry-After"]) <= 60
    form = await api.client.post(f"{API}/auth/token", data={"username": "ada@example.com", "password": PASSWORD})
    assert form.status_code == 429


async def test_rate_limits_off_leaves_only_the_lockout(pg_url: str) -> None:
    from tests.http.conftest import running_api
    from tests.support.settings import test_settings

    async with running_api(test_settings(pg_url, rate_limits=False, login_throttle=1)) as api:
        await api.register()
        statuses = [(await api.login()).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 200]
