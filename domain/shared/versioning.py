"""Optimistic locking: what a writer expects the current version to be."""

from __future__ import annotations

from typing import Literal

from domain.shared.errors import VersionMismatchError

ExpectedVersion = int | Literal["*"] | None
"""A version number, ``"*"`` (any current version), or ``None`` (the writer said nothing)."""


def check_version(expected: ExpectedVersion, actual: int) -> None:
    """Raise ``VersionMismatchError`` unless ``expected`` is ``actual``, ``"*"`` or unsaid."""
    if expected is not None and expected != "*" and expected != actual:
        raise VersionMismatchError(expected=expected, actual=actual)
