"""The served app's start-up freezes what is alive then and raises the cyclic collector's
thresholds (``entrypoints.http.asgi``): the process edge's choice, never ``create_app``'s."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from litestar import Litestar

from entrypoints.http.asgi import GC_THRESHOLDS, freeze_after_startup


@pytest.fixture
def collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("collector")
async def test_start_up_freezes_the_heap_and_raises_the_thresholds() -> None:
    app = freeze_after_startup(Litestar(route_handlers=[], logging_config=None))
    gc.unfreeze()
    assert gc.get_threshold() != GC_THRESHOLDS  # building the app changed nothing yet
    async with app.lifespan():
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == GC_THRESHOLDS
