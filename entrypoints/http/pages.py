"""The list envelope every paged listing answers with (API.md: ``items, page, size, total, pages``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from domain.shared.pagination import Page

__all__ = ["page_fields"]

_Item = TypeVar("_Item")
_View = TypeVar("_View")


def page_fields(page: Page[_Item], view: Callable[[_Item], _View]) -> dict[str, Any]:
    """The fields of a page response struct, its items shown through ``view``."""
    return {
        "items": [view(item) for item in page.items],
        "page": page.request.page,
        "size": page.request.size,
        "total": page.total,
        "pages": page.pages,
    }
