"""Errors raised by domain rules. They carry facts, never HTTP statuses."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a domain rule raises."""


class InvalidValueError(DomainError):
    """A value broke a rule of its type (too short, malformed, ...)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class VersionMismatchError(DomainError):
    """The caller expected another version of the aggregate than the stored one."""

    def __init__(self, *, expected: int | None, actual: int | None) -> None:
        super().__init__(f"expected version {expected}, found {actual}")
        self.expected = expected
        self.actual = actual


class IllegalTransitionError(DomainError):
    """The aggregate is not in a state that allows the requested change."""
