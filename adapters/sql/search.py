"""Word search in SQL: PostgreSQL's ``tsvector`` index, and on SQLite a function that
tokenizes exactly as ``adapters.shared.search_words`` does (registered on every SQLite
connection by ``adapters.sql.engine``).

Words reach SQL only after ``is_word`` accepted each one: a "word" holding ``%``, ``_`` or
spaces is no word of any text, so such a search matches nothing without asking the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Integer, Text, and_, bindparam, func, literal_column

from adapters.shared.search_words import has_words
from adapters.sql.tables import POSTS_SEARCH, posts

__all__ = ["HAS_WORDS", "register_sqlite_functions", "search_condition", "search_parameters", "sqlite_prefilters"]

HAS_WORDS = "portside_has_words"
"""``portside_has_words(title, content, words)``: 1 when every one of the space-separated
``words`` is a word of the title or the content (SQLite only)."""

# The LIKE prefilter runs in C and spares most rows the Python call; a few words are enough.
_PREFILTER_WORDS = 2
# Python lowercases these two non-ASCII letters to ASCII ones ("K" Kelvin sign -> "k",
# "İ" -> "i" + a combining dot); SQLite's lower() leaves them, so the prefilter maps them
# itself lest it drop a row the tokenizer would match.
_TO_ASCII = (("\u212a", "k"), ("\u0130", "i"))


def _has_words(title: str | None, content: str | None, words: str | None) -> int:
    if title is None or content is None or words is None:
        return 0
    return int(has_words(f"{title} {content}", words.split()))


def register_sqlite_functions(dbapi_connection: Any) -> None:
    """Make ``HAS_WORDS`` callable on a new SQLite connection (a ``connect`` event)."""
    dbapi_connection.create_function(HAS_WORDS, 3, _has_words, deterministic=True)


def sqlite_prefilters(words: Sequence[str]) -> list[str]:
    """The ASCII words the LIKE prefilter checks (SQLite's lower() and LIKE fold ASCII only)."""
    return sorted((w for w in words if w.isascii()), key=len, reverse=True)[:_PREFILTER_WORDS]


def search_condition(dialect: str, prefilters: int) -> ColumnElement[bool]:
    """Every word of the ``q`` parameter is a word of the post. PostgreSQL answers from
    the GIN index on ``posts.search``; SQLite checks ``prefilters`` words with LIKE
    (``like0``, ``like1``, ...) and lets ``HAS_WORDS`` decide."""
    q = bindparam("q", type_=Text)
    if dialect == "postgresql":
        search: ColumnElement[Any] = literal_column(f"{posts.name}.{POSTS_SEARCH}")
        return search.bool_op("@@")(func.plainto_tsquery(literal_column("'simple'"), q))
    text: ColumnElement[str] = func.lower(posts.c.title + " " + posts.c.content)
    for odd, ascii_letter in _TO_ASCII:
        text = func.replace(text, odd, ascii_letter)
    likes = [text.like(bindparam(f"like{n}", type_=Text), escape="\\") for n in range(prefilters)]
    return and_(*likes, getattr(func, HAS_WORDS)(posts.c.title, posts.c.content, q, type_=Integer) == 1)


def search_parameters(words: Sequence[str], prefilters: Sequence[str]) -> Mapping[str, str]:
    parameters = {"q": " ".join(w.lower() for w in words)}
    for n, word in enumerate(prefilters):
        parameters[f"like{n}"] = f"%{_escaped(word.lower())}%"
    return parameters


def _escaped(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
