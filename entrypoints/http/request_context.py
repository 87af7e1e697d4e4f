"""Request ids, header limits, cache policy and the access log, around the whole ASGI app
(routing errors included)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import msgspec
import structlog

from adapters.prometheus.metrics import HTTP_REQUEST_SECONDS, HTTP_REQUESTS
from entrypoints.http.problems import PROBLEM_JSON, Problem
from entrypoints.logging import access_line

REQUEST_ID_STATE = "request_id"

__all__ = ["MAX_HEADER_BYTES", "REQUEST_ID_STATE", "RequestContext"]

_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_HEADER = b"x-request-id"
_HSTS = b"max-age=31536000; includeSubDomains"
MAX_HEADER_BYTES = 16 * 1024
"""Names and values of all request headers together; more is answered 431."""

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def _read_request_headers(scope: Scope) -> tuple[str | None, bool, bool]:
    """One pass over the request's headers: the client's request id when it is sane, whether
    they are over ``MAX_HEADER_BYTES`` in total, and whether an ``Authorization`` is among them."""
    client_id: str | None = None
    size = 0
    credentials = False
    for name, value in scope.get("headers", ()):
        size += len(name) + len(value)
        if name == _HEADER and client_id is None:
            text = value.decode("latin-1")
            client_id = text if _SANE_ID.match(text) else ""
        elif name == b"authorization":
            credentials = True
    return client_id or None, size > MAX_HEADER_BYTES, credentials


def _add_headers(message: Message, always: tuple[bytes, bytes], unless_set: list[tuple[bytes, bytes]]) -> None:
    """``always``, and each of ``unless_set`` whose name the response does not have yet."""
    headers: list[Any] = list(message.get("headers", ()))
    present = {name.lower() for name, _ in headers}
    headers.append(always)
    headers.extend(header for header in unless_set if header[0] not in present)
    message["headers"] = headers


async def _refuse_headers(scope: Scope, send: Send) -> None:
    """431 problem, sent before Litestar parses a single header."""
    problem = Problem(
        type="about:blank",
        title="Request Header Fields Too Large",
        status=431,
        detail=f"Request headers must not exceed {MAX_HEADER_BYTES} bytes in total.",
        instance=scope.get("path"),
    )
    body = msgspec.json.encode(problem)
    headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 431, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _access_line(scope: Scope, status: int, seconds: float) -> None:
    access_line(
        method=scope["method"],
        path=scope.get("path_template") or "<unmatched>",
        status=status,
        duration_ms=round(seconds * 1000, 2),
    )


_series: dict[tuple[str, str, int], tuple[Any, Any]] = {}
"""(method, route, status) -> its counter and histogram children: ``labels()`` takes a lock
and builds a key on every call; the set of series is bounded by the routes."""


def _observe(scope: Scope, status: int, seconds: float) -> None:
    """Count the request in ``portside_http_requests_total`` and time it, by route template
    (``<unmatched>`` for paths no route has, so clients cannot grow the series)."""
    key = (scope["method"], scope.get("path_template") or "<unmatched>", status)
    series = _series.get(key)
    if series is None:
        labels = {"method": key[0], "route": key[1], "status": str(status)}
        series = _series[key] = (HTTP_REQUESTS.labels(**labels), HTTP_REQUEST_SECONDS.labels(**labels))
    series[0].inc()
    series[1].observe(seconds)


class RequestContext:
    """Gives every request an id (the client's when it is sane, else a new one), binds it to
    the log context, echoes it in ``X-Request-ID``, and writes one access line per request
    with method, path template, status and duration. Never a body, a header value or a query
    string (which may carry a token).

    Also, for every request: headers over ``MAX_HEADER_BYTES`` in total are refused with 431;
    a response to a request with an ``Authorization`` header gets ``Cache-Control: no-store``
    unless the handler chose a policy; every response gets ``X-Content-Type-Options:
    nosniff`` and ``Referrer-Policy: no-referrer`` (unless set), and with ``hsts`` (production)
    ``Strict-Transport-Security`` for a year, subdomains included. With ``metrics``, every
    request is counted and timed for ``/metrics``.
    """

    def __init__(  # ``app``: any ASGI app
        self, app: Any, *, access_log: bool = True, hsts: bool = False, metrics: bool = False
    ) -> None:
        self._app = app
        self._access_log = access_log
        self._metrics = metrics
        # Set on every response unless the handler set them (the cache policy: only with credentials).
        self._defaults = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
        if hsts:
            self._defaults.append((b"strict-transport-security", _HSTS))
        self._private_defaults = [*self._defaults, (b"cache-control", b"no-store")]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        client_id, too_large, private = _read_request_headers(scope)
        request_id = client_id or uuid.uuid4().hex
        structlog.contextvars.bind_contextvars(request_id=request_id)
        scope.setdefault("state", {})[REQUEST_ID_STATE] = request_id  # events carry it (auth.py)
        status = 500
        defaults = self._private_defaults if private else self._defaults

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                _add_headers(message, (_HEADER, request_id.encode("latin-1")), defaults)
            await send(message)

        try:
            if too_large:
                await _refuse_headers(scope, send_with_id)
            else:
                await self._app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            if self._access_log:
                _access_line(scope, status, seconds)
            if self._metrics:
                _observe(scope, status, seconds)
            structlog.contextvars.unbind_contextvars("request_id")
