"""Checks on free text that every context shares."""

from __future__ import annotations

import re

from domain.shared.errors import InvalidValueError

# C0 controls and DEL: in a one-line name or address they are never meant, and NUL cannot be
# stored in PostgreSQL ``text`` at all.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def refuse_control_characters(field: str, value: str) -> None:
    """Raise ``InvalidValueError`` for ``field`` when ``value`` holds a C0 control character or DEL."""
    if _CONTROL.search(value):
        raise InvalidValueError(field, "must not contain control characters")


def refuse_nul(field: str, value: str) -> None:
    """Raise ``InvalidValueError`` for ``field`` when ``value`` holds NUL (multi-line text may keep the rest)."""
    if "\x00" in value:
        raise InvalidValueError(field, "must not contain NUL characters")


TELEGRAM_TEXT_MAX = 4096


def telegram_text(raw: str) -> str:
    """A message for Telegram: 1..4096 characters (its limit), not blank, no NUL; kept as sent."""
    refuse_nul("text", raw)
    if not raw.strip():
        raise InvalidValueError("text", "must not be blank")
    if len(raw) > TELEGRAM_TEXT_MAX:
        raise InvalidValueError("text", f"must be at most {TELEGRAM_TEXT_MAX} characters")
    return raw
