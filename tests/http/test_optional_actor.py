"""``Actor | None``: the caller of an operation anonymous callers may use too.

No route takes it yet (posts will), so a tiny app built here mounts one next to the real
auth routes, on the real container (``memory://``): no header is an anonymous caller; any
``Authorization`` header that proves nothing is 401, as on the protected routes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from dishka.integrations.litestar import FromDishka, inject
from litestar import Litestar, Router, get

from adapters.system.clock import FixedClock
from application.shared.actor import Actor
from application.shared.events import Provenance
from entrypoints.container import build_container
from entrypoints.http.app import http_providers
from entrypoints.http.identity.controllers import AuthController
from entrypoints.http.problems import exception_handlers
from entrypoints.http.request_container import setup_lazy_dishka
from entrypoints.settings import MEMORY_DATABASE_URL, Settings
from tests.http.conftest import API, PASSWORD, fixed_clock_provider

START = datetime(2026, 1, 1, tzinfo=UTC)
SETTINGS = Settings(
    database_url=MEMORY_DATABASE_URL,
    jwt_secret="optional-actor-test-secret-long-enough-for-hs256",
    argon2_memory_kib=1024,
    argon2_iterations=1,
    rate_limits=False,
    access_log=False,
)


@get("/whoami")
@inject
async def whoami(caller: FromDishka[Actor | None], provenance: FromDishka[Provenance]) -> dict[str, str | None]:
    return {
        "caller": None if caller is None else str(caller.user_id),
        "provenance": None if provenance.actor_id is None else str(provenance.actor_id),
    }


@get("/must-sign-in")
@inject
async def must_sign_in(caller: FromDishka[Actor]) -> dict[str, str]:
    return {"caller": str(caller.user_id)}


@dataclass
class TinyApi:
    client: httpx.AsyncClient
    clock: FixedClock

    async def sign_in(self, email: str = "ada@example.com") -> tuple[str, str]:
        """A new account's user id and access token."""
        registered = await self.client.post(f"{API}/auth/register", json={"email": email, "password": PASSWORD})
        assert registered.status_code == 201, registered.text
        login = await self.client.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        return registered.json()["id"], login.json()["access_token"]

    async def whoami(self, headers: dict[str, str] | None = None) -> httpx.Response:
        return await self.client.get("/whoami", headers=headers)


@pytest.fixture
async def api() -> AsyncIterator[TinyApi]:
    clock = FixedClock(START)
    container = build_container(SETTINGS, *http_providers(), fixed_clock_provider(clock))
    app = Litestar(
        route_handlers=[Router(path=API, route_handlers=[AuthController]), whoami, must_sign_in],
        exception_handlers=exception_handlers(),
        logging_config=None,
        debug=False,
    )
    setup_lazy_dishka(container, app)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            yield TinyApi(client=client, clock=clock)
    finally:
        await container.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_unauthenticated(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    body: dict[str, Any] = response.json()
    assert body["type"] == "urn:portside:problem:unauthenticated"


async def test_no_authorization_header_is_an_anonymous_caller(api: TinyApi) -> None:
    response = await api.whoami()

    assert response.status_code == 200, response.text
    assert response.json() == {"caller": None, "provenance": None}


async def test_a_valid_token_is_the_caller_and_the_provenance_of_the_request(api: TinyApi) -> None:
    user_id, token = await api.sign_in()

    response = await api.whoami(bearer(token))

    assert response.status_code == 200, response.text
    assert response.json() == {"caller": user_id, "provenance": user_id}


@pytest.mark.parametrize(
    "authorization",
    ["Bearer not-a-jwt", "Bearer ", "Basic YWRhOnB3", "", "bearer", "Token abc"],
    ids=["garbage", "empty-token", "basic", "empty-header", "no-token", "other-scheme"],
)
async def test_a_present_authorization_header_that_proves_nothing_is_401(api: TinyApi, authorization: str) -> None:
    assert_unauthenticated(await api.whoami({"Authorization": authorization}))


async def test_an_expired_token_is_401_not_anonymous(api: TinyApi) -> None:
    _, token = await api.sign_in()
    api.clock.advance(timedelta(seconds=SETTINGS.access_token_ttl + 60))  # past any leeway

    assert_unauthenticated(await api.whoami(bearer(token)))


async def test_a_revoked_token_is_401_not_anonymous(api: TinyApi) -> None:
    _, token = await api.sign_in()
    logout = await api.client.post(f"{API}/auth/logout", headers=bearer(token))
    assert logout.status_code == 204, logout.text

    assert_unauthenticated(await api.whoami(bearer(token)))


async def test_a_token_for_someone_else_is_not_mixed_up(api: TinyApi) -> None:
    ada, ada_token = await api.sign_in("ada@example.com")
    bob, bob_token = await api.sign_in("bob@example.com")

    assert (await api.whoami(bearer(ada_token))).json()["caller"] == ada
    assert (await api.whoami(bearer(bob_token))).json()["caller"] == bob


async def test_the_required_actor_still_refuses_an_anonymous_caller(api: TinyApi) -> None:
    user_id, token = await api.sign_in()

    assert_unauthenticated(await api.client.get("/must-sign-in"))
    assert_unauthenticated(await api.client.get("/must-sign-in", headers={"Authorization": "Bearer nope"}))
    signed_in = await api.client.get("/must-sign-in", headers=bearer(token))
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json() == {"caller": user_id}
