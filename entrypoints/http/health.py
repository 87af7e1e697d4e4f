"""Liveness and readiness."""

from __future__ import annotations

from typing import Literal

import msgspec
from dishka.integrations.litestar import FromDishka, inject
from litestar import Controller, Response, get
from litestar.openapi.datastructures import ResponseSpec

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


_HEALTH = Health()


class HealthController(Controller):
    path = "/health"
    tags = ["operations"]

    @get("/", summary="Liveness", description="200 while the process serves requests; touches no dependency.")
    async def health(self) -> Health:
        return _HEALTH

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
