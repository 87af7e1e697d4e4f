"""Liveness and readiness."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from dishka.integrations.litestar import FromDishka, inject
from litestar import Controller, Response, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.types import ASGIApp

from application.shared.readiness import CheckReadiness, CheckStatus, Readiness

__all__ = ["HealthController"]


class Health(msgspec.Struct):
    status: Literal["ok"] = "ok"


class ReadinessChecks(msgspec.Struct):
    """``disabled``: not configured (Redis on the embedded profile); it does not count."""

    database: CheckStatus
    redis: CheckStatus


class ReadinessView(msgspec.Struct):
    status: Literal["ok", "unavailable"]
    checks: ReadinessChecks

    @classmethod
    def of(cls, readiness: Readiness) -> ReadinessView:
        checks = ReadinessChecks(database=readiness.checks["database"], redis=readiness.checks["redis"])
        return cls(status="ok" if readiness.ready else "unavailable", checks=checks)


_HEALTH_BODY = msgspec.json.encode(Health())
_LENGTH = str(len(_HEALTH_BODY)).encode()


async def _healthy(scope: Any, receive: Any, send: Any) -> None:
    """The liveness answer as ASGI messages: Litestar's response machinery (a ``Response``,
    its headers object, encoding) is most of this route's cost, for a constant body."""
    headers = [(b"content-type", b"application/json"), (b"content-length", _LENGTH)]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": _HEALTH_BODY})


class HealthController(Controller):
    path = "/health"
    tags = ["operations"]

    @get(
        "/",
        summary="Liveness",
        description="200 while the process serves requests; touches no dependency.",
        responses={200: ResponseSpec(data_container=Health, description="The process serves requests")},
    )
    async def health(self) -> ASGIApp:
        return _healthy

    @get(
        "/ready",
        summary="Readiness",
        description="200 when the database (and Redis, when configured) answer; 503 otherwise. "
        "Each check is `ok`, `down` or `disabled` (not configured).",
        responses={503: ResponseSpec(data_container=ReadinessView, description="A dependency is down")},
    )
    @inject
    async def ready(self, check: FromDishka[CheckReadiness]) -> Response[ReadinessView]:
        readiness = await check()
        return Response(ReadinessView.of(readiness), status_code=200 if readiness.ready else 503)
