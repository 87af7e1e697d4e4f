"""The ceiling: a bare Litestar app on asyncpg, with nothing of portside in it.

`GET /json` returns a constant; `GET /rows/{id}` reads one row of `bench_rows` by primary
key. Served by the same server, with the same worker count, as portside in `bench/run.py`.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from litestar import Litestar, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

DSN = os.environ.get("BENCH_REFERENCE_DSN", "postgresql://postgres@127.0.0.1:5432/portside_bench")
_pool: asyncpg.Pool | None = None


@asynccontextmanager
async def _lifespan(_: Litestar) -> AsyncIterator[None]:
    global _pool
    _pool = await asyncpg.create_pool(DSN, min_size=4, max_size=10)
    try:
        yield
    finally:
        await _pool.close()


@get("/json")
async def plain_json() -> dict[str, str]:
    return {"status": "ok"}


@get("/rows/{row_id:int}")
async def one_row(row_id: FromPath[int]) -> dict[str, Any]:
    assert _pool is not None
    row = await _pool.fetchrow("SELECT id, title, body FROM bench_rows WHERE id = $1", row_id)
    if row is None:
        raise NotFoundException()
    return dict(row)


app = Litestar(route_handlers=[plain_json, one_row], lifespan=[_lifespan], openapi_config=None)
