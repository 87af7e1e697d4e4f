"""The general rate limit of ``/api/v1`` (``PORTSIDE_API_RATE_LIMIT``), per user or per
client address, with the headers of the IETF draft (draft-ietf-httpapi-ratelimit-headers)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from datetime import timedelta
from typing import Any, cast

import msgspec
from dishka import AsyncContainer
from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.types import ASGIApp

from adapters.prometheus.metrics import RATE_LIMIT_REJECTIONS
from application.errors import RateLimitedError, UnauthenticatedError
from application.identity.ports import TokenIssuer
from application.shared.client_addresses import client_bucket
from application.shared.rate_limits import Quota, RateLimit, RateLimiter
from entrypoints.http.auth import bearer_token
from entrypoints.http.problems import PROBLEM_JSON, problem_of
from entrypoints.http.router_path import router_path
from entrypoints.settings import Settings

__all__ = ["POLICY", "ApiRateLimit", "api_rate_limit"]

POLICY = "api"
"""The policy's name in ``RateLimit-Policy`` and ``RateLimit``."""

_API = "/api/v1"
_UNLIMITED = frozenset({("POST", "/api/v1/bot/webhook")})  # its own secret; Telegram calls from few addresses
_POLICY_HEADER = b"ratelimit-policy"
_QUOTA_HEADER = b"ratelimit"
_QUOTA = b'"' + POLICY.encode() + b'";r=%d;t=%d'

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]


def _limited(scope: Scope) -> bool:
    """Whether the request counts: ``/api/v1`` as the router sees it (root path removed,
    slashes collapsed), not a preflight or ``OPTIONS``, not the bot webhook."""
    method = scope["method"]
    if method == "OPTIONS":
        return False
    path = router_path(scope)
    return (path == _API or path.startswith(_API + "/")) and (method, path) not in _UNLIMITED


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _key(scope: Scope, issuer: TokenIssuer) -> str:
    """The user of a valid access token (signature, issuer, audience and expiry checked, no
    database), else the client's address, bucketed as the throttles do (an IPv6 /64 counts as
    one client): a forged or lapsed token counts against its sender."""
    token = bearer_token(_header(scope, b"authorization"))
    if token is not None:
        try:
            return f"api:user:{issuer.read_access_token(token).user_id}"
        except UnauthenticatedError:
            pass
    client = scope.get("client")
    return f"api:addr:{client_bucket(client[0] if client else None)}"


def _cors_headers(cors: CORSConfig | None, scope: Scope) -> Headers:
    """What Litestar's CORS middleware adds to a response, for the refusals sent before it:
    a browser may read a 429 of an allowed origin."""
    origin = _header(scope, b"origin") if cors else None
    if cors is None or origin is None:
        return []
    headers = dict(cors.simple_headers)
    if not cors.is_allow_all_origins and cors.is_origin_allowed(origin):
        headers["Access-Control-Allow-Origin"] = origin
        headers["Vary"] = "Origin"
    return [(name.lower().encode(), value.encode("latin-1")) for name, value in headers.items()]


class ApiRateLimit:
    """Counts every request to ``/api/v1`` (but the bot webhook, ``OPTIONS`` and the
    WebSocket) against one fixed-window ``RateLimit`` per caller (``_key``).

    Each counted response carries ``RateLimit-Policy: "api";q=<limit>;w=<window seconds>``
    and ``RateLimit: "api";r=<remaining>;t=<seconds to reset>``; a request past the limit
    is not served: 429, ``Retry-After``, and the rate-limited problem of the throttles. When
    the limiter's store does not answer, requests go through without those headers.

    The limiter and the token issuer are taken from the container at the first request.
    """

    def __init__(self, app: Any, container: AsyncContainer, rate: RateLimit, cors: CORSConfig | None) -> None:
        self._app = app
        self._container = container
        self._rate = rate
        self._cors = cors
        self._policy = f'"{POLICY}";q={rate.limit};w={int(rate.window.total_seconds())}'.encode()
        self._services: tuple[RateLimiter, TokenIssuer] | None = None
        self._rejections = RATE_LIMIT_REJECTIONS.labels(limit=POLICY)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _limited(scope):
            await self._app(scope, receive, send)
            return
        limiter, issuer = self._services or await self._resolve()
        quota = await limiter.take(_key(scope, issuer), self._rate)
        if quota is None:
            await self._app(scope, receive, send)
            return
        headers = [(_POLICY_HEADER, self._policy), (_QUOTA_HEADER, _QUOTA % (quota.remaining, quota.reset_after))]
        if not quota.allowed:
            self._rejections.inc()
            await self._refuse(scope, send, quota, headers)
            return

        async def send_with_quota(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *headers]
            await send(message)

        await self._app(scope, receive, send_with_quota)

    async def _resolve(self) -> tuple[RateLimiter, TokenIssuer]:
        self._services = (await self._container.get(RateLimiter), await self._container.get(TokenIssuer))
        return self._services

    async def _refuse(self, scope: Scope, send: Send, quota: Quota, headers: Headers) -> None:
        problem, extra = problem_of(RateLimitedError(quota.reset_after), instance=scope["path"])
        body = msgspec.json.encode(problem)
        headers += [(name.lower().encode(), value.encode("latin-1")) for name, value in extra.items()]
        headers += [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]
        headers += _cors_headers(self._cors, scope)
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def api_rate_limit(app: Litestar, container: AsyncContainer, settings: Settings) -> ASGIApp:
    """``app``'s ASGI handler behind the API rate limit, or as it is with ``PORTSIDE_RATE_LIMITS=off``."""
    if not settings.rate_limits:
        return app.asgi_handler
    requests, seconds = settings.api_rate_limit
    rate = RateLimit(limit=requests, window=timedelta(seconds=seconds))
    return cast(ASGIApp, ApiRateLimit(app.asgi_handler, container, rate, app.cors_config))
