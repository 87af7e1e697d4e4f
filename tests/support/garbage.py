"""What a block of requests leaves for the cycle collector, rather than for reference counting."""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable
from typing import Any


async def left_for_the_collector(requests: Callable[[], Awaitable[None]]) -> list[Any]:
    """The objects only the cycle collector would free after ``requests()``, run once to warm
    first-use caches (compiled statements, routes: not per-request garbage) and once watched
    (``gc.DEBUG_SAVEALL``). The collector's debug flags and ``gc.garbage`` are restored."""
    await requests()
    gc.collect()
    debug, saved = gc.get_debug(), list(gc.garbage)
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        await requests()
        gc.collect()
        return list(gc.garbage[len(saved) :])
    finally:
        gc.set_debug(debug)
        gc.garbage[:] = saved
