"""Request ids and the access log, around the whole ASGI app (routing errors included)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import structlog

__all__ = ["RequestContext"]

_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_HEADER = b"x-request-id"
_log = structlog.get_logger("portside.access")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def _client_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == _HEADER:
            text = value.decode("latin-1")
            return text if _SANE_ID.match(text) else None
    return None


class RequestContext:
    """Gives every request an id (the client's when it is sane, else a new one), binds it to
    the log context, echoes it in ``X-Request-ID``, and writes one access line per request
    with method, path template, status and duration. Never a body, a header value or a query
    string (which may carry a token)."""

    def __init__(self, app: Any, *, access_log: bool = True) -> None:  # any ASGI app
        self._app = app
        self._access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        request_id = _client_request_id(scope) or uuid.uuid4().hex
        structlog.contextvars.bind_contextvars(request_id=request_id)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers: list[Any] = list(message.get("headers", ()))
                headers.append((_HEADER, request_id.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        try:
            await self._app(scope, receive, send_with_id)
        finally:
            if self._access_log:
                _log.info(
                    "request",
                    method=scope["method"],
                    path=scope.get("path_template") or "<unmatched>",
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                )
            structlog.contextvars.unbind_contextvars("request_id")
