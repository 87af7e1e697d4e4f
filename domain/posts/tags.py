"""``Tags``: the normalized tag set of a post."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from domain.shared.errors import InvalidValueError

__all__ = ["MAX_TAGS", "TAG_MAX", "Tags", "tag_name"]

MAX_TAGS = 10
TAG_MAX = 32
_TAG = re.compile(r"[a-z0-9-]{1,32}")


def tag_name(raw: str) -> str:
    """One tag: trimmed and lowercased, then 1..32 characters of ``a-z``, ``0-9`` and ``-``."""
    name = raw.strip().lower()
    if not _TAG.fullmatch(name):
        raise InvalidValueError("tags", f"each tag must be 1..{TAG_MAX} characters of a-z, 0-9 and '-'")
    return name


@dataclass(frozen=True, slots=True)
class Tags:
    """At most 10 distinct valid tags, kept sorted (so equal sets compare equal)."""

    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if list(self.names) != sorted(set(self.names)):
            raise InvalidValueError("tags", "must be distinct and sorted; use Tags.parse")
        if len(self.names) > MAX_TAGS:
            raise InvalidValueError("tags", f"at most {MAX_TAGS} tags")
        for name in self.names:
            if not _TAG.fullmatch(name):
                raise InvalidValueError("tags", f"each tag must be 1..{TAG_MAX} characters of a-z, 0-9 and '-'")

    @classmethod
    def parse(cls, raw: Iterable[str]) -> Tags:
        """Normalize client input: each tag trimmed and lowercased, duplicates removed."""
        return cls(tuple(sorted({tag_name(name) for name in raw})))
