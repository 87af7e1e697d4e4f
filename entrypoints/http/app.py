"""``create_app``: the Litestar application factory."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import cast

from dishka import AsyncContainer
from dishka.integrations.litestar import LitestarProvider, setup_dishka
from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.types import ASGIApp

from entrypoints.container import build_container
from entrypoints.http.auth import HttpProvider
from entrypoints.http.health import HealthController
from entrypoints.http.identity.controllers import AuthController
from entrypoints.http.media_types import require_declared_media_type
from entrypoints.http.openapi import openapi_config, openapi_json
from entrypoints.http.problems import exception_handlers
from entrypoints.http.request_context import RequestContext
from entrypoints.http.todos.controllers import TodoController
from entrypoints.settings import Settings

__all__ = ["create_app", "http_providers"]


def http_providers() -> tuple[LitestarProvider, HttpProvider]:
    return LitestarProvider(), HttpProvider()


def create_app(settings: Settings, container: AsyncContainer | None = None) -> Litestar:
    """The HTTP app. Without ``container`` it builds the production one from ``settings``;
    tests pass one built by ``build_container(settings, *http_providers(), *overrides)``."""
    container = container or build_container(settings, *http_providers())

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        # Everything alive now (modules, the app, the container) lives as long as the
        # process: take it out of the cyclic GC's reach, so collections stay short. Measured
        # on GET /todos/{id} at 64 connections: p99 124-156 ms without, 57-76 ms with.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await container.close()

    api = Router(path="/api/v1", route_handlers=[AuthController, TodoController])
    app = Litestar(
        route_handlers=[api, HealthController, openapi_json],
        exception_handlers=exception_handlers(),
        before_request=require_declared_media_type,
        lifespan=[lifespan],
        openapi_config=openapi_config(),
        cors_config=CORSConfig(allow_origins=list(settings.cors_origins)) if settings.cors_origins else None,
        request_max_body_size=1_048_576,
        logging_config=None,
        debug=False,
    )
    setup_dishka(container, app)
    app.asgi_handler = cast(ASGIApp, RequestContext(app.asgi_handler, access_log=settings.access_log))
    return app
