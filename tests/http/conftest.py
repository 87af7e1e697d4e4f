"""The Litestar app in-process (httpx over ASGI, on the test's own loop) against real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from dishka import AsyncContainer, Provider, Scope

from adapters.system.clock import FixedClock
from application.shared.ports import Clock
from entrypoints.container import build_container
from entrypoints.http.app import create_app, http_providers
from entrypoints.settings import Settings
from tests.support.builders import T0
from tests.support.settings import test_settings

API = "/api/v1"
PASSWORD = "a-sturdy-passphrase-42"


def fixed_clock_provider(clock: FixedClock) -> Provider:
    provider = Provider(scope=Scope.APP)
    provider.provide(lambda: clock, provides=Clock, override=True)
    return provider


@dataclass
class Api:
    """An HTTP client for the app, its clock, and shortcuts for the common steps."""

    client: httpx.AsyncClient
    clock: FixedClock
    settings: Settings
    container: AsyncContainer

    async def register(self, email: str = "ada@example.com", password: str = PASSWORD, **extra: Any) -> httpx.Response:
        return await self.client.post(f"{API}/auth/register", json={"email": email, "password": password, **extra})

    async def login(self, email: str = "ada@example.com", password: str = PASSWORD) -> httpx.Response:
        return await self.client.post(f"{API}/auth/login", json={"email": email, "password": password})

    async def tokens(self, email: str = "ada@example.com", password: str = PASSWORD) -> dict[str, Any]:
        """Register (if needed) and log in; the token pair."""
        await self.register(email, password)
        response = await self.login(email, password)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    @staticmethod
    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def running_api(
    settings: Settings,
    clock: FixedClock | None = None,
    *overrides: Provider,
    client: tuple[str, int] = ("203.0.113.7", 50000),
) -> AsyncIterator[Api]:
    """The app on ``settings`` with a fixed clock; ``overrides`` replace adapters
    (``override=True``), ``client`` is the peer address the app sees."""
    clock = clock or FixedClock(T0)
    container = build_container(settings, *http_providers(), fixed_clock_provider(clock), *overrides)
    app = create_app(settings, container)
    transport = httpx.ASGITransport(app=app, client=client)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Api(client=client, clock=clock, settings=settings, container=container)
    finally:
        await container.close()


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a module to change settings for its tests."""
    return {}


@pytest.fixture
async def api(pg_url: str, settings_overrides: dict[str, Any]) -> AsyncIterator[Api]:
    async with running_api(test_settings(pg_url, **settings_overrides)) as api:
        yield api


@pytest.fixture
async def openapi(api: Api) -> dict[str, Any]:
    """The served OpenAPI document."""
    response = await api.client.get("/openapi.json")
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document
