"""The ASGI factory servers import (``uvicorn --factory entrypoints.http.asgi:app_factory``)."""

from __future__ import annotations

from litestar import Litestar

from entrypoints.http.app import create_app
from entrypoints.logging import configure_logging
from entrypoints.settings import load_settings


def app_factory() -> Litestar:
    settings = load_settings()
    configure_logging(settings)
    return create_app(settings)
