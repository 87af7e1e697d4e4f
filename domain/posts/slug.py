"""``Slug``: the URL name of a post, derived once from its title."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from domain.shared.errors import InvalidValueError

__all__ = ["SLUG_MAX", "Slug", "slugify"]

SLUG_MAX = 80
_FALLBACK = "post"
_OTHER = re.compile(r"[^a-z0-9]+")
_VALID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


@dataclass(frozen=True, slots=True)
class Slug:
    """Lowercase ASCII letters and digits in runs joined by single hyphens, 1..80 characters."""

    value: str

    def __post_init__(self) -> None:
        if len(self.value) > SLUG_MAX or not _VALID.fullmatch(self.value):
            raise InvalidValueError("slug", "must be lowercase letters, digits and single inner hyphens")

    def numbered(self, n: int) -> Slug:
        """The ``n``-th candidate for a taken slug (``hello-world-2`` for 2), still at most
        80 characters: the base is shortened to make room for the suffix."""
        if n < 2:
            raise ValueError("suffixes start at 2")
        suffix = f"-{n}"
        base = self.value[: SLUG_MAX - len(suffix)].rstrip("-")
        return Slug(f"{base}{suffix}")


def slugify(title: str) -> Slug:
    """The slug of a title (API.md): NFKD, combining marks dropped (``Crème Brûlée`` ->
    ``creme-brulee``), lowercase ASCII, each run of other characters one ``-``, no leading
    or trailing ``-``, at most 80 characters, ``post`` when nothing is left."""
    decomposed = unicodedata.normalize("NFKD", title)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    slug = _OTHER.sub("-", bare).strip("-")[:SLUG_MAX].rstrip("-")
    return Slug(slug or _FALLBACK)
