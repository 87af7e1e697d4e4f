"""The ASGI factory servers import (``uvicorn --factory entrypoints.http.asgi:app_factory``).

This is the process edge: what changes the whole process (logging, the garbage collector)
happens here, never in ``create_app``, which embedders call inside their own processes.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

from litestar import Litestar

from entrypoints.http.app import create_app
from entrypoints.logging import configure_logging
from entrypoints.settings import load_settings
from entrypoints.worker.loops import in_process_jobs

__all__ = ["GC_THRESHOLDS", "app_factory", "freeze_after_startup"]


def app_factory() -> Litestar:
    """The served app. Without Redis there is no ``portside worker`` to run jobs, so each
    server process runs the relay and the jobs itself (README, Background jobs)."""
    settings = load_settings()
    configure_logging(settings)
    background = () if settings.redis_url else (in_process_jobs,)
    app = freeze_after_startup(create_app(settings, background=background))
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        app.on_startup.append(_forget_dead_workers)
        app.on_shutdown.append(_leave_shared_metrics)
    return app


def _forget_dead_workers() -> None:
    """A worker that crashed (uvicorn starts another) never ran ``_leave_shared_metrics``:
    drop the live gauges of every process in the directory that no longer exists."""
    from prometheus_client import multiprocess

    for path in Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).glob("gauge_live*_*.db"):
        pid = int(path.stem.rsplit("_", 1)[1])
        if not _alive(pid):
            multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _leave_shared_metrics() -> None:
    """Under several workers (``entrypoints.cli``), drop this process's live gauges
    (connections in use, WebSockets) from the sums ``/metrics`` reports once it ends."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


GC_THRESHOLDS = (10_000, 10, 10)
"""The cyclic collector's thresholds in a server process (Python's default: 700, 10, 10).

A served request leaves nothing for the collector: what it allocates is freed by reference
counting (``tests/http/test_no_cyclic_garbage.py`` keeps it so). What a young-generation
collection finds is then the objects of the requests still in flight; at 700 it ran every
dozen or so requests, traversed them and promoted them, and the promoted ones made full
collections frequent: about 6 % of a served process's CPU under 64 connections. At 10,000 it
ran no collection at all after start-up there, with no more memory at 10,000 users (README,
Performance, round seven)."""


def freeze_after_startup(app: Litestar) -> Litestar:
    """Make ``app`` run ``gc.freeze()`` once its start-up is complete, and set the
    collector's ``GC_THRESHOLDS``.

    Everything alive then (modules, the app, the container) lives as long as the process:
    frozen, it is out of the cyclic GC's reach and collections stay short (README,
    Performance). The hook runs at the same point as the lifespan that held it before:
    uvicorn calls this factory in each worker process, and Litestar runs ``on_startup``
    hooks in that process after entering every lifespan context manager (the container's
    included) and before the server accepts a connection.
    """
    app.on_startup.append(_freeze)
    return app


def _freeze() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
