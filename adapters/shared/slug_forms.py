"""Which stored slugs are a slug's numbered forms (``hello-2``, ``hello-3``, ...), decided
alike by the SQL and in-memory post repositories."""

from __future__ import annotations

import re
from collections.abc import Iterable

from domain.posts.slug import SLUG_MAX, Slug
from domain.shared.errors import InvalidValueError

__all__ = ["family_range", "numbered_forms"]

_NUMBERED = re.compile(r".+-([0-9]+)")
# Numbered forms shorten a long base to make room for their suffix (``Slug.numbered``); with
# suffixes of up to 8 characters ("-9999999") every form still starts with this much of it.
_LONGEST_SUFFIX = 8
# Slugs are lowercase ASCII letters, digits and '-', all below this character.
_ABOVE_SLUG_CHARACTERS = "\x7f"


def family_range(slug: Slug) -> tuple[str, str]:
    """``(low, high)``: every numbered form of ``slug``, and ``slug`` itself, is ``>= low``
    and ``< high`` in code-point order, so a database finds them with one index range."""
    prefix = slug.value[: SLUG_MAX - _LONGEST_SUFFIX].rstrip("-")
    return prefix, prefix + _ABOVE_SLUG_CHARACTERS


def numbered_forms(slug: Slug, stored: Iterable[str]) -> set[str]:
    """The slugs among ``stored`` that are ``slug`` or one of its numbered forms."""
    found = set()
    for candidate in stored:
        if candidate == slug.value:
            found.add(candidate)
        elif (match := _NUMBERED.fullmatch(candidate)) is not None:
            n = int(match[1])
            if n >= 2 and _numbered(slug, n) == candidate:
                found.add(candidate)
    return found


def _numbered(slug: Slug, n: int) -> str | None:
    try:
        return slug.numbered(n).value
    except InvalidValueError:  # a suffix too long to leave any of the base
        return None
