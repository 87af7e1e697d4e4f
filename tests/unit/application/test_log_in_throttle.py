"""The per-client throttle on ``LogIn``: too many password checks from one address are refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from adapters.memory.identity import IdentityTables
from application.errors import RateLimitedError, UnauthenticatedError
from application.identity.log_in import LogInCommand
from application.identity.session_tokens import ClientInfo, TokenPair
from entrypoints.testing.harness import Harness
from tests.support.builders import with_settings
from tests.unit.application.flows import EMAIL, OTHER_EMAIL, PASSWORD, WRONG_PASSWORD, failures, register

LIMIT = 3
WINDOW = timedelta(minutes=1)  # PORTSIDE_LOGIN_THROTTLE counts per minute
IP = "198.51.100.4"


@pytest.fixture
def settings_changes() -> dict[str, Any]:
    return {"rate_limits": True, "login_throttle": LIMIT}


async def attempt(app: Harness, *, ip: str | None = IP, email: str = EMAIL, password: str = PASSWORD) -> TokenPair:
    return await app.log_in(LogInCommand(email=email, password=password, client=ClientInfo(ip=ip)))


async def test_attempts_past_the_limit_from_one_address_are_refused_until_the_window_ends(app: Harness) -> None:
    await register(app)
    for _ in range(LIMIT):
        await attempt(app)
    app.clock.advance(timedelta(seconds=20))
    with pytest.raises(RateLimitedError) as caught:
        await attempt(app)
    assert caught.value.retry_after == 40


async def test_failed_and_successful_attempts_count_alike(app: Harness) -> None:
    await register(app)
    with pytest.raises(UnauthenticatedError):
        await attempt(app, password=WRONG_PASSWORD)
    await attempt(app)
    with pytest.raises(UnauthenticatedError):
        await attempt(app, email=OTHER_EMAIL)
    with pytest.raises(RateLimitedError):
        await attempt(app)


async def test_a_throttled_attempt_checks_no_password_and_records_no_failure(app: Harness) -> None:
    await register(app)
    for _ in range(LIMIT):
        await attempt(app)
    sessions = dict(app.database.tables(IdentityTables).sessions)
    with pytest.raises(RateLimitedError):
        await attempt(app, password=WRONG_PASSWORD)
    assert failures(app) == {}
    assert app.database.tables(IdentityTables).sessions == sessions


async def test_other_addresses_are_not_throttled(app: Harness) -> None:
    await register(app)
    for _ in range(LIMIT):
        await attempt(app)
    await attempt(app, ip="203.0.113.9")


@pytest.mark.parametrize("unknown", [None, "", "not-an-address", "999.1.1.1"])
async def test_requests_with_no_usable_address_share_one_bucket(app: Harness, unknown: str | None) -> None:
    await register(app)
    for ip in [None, "garbage", "unknown"][:LIMIT]:
        await attempt(app, ip=ip)
    with pytest.raises(RateLimitedError):
        await attempt(app, ip=unknown)
    await attempt(app)  # a real address still has its own bucket


async def test_ipv6_addresses_count_by_their_64_prefix(app: Harness) -> None:
    await register(app)
    for suffix in range(LIMIT):
        await attempt(app, ip=f"2001:db8:1:2::{suffix + 1}")
    with pytest.raises(RateLimitedError):
        await attempt(app, ip="2001:db8:1:2:ffff:ffff:ffff:ffff")
    await attempt(app, ip="2001:db8:1:3::1")  # the next /64 is another client


async def test_an_ipv4_mapped_ipv6_address_counts_as_the_ipv4_address(app: Harness) -> None:
    await register(app)
    for _ in range(LIMIT):
        await attempt(app, ip=IP)
    with pytest.raises(RateLimitedError):
        await attempt(app, ip=f"::ffff:{IP}")


async def test_the_count_starts_over_in_the_next_window(app: Harness) -> None:
    await register(app)
    for _ in range(LIMIT):
        await attempt(app)
    app.clock.advance(WINDOW)
    for _ in range(LIMIT):
        await attempt(app)


@with_settings(rate_limits=False)
async def test_without_a_throttle_rule_one_address_may_try_as_often_as_the_lockout_allows(app: Harness) -> None:
    await register(app)
    for _ in range(10):
        await attempt(app)


async def test_code_in_this_process_passing_no_client_is_not_throttled(app: Harness) -> None:
    await register(app)
    for _ in range(LIMIT * 3):
        await app.log_in(LogInCommand(email=EMAIL, password=PASSWORD))  # an embedding service, no client
    with pytest.raises(RateLimitedError):
        for _ in range(LIMIT + 1):
            await attempt(app, ip=None)  # a network client whose address is unknown is
