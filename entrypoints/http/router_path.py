"""The path of a request as Litestar's router matches it, for middleware outside the router."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from litestar.utils import normalize_path

__all__ = ["router_path"]


def router_path(scope: MutableMapping[str, Any]) -> str:
    """``scope``'s path with the root path removed and slashes collapsed, no trailing one:
    ``/api/v1/todos`` for ``/api/v1//todos/`` (what the router matches, so a middleware's
    exemptions cannot be dodged by spelling a path differently)."""
    path: str = scope["path"]
    if root_path := scope.get("root_path", ""):
        path = path.split(root_path, maxsplit=1)[-1]
    return normalize_path(path)
