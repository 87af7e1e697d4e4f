"""Liveness and readiness."""

from __future__ import annotations

from typing import Literal

import msgspec
from dishka.integrations.litestar import FromDishka, inject
from litestar import Controller, Response, get
from litestar.openapi.datastructures import ResponseSpec

from application.shared.readiness import CheckReadiness

__all__ = ["HealthController"]


class Health(msgspec.Struct):
    status: Literal["ok"] = "ok"


class ReadinessView(msgspec.Struct):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str]


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
        description="200 when the database (and Redis, when configured) answer; 503 otherwise.",
        responses={503: ResponseSpec(data_container=ReadinessView, description="A dependency is down")},
    )
    @inject
    async def ready(self, check: FromDishka[CheckReadiness]) -> Response[ReadinessView]:
        readiness = await check()
        return Response(
            ReadinessView(status="ok" if readiness.ready else "unavailable", checks=readiness.checks),
            status_code=200 if readiness.ready else 503,
        )
