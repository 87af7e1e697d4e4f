"""Word search, as every adapter decides it: the one tokenizer of post search.

A text's words are its runs of letters and digits (``[^\\W_]+``: underscores and every
other character separate words), lowercased with Python's ``str.lower``. A search word
matches a text when it is one of the text's words, so ``hello`` finds "Hello, world!" and
``hell`` does not. The rule itself is the domain's (``domain.posts.search``).
"""

from __future__ import annotations

from collections.abc import Iterable

from domain.posts.search import WORD

__all__ = ["has_words", "is_word", "words_of"]


def words_of(text: str) -> list[str]:
    """The words of ``text``, lowercased, in order (with repeats)."""
    return WORD.findall(text.lower())


def is_word(word: str) -> bool:
    """Whether ``word`` can match at all: it is one whole word (``"50%"`` and ``"a_b"`` are not)."""
    return words_of(word) == [word.lower()]


def has_words(text: str, words: Iterable[str]) -> bool:
    """Whether every one of ``words`` (compared lowercased) is a word of ``text``."""
    found = set(words_of(text))
    return all(word.lower() in found for word in words)
