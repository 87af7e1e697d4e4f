"""The ``Email`` value object."""

from __future__ import annotations

import re
from dataclasses import dataclass

from domain.shared.errors import InvalidValueError
from domain.shared.text import refuse_control_characters

EMAIL_MAX_LENGTH = 254
# Deliberately simple: one "@", a non-empty local part, a dotted domain, no spaces.
# Deliverability is proven by mail, not by a regular expression.
_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_email(raw: str) -> str:
    """Trim and case-fold: two spellings of one address compare equal.

    NUL becomes U+FFFD: PostgreSQL ``text`` cannot store NUL, and callers key on this text
    before (or without) parsing it, as the login lockout does. Replacing rather than dropping
    keeps ``a\\x00b@x.org`` apart from the real ``ab@x.org``. ``Email`` refuses NUL itself.
    """
    return raw.strip().lower().replace("\x00", "\ufffd")


@dataclass(frozen=True, slots=True)
class Email:
    """A normalized e-mail address (trimmed, lower-cased, at most 254 characters)."""

    value: str

    def __post_init__(self) -> None:
        if self.value != normalize_email(self.value):
            raise InvalidValueError("email", "must be normalized; use Email.parse")
        if len(self.value) > EMAIL_MAX_LENGTH or not _SHAPE.match(self.value):
            raise InvalidValueError("email", "is not a valid e-mail address")

    @classmethod
    def parse(cls, raw: str) -> Email:
        """Normalize and check ``raw``; control characters inside it (NUL included) are refused."""
        refuse_control_characters("email", raw.strip())
        return cls(normalize_email(raw))

    def __str__(self) -> str:
        return self.value
