"""Pages of results: what a caller asks for and what it gets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from domain.shared.errors import InvalidValueError

T = TypeVar("T")

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
# Pages past this are refused, not computed: the offset stays far inside a 64-bit SQL integer
# (at most 99,999,900 rows skipped), and no real list is that long.
MAX_PAGE = 1_000_000


@dataclass(frozen=True, slots=True)
class PageRequest:
    """``page`` counts from 1 up to ``MAX_PAGE``; ``size`` is 1..100."""

    page: int = 1
    size: int = DEFAULT_PAGE_SIZE

    def __post_init__(self) -> None:
        if not 1 <= self.page <= MAX_PAGE:
            raise InvalidValueError("page", f"must be between 1 and {MAX_PAGE}")
        if not 1 <= self.size <= MAX_PAGE_SIZE:
            raise InvalidValueError("size", f"must be between 1 and {MAX_PAGE_SIZE}")

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    request: PageRequest
    total: int

    @property
    def pages(self) -> int:
        return -(-self.total // self.request.size)
