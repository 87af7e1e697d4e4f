"""``create_app``: the Litestar application factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager, suppress
from typing import Any, cast

from dishka import AsyncContainer
from dishka.integrations.litestar import LitestarProvider, setup_dishka
from litestar import Litestar, Request, Response, Router
from litestar.config.cors import CORSConfig
from litestar.routes import HTTPRoute
from litestar.status_codes import HTTP_204_NO_CONTENT
from litestar.types import ASGIApp

from application.shared.realtime import Broadcaster
from entrypoints.container import build_container
from entrypoints.http.audit.controllers import AuditController
from entrypoints.http.auth import HttpProvider
from entrypoints.http.broadcast.controllers import CampaignController
from entrypoints.http.chat.controllers import BotController, ChatController
from entrypoints.http.files.controllers import FileController, UploadController
from entrypoints.http.health import HealthController
from entrypoints.http.identity.controllers import AuthController
from entrypoints.http.jobs.controllers import JobController
from entrypoints.http.media_types import buffer_multipart_body, require_declared_media_type, require_strict_json_body
from entrypoints.http.openapi import ClosedStructSchemaPlugin, finish_openapi, openapi_config, openapi_json
from entrypoints.http.posts.controllers import PostController
from entrypoints.http.posts.tags import TagController
from entrypoints.http.problems import exception_handlers
from entrypoints.http.realtime import HUB_STATE, realtime_socket
from entrypoints.http.request_context import RequestContext
from entrypoints.http.todos.controllers import TodoController
from entrypoints.http.users.controllers import UserController
from entrypoints.realtime.hub import Hub
from entrypoints.settings import Settings

__all__ = ["create_app", "http_providers"]


def http_providers() -> tuple[LitestarProvider, HttpProvider]:
    return LitestarProvider(), HttpProvider()


def _allow(request: Request[Any, Any, Any]) -> str:
    """Every method of the request's path. Litestar's automatic OPTIONS handler answers with
    the methods of the route it was first made for, which is replaced (the handler kept) as
    more handlers join the path: ``/api/v1/todos`` lost GET. The final routes know them all."""
    template = request.scope["path_template"]
    methods = {
        method
        for route in request.app.routes
        if isinstance(route, HTTPRoute) and route.path_format == template
        for method in route.methods
    }
    return ", ".join(sorted(methods))


async def _before_request(request: Request[Any, Any, Any]) -> Response[None] | None:
    """Answer ``OPTIONS`` (every OPTIONS handler here is Litestar's automatic one; CORS
    preflights are answered before routing); check the body's media type and, for JSON,
    its strict decoding, of the rest."""
    if request.method == "OPTIONS":
        return Response(None, status_code=HTTP_204_NO_CONTENT, headers={"Allow": _allow(request)})
    await require_declared_media_type(request)
    await require_strict_json_body(request)
    await buffer_multipart_body(request)
    return None


@asynccontextmanager
async def _running(work: Coroutine[Any, Any, None]) -> AsyncIterator[None]:
    """``work`` in a task for the duration of the block, cancelled and awaited at its end."""
    task = asyncio.ensure_future(work)
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


def create_app(
    settings: Settings,
    container: AsyncContainer | None = None,
    *,
    background: Sequence[Callable[[AsyncContainer, dict[Any, Any]], AbstractAsyncContextManager[None]]] = (),
) -> Litestar:
    """The HTTP app. Without ``container`` it builds the production one from ``settings``;
    tests pass one built by ``build_container(settings, *http_providers(), *overrides)``.

    ``background``: work that lives as long as the app, inside the container's lifetime
    (entered after the container is ready, left before it closes): the in-process jobs
    of ``portside serve`` without Redis (``entrypoints.worker.loops.in_process_jobs``).
    Each gets the context to open its request scopes with: no HTTP request.
    """
    container = container or build_container(settings, *http_providers())

    hub = Hub()

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        # No process-wide effect here: embedders call create_app. gc.freeze() is the server's
        # (entrypoints/http/asgi.py).
        try:
            async with AsyncExitStack() as stack:
                await stack.enter_async_context(_running(hub.listen(await container.get(Broadcaster))))
                for work in background:
                    await stack.enter_async_context(work(container, {Request: None}))
                yield
        finally:
            await container.close()

    api = Router(
        path="/api/v1",
        route_handlers=[
            AuthController,
            UserController,
            TodoController,
            PostController,
            TagController,
            UploadController,
            CampaignController,
            BotController,
            ChatController,
            JobController,
            AuditController,
            realtime_socket,
        ],
    )
    app = Litestar(
        route_handlers=[api, HealthController, FileController, openapi_json],
        exception_handlers=exception_handlers(),
        before_request=_before_request,
        lifespan=[lifespan],
        openapi_config=openapi_config(),
        plugins=[ClosedStructSchemaPlugin()],
        cors_config=CORSConfig(allow_origins=list(settings.cors_origins)) if settings.cors_origins else None,
        request_max_body_size=settings.max_body_bytes,
        logging_config=None,
        debug=False,
    )
    app.state[HUB_STATE] = hub
    setup_dishka(container, app)
    finish_openapi(app)
    context = RequestContext(app.asgi_handler, access_log=settings.access_log, hsts=settings.is_production)
    app.asgi_handler = cast(ASGIApp, context)
    return app
