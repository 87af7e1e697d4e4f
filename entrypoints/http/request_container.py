"""The request's dishka scope, opened by its first use.

dishka's Litestar integration (``setup_dishka``) opens a request scope around every request,
also those that never ask it for anything: ``/health``, a 404, an ``OPTIONS``, a problem
raised before the handler runs. Here the scope is opened by the first ``get`` and closed
after the response, only if it was opened. ``inject`` and the guards ask
``connection.state.dishka_container.get(...)`` as before; nothing else of the container is
used per request.
"""

from __future__ import annotations

from typing import Any

from dishka import DEFAULT_COMPONENT, AsyncContainer, Scope
from litestar import Litestar, Request, WebSocket
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Send
from litestar.types import Scope as AsgiScope

__all__ = ["LazyRequestContainer", "setup_lazy_dishka"]

STATE_KEY = "dishka_container"


class LazyRequestContainer:
    """Stands in for the request's container until something asks it for a dependency."""

    __slots__ = ("_app_container", "_closed", "_opened", "_scope")

    def __init__(self, app_container: AsyncContainer, scope: AsgiScope) -> None:
        self._app_container = app_container
        self._scope = scope
        self._opened: AsyncContainer | None = None
        self._closed = False

    async def get(self, dependency_type: Any, component: str = DEFAULT_COMPONENT) -> Any:
        opened = self._opened
        if opened is None:  # no await between the check and the assignment: opened once
            if self._closed:  # a scope opened now would never be closed
                raise RuntimeError("the request's dependency scope is closed")
            opened = self._opened = self._open()
        return await opened.get(dependency_type, component)

    def _open(self) -> AsyncContainer:
        # The same context dishka's own middleware gives: the connection, by its type.
        if self._scope["type"] == ScopeType.HTTP:
            return self._app_container({Request: Request(self._scope)}, scope=Scope.REQUEST)
        return self._app_container({WebSocket: WebSocket(self._scope)}, scope=Scope.SESSION)

    async def close(self, exception: BaseException | None = None) -> None:
        """Run the request scope's finalizers, if it was opened; no scope opens after this."""
        self._closed = True
        if self._opened is not None:
            opened, self._opened = self._opened, None
            await opened.close(exception)


def setup_lazy_dishka(container: AsyncContainer, app: Litestar) -> None:
    """``setup_dishka``, with the request scope opened on first use."""
    app.state.dishka_container = container
    inner: ASGIApp = app.asgi_handler

    async def with_request_container(scope: AsgiScope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await inner(scope, receive, send)
            return
        lazy = LazyRequestContainer(container, scope)
        state = scope.setdefault("state", {})
        state[STATE_KEY] = lazy
        try:
            await inner(scope, receive, send)
        except BaseException as error:
            await lazy.close(error)
            raise
        else:
            await lazy.close()
        finally:
            # The scope holds the container and the container the scope: left so, every
            # request's scope would wait for the cycle collector (see ``asgi.py``).
            state.pop(STATE_KEY, None)

    app.asgi_handler = with_request_container
