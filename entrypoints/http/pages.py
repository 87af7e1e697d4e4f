"""Paged listings: their ``page``/``size`` query parameters and the envelope they answer
with (API.md: ``items, page, size, total, pages``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from litestar.params import QueryParameter

from domain.shared.pagination import MAX_PAGE, MAX_PAGE_SIZE, Page

__all__ = ["PageNumber", "PageSize", "page_fields"]

PageNumber = Annotated[int, QueryParameter(ge=1, le=MAX_PAGE, description=f"1-based page number, 1..{MAX_PAGE}")]
PageSize = Annotated[int, QueryParameter(ge=1, le=MAX_PAGE_SIZE, description=f"items per page, 1..{MAX_PAGE_SIZE}")]

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
