"""The request's dishka scope is opened by its first use (``setup_lazy_dishka``): a request
that asks nothing of it opens none; one that does opens one, whatever it asks, and has it
closed (its finalizers run) after the response, also when the handler fails."""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from dishka import Provider, Scope, make_async_container, provide
from dishka.integrations.litestar import FromDishka, LitestarProvider, inject
from litestar import Litestar, Request, get

from entrypoints.http.request_container import LazyRequestContainer, setup_lazy_dishka
from tests.support.garbage import left_for_the_collector


@dataclass
class Ledger:
    opened: int = 0
    closed: list[str] = field(default_factory=list)
    """The exception each closed scope's finalizer saw, by type name (``-`` for none)."""


class Handle:
    def __init__(self, path: str) -> None:
        self.path = path


class Other:
    pass


class _Requests(Provider):
    def __init__(self, ledger: Ledger) -> None:
        super().__init__()
        self._ledger = ledger

    @provide(scope=Scope.REQUEST)
    def handle(self, request: Request) -> Generator[Handle, BaseException | None, None]:  # type: ignore[type-arg]
        self._ledger.opened += 1
        failure = yield Handle(request.url.path)  # dishka sends the failure in, if any
        self._ledger.closed.append("-" if failure is None else type(failure).__name__)

    @provide(scope=Scope.REQUEST)
    def other(self, handle: Handle) -> Other:
        return Other()


@get("/plain")
async def plain() -> str:
    return "no dependencies"


@get("/uses")
@inject
async def uses(handle: FromDishka[Handle], other: FromDishka[Other], again: FromDishka[Handle]) -> str:
    assert handle is again
    return handle.path


@get("/fails")
@inject
async def fails(handle: FromDishka[Handle]) -> str:
    raise RuntimeError("boom")


@pytest.fixture
async def served() -> AsyncIterator[tuple[httpx.AsyncClient, Ledger]]:
    ledger = Ledger()
    container = make_async_container(_Requests(ledger), LitestarProvider())
    app = Litestar(route_handlers=[plain, uses, fails], logging_config=None, debug=False)
    setup_lazy_dishka(container, app)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            yield client, ledger
    finally:
        await container.close()


async def test_a_request_that_asks_nothing_opens_no_scope(served: tuple[httpx.AsyncClient, Ledger]) -> None:
    client, ledger = served
    for path in ("/plain", "/nowhere"):
        await client.get(path)
    assert (ledger.opened, ledger.closed) == (0, [])


async def test_a_request_that_asks_opens_one_scope_and_it_is_closed_after_the_response(
    served: tuple[httpx.AsyncClient, Ledger],
) -> None:
    client, ledger = served
    for _ in range(3):
        response = await client.get("/uses")
        assert (response.status_code, response.text) == (200, "/uses")
    assert (ledger.opened, ledger.closed) == (3, ["-", "-", "-"])


async def test_a_failing_handler_still_has_its_scope_closed(served: tuple[httpx.AsyncClient, Ledger]) -> None:
    """Litestar answers the failure (500) inside: the scope closes as after any response."""
    client, ledger = served
    assert (await client.get("/fails")).status_code == 500
    assert (ledger.opened, ledger.closed) == (1, ["-"])


async def test_a_failure_escaping_the_app_reaches_the_finalizer_and_no_scope_opens_after() -> None:
    ledger = Ledger()
    container = make_async_container(_Requests(ledger), LitestarProvider())
    app = Litestar(route_handlers=[], logging_config=None, debug=False)
    scope: dict[str, Any] = {"type": "http", "path": "/raw", "headers": [], "query_string": b"", "state": {}}
    lazy: list[Any] = []

    async def raw(scope: Any, receive: Any, send: Any) -> None:  # what the wrapper wraps
        lazy.append(scope["state"]["dishka_container"])
        await lazy[0].get(Handle)
        raise RuntimeError("boom")

    app.asgi_handler = raw
    setup_lazy_dishka(container, app)
    try:
        with pytest.raises(RuntimeError, match="boom"):
            await app.asgi_handler(scope, _never, _never)  # type: ignore[arg-type]
        assert (ledger.opened, ledger.closed) == (1, ["RuntimeError"])
        assert "dishka_container" not in scope["state"]  # the scope no longer keeps it alive
        with pytest.raises(RuntimeError, match="closed"):
            await lazy[0].get(Handle)
        assert ledger.opened == 1
    finally:
        await container.close()


async def _never(*_: Any) -> Any:
    raise AssertionError("not called")


async def test_a_request_leaves_its_scope_to_reference_counting_not_to_the_cycle_collector(
    served: tuple[httpx.AsyncClient, Ledger],
) -> None:
    """The scope holds the container and the container the scope: the wrapper breaks that
    cycle after the response, or every request's scope would wait for a full collection
    (the server raises the collector's thresholds on this, ``entrypoints.http.asgi``)."""
    client, _ = served

    async def requests() -> None:
        for path in ("/uses", "/plain", "/fails"):
            await client.get(path)

    left = [o for o in await left_for_the_collector(requests) if isinstance(o, LazyRequestContainer)]
    assert left == []
