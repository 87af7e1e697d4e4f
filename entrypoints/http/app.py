"""``create_app``: the Litestar application factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager, suppress
from typing import TYPE_CHECKING, Any, cast

from dishka import AsyncContainer
from dishka.integrations.litestar import LitestarProvider
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
from entrypoints.http.compression import compress_responses
from entrypoints.http.files.controllers import FileController, UploadController
from entrypoints.http.health import HealthController
from entrypoints.http.identity.controllers import AuthController
from entrypoints.http.jobs.controllers import JobController
from entrypoints.http.media_types import buffer_multipart_body, require_declared_media_type, require_strict_json_body
from entrypoints.http.metrics import metrics
from entrypoints.http.openapi import ClosedStructSchemaPlugin, finish_openapi, openapi_config, openapi_json
from entrypoints.http.posts.controllers import PostController
from entrypoints.http.posts.tags import TagController
from entrypoints.http.problems import exception_handlers
from entrypoints.http.rate_limit import api_rate_limit
from entrypoints.http.realtime import HUB_STATE, realtime_socket
from entrypoints.http.request_container import setup_lazy_dishka
from entrypoints.http.request_context import RequestContext
from entrypoints.http.todos.controllers import TodoController
from entrypoints.http.users.controllers import UserController
from entrypoints.realtime.hub import Hub
from entrypoints.settings import Settings

if TYPE_CHECKING:
    from entrypoints.tracing import Tracing

__all__ = ["create_app", "http_providers"]


def http_providers() -> tuple[LitestarProvider, HttpProvider]:
    return LitestarProvider(), HttpProvider()


_EXPOSED = ["ETag", "Location", "Retry-After", "RateLimit", "RateLimit-Policy", "X-Request-ID"]
"""Response headers a page on an allowed origin may read (beyond the CORS-safelisted ones)."""


def _cors(settings: Settings) -> CORSConfig | None:
    if not settings.cors_origins:
        return None
    return CORSConfig(allow_origins=list(settings.cors_origins), expose_headers=_EXPOSED)


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
    tracing: Tracing | None = None,
) -> Litestar:
    """The HTTP app. Without ``container`` it builds the production one from ``settings``;
    tests pass one built by ``build_container(settings, *http_providers(), *overrides)``.

    ``background``: work that lives as long as the app, inside the container's lifetime
    (entered after the container is ready, left before it closes): the in-process jobs
    of ``portside serve`` without Redis (``entrypoints.worker.loops.in_process_jobs``).
    Each gets the context to open its request scopes with: no HTTP request.

    ``tracing``: spans for requests and what they call (``entrypoints.tracing``); built
    from ``settings`` when ``PORTSIDE_OTEL_ENDPOINT`` is set. A ``container`` passed in
    then needs ``tracing.providers(settings)`` last. Shut down (flushed) with the app.
    """
    if tracing is None and settings.otel_endpoint:
        tracing = _start_tracing(settings)
    container = container or build_container(
        settings, *http_providers(), *(tracing.providers(settings) if tracing else ())
    )

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
            if tracing is not None:
                # The last export may wait on the collector: off the event loop.
                await asyncio.to_thread(tracing.shutdown)

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
        route_handlers=[api, HealthController, FileController, openapi_json, *([metrics] if settings.metrics else [])],
        exception_handlers=exception_handlers(),
        before_request=_before_request,
        lifespan=[lifespan],
        openapi_config=openapi_config(),
        plugins=[ClosedStructSchemaPlugin()],
        cors_config=_cors(settings),
        request_max_body_size=settings.max_body_bytes,
        logging_config=None,
        debug=False,
    )
    app.state[HUB_STATE] = hub
    setup_lazy_dishka(container, app)
    finish_openapi(app)
    app.asgi_handler = compress_responses(app.asgi_handler)
    limited = api_rate_limit(app, container, settings)
    context = RequestContext(
        limited, access_log=settings.access_log, hsts=settings.is_production, metrics=settings.metrics
    )
    app.asgi_handler = cast(ASGIApp, context)
    if tracing is not None:  # otherwise no wrapper at all
        app.asgi_handler = _traced(context, tracing)
    return app


def _start_tracing(settings: Settings) -> Tracing:
    from entrypoints.tracing import tracing  # imports OpenTelemetry: only when tracing is on

    return tracing(settings)


def _traced(app: Any, tracing: Tracing) -> ASGIApp:
    from entrypoints.http.tracing import TracingMiddleware

    return cast(ASGIApp, TracingMiddleware(app, tracing.tracer))
