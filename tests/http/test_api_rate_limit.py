"""The general API rate limit: per user or client address, IETF ``RateLimit`` headers, 429."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
from dishka import Provider, Scope
from prometheus_client import REGISTRY

from adapters.redis.pipelined import PipelinedRedis
from adapters.redis.rate_limiter import RedisRateLimiter
from application.shared.rate_limits import RateLimiter
from tests.http.conftest import API, Api, running_api
from tests.http.helpers import assert_problem
from tests.support.settings import test_settings

LIMITED = {"rate_limits": True, "api_rate_limit": (3, 60), "lockout_threshold": 100}
POLICY = '"api";q=3;w=60'
_QUOTA = re.compile(r'^"api";r=(\d+);t=(\d+)$')


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return LIMITED


def quota(response: httpx.Response) -> tuple[int, int]:
    """(remaining, seconds to reset) of the ``RateLimit`` header, after checking the policy."""
    assert response.headers["ratelimit-policy"] == POLICY
    match = _QUOTA.match(response.headers["ratelimit"])
    assert match, response.headers["ratelimit"]
    return int(match[1]), int(match[2])


def remaining(response: httpx.Response) -> int:
    return quota(response)[0]


async def signed_in(api: Api, email: str) -> dict[str, str]:
    """Bearer headers of a new account, and a new window (signing in costs the address two requests)."""
    tokens = await api.tokens(email)
    api.clock.advance(timedelta(seconds=60))
    return api.bearer(tokens["access_token"])


def forged(headers: dict[str, str]) -> dict[str, str]:
    """The same claims (the same ``sub``), signed with another key."""
    claims = jwt.decode(headers["Authorization"].removeprefix("Bearer "), options={"verify_signature": False})
    return Api.bearer(jwt.encode(claims, "another-secret-that-is-long-enough-for-hs256-000", algorithm="HS256"))


async def test_success_and_error_responses_carry_the_policy_and_the_quota_left(api: Api) -> None:
    ok = await api.client.get(f"{API}/posts")
    assert ok.status_code == 200, ok.text
    assert quota(ok) == (2, 60)
    api.clock.advance(timedelta(seconds=20, milliseconds=500))
    refused = await api.client.get(f"{API}/todos")  # anonymous: 401
    assert_problem(refused, 401)
    assert quota(refused) == (1, 40)  # 39.5 s left, rounded up


async def test_the_request_past_the_limit_gets_429_with_retry_after_and_a_problem(api: Api) -> None:
    for _ in range(3):
        assert (await api.client.get(f"{API}/posts")).status_code == 200
    api.clock.advance(timedelta(seconds=15))
    refused = await api.client.get(f"{API}/posts")
    body = assert_problem(refused, 429)
    assert body["type"] == "urn:portside:problem:rate-limited"
    assert quota(refused) == (0, 45)
    assert refused.headers["retry-after"] == "45"
    api.clock.advance(timedelta(seconds=45))
    assert remaining(await api.client.get(f"{API}/posts")) == 2  # a new window


def rejections(limit: str) -> float:
    return REGISTRY.get_sample_value("portside_rate_limit_rejections_total", {"limit": limit}) or 0.0


async def test_refusals_are_counted_by_limit(pg_url: str) -> None:
    async with running_api(test_settings(pg_url, **{**LIMITED, "login_throttle": 1})) as api:
        api_before, throttle_before = rejections("api"), rejections("throttle")
        assert (await api.login()).status_code == 401
        assert_problem(await api.login(), 429)  # the login throttle
        assert (rejections("api"), rejections("throttle")) == (api_before, throttle_before + 1)
        assert remaining(await api.client.get(f"{API}/posts")) == 0
        assert_problem(await api.client.get(f"{API}/posts"), 429)  # the fourth request of the address
        assert (rejections("api"), rejections("throttle")) == (api_before + 1, throttle_before + 1)


async def test_users_are_counted_apart_from_each_other_and_from_their_address(api: Api) -> None:
    ada, bob = await signed_in(api, "ada@example.com"), await signed_in(api, "bob@example.com")
    assert [remaining(await api.client.get(f"{API}/auth/me", headers=ada)) for _ in range(3)] == [2, 1, 0]
    assert_problem(await api.client.get(f"{API}/auth/me", headers=ada), 429)
    bobs = await api.client.get(f"{API}/auth/me", headers=bob)
    assert bobs.status_code == 200 and remaining(bobs) == 2
    anonymous = await api.client.get(f"{API}/posts")  # the same address as both
    assert anonymous.status_code == 200 and remaining(anonymous) == 2


async def test_a_forged_token_counts_against_the_address_not_the_user_it_names(api: Api) -> None:
    ada = await signed_in(api, "ada@example.com")
    for left in (2, 1, 0):
        response = await api.client.get(f"{API}/auth/me", headers=forged(ada))
        assert_problem(response, 401)
        assert remaining(response) == left
    assert_problem(await api.client.get(f"{API}/posts"), 429)  # the address is spent
    real = await api.client.get(f"{API}/auth/me", headers=ada)
    assert real.status_code == 200 and remaining(real) == 2  # ada's own quota is whole


async def test_health_the_docs_and_preflights_are_not_limited(api: Api) -> None:
    for path in ("/health", "/openapi.json", "/health", "/openapi.json"):
        response = await api.client.get(path)
        assert response.status_code == 200 and "ratelimit" not in response.headers
    for _ in range(4):
        assert (await api.client.options(f"{API}/posts")).status_code == 204
    assert remaining(await api.client.get(f"{API}/posts")) == 2


async def test_the_bot_webhook_is_not_limited(pg_url: str) -> None:
    async with running_api(test_settings(pg_url, telegram_webhook_secret="s3cret", **LIMITED)) as api:
        for _ in range(5):
            response = await api.client.post(
                f"{API}/bot/webhook", json={"update_id": 1}, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}
            )
            assert response.status_code == 401 and "ratelimit" not in response.headers
        assert remaining(await api.client.get(f"{API}/posts")) == 2


async def test_slashes_do_not_lead_around_the_limit(api: Api) -> None:
    for path in (f"{API}/posts", "/api//v1/posts", f"{API}/posts/"):
        assert (await api.client.get(path)).status_code == 200
    assert_problem(await api.client.get(f"{API}//posts"), 429)


async def test_rate_limits_off_removes_the_limit_and_its_headers(pg_url: str) -> None:
    async with running_api(test_settings(pg_url, **{**LIMITED, "rate_limits": False})) as api:
        for _ in range(6):
            response = await api.client.get(f"{API}/posts")
            assert response.status_code == 200
            assert "ratelimit" not in response.headers and "ratelimit-policy" not in response.headers


async def test_a_refusal_to_an_allowed_origin_is_readable_by_its_browser(pg_url: str) -> None:
    settings = test_settings(pg_url, cors_origins=("https://app.example",), **LIMITED)
    async with running_api(settings) as api:
        for _ in range(3):
            await api.client.get(f"{API}/posts")
        refused = await api.client.get(f"{API}/posts", headers={"Origin": "https://app.example"})
        assert_problem(refused, 429)
        assert refused.headers["access-control-allow-origin"] == "https://app.example"
        other = await api.client.get(f"{API}/posts", headers={"Origin": "https://evil.example"})
        assert other.status_code == 429 and "access-control-allow-origin" not in other.headers


def limiter_on(redis: PipelinedRedis, prefix: str) -> Provider:
    provider = Provider(scope=Scope.APP)
    provider.provide(lambda: RedisRateLimiter(redis, prefix=prefix), provides=RateLimiter, override=True)
    return provider


async def test_the_limit_holds_in_redis_across_processes(pg_url: str, redis_url: str) -> None:
    settings = test_settings(pg_url, redis_url=redis_url, **LIMITED)
    async with running_api(settings) as one, running_api(settings) as two:  # as two processes of one deployment
        assert [remaining(await one.client.get(f"{API}/posts")) for _ in range(2)] == [2, 1]
        assert remaining(await two.client.get(f"{API}/posts")) == 0
        refused = await one.client.get(f"{API}/posts")
        assert_problem(refused, 429)
        assert 1 <= int(refused.headers["retry-after"]) <= 60


async def test_without_an_answer_from_redis_requests_pass_without_quota_headers(pg_url: str) -> None:
    down = PipelinedRedis.from_url("redis://127.0.0.1:1/0", connect_timeout=0.2)  # nothing listens on port 1
    try:
        async with running_api(test_settings(pg_url, **LIMITED), None, limiter_on(down, "portside:rl:")) as api:
            for _ in range(5):
                response = await api.client.get(f"{API}/posts")
                assert response.status_code == 200 and "ratelimit" not in response.headers
    finally:
        await down.aclose()
