"""A body nested past msgspec's recursion limit is the client's fault: 400, not 500."""

from __future__ import annotations

import httpx
from litestar import Litestar, post
from litestar.params import JSONBody

from entrypoints.http.problems import exception_handlers


@post("/echo")
async def echo(data: JSONBody[object]) -> None:
    """Decodes untyped, where msgspec recurses once per level."""


async def test_an_untyped_body_nested_100000_levels_deep_is_a_400_problem() -> None:
    app = Litestar([echo], exception_handlers=exception_handlers(), logging_config=None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        response = await client.post("/echo", content=b"[" * 100_000 + b"]" * 100_000)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "The body is nested too deeply."
