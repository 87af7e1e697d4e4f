"""What a search term is: whole words, compared case-insensitively."""

from __future__ import annotations

import re

__all__ = ["QUERY_MAX", "WORD", "words"]

QUERY_MAX = 200
# Runs of letters and digits (any script); punctuation, spaces and "_" separate words, as
# PostgreSQL's text-search parser does for the 'simple' configuration.
WORD = re.compile(r"[^\W_]+")


def words(text: str) -> tuple[str, ...]:
    """The distinct words of ``text``, lowercased, in order of first appearance."""
    return tuple(dict.fromkeys(WORD.findall(text.lower())))
