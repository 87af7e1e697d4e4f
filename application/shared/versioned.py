"""Compare-and-set for every versioned aggregate: one retry loop, written once.

A write to a versioned aggregate is an *attempt*: load the aggregate, check the caller may
change it, change it, store it with compare-and-set (the repository raises
``VersionMismatchError`` when the stored version moved on meanwhile). ``compare_and_set``
decides what a lost race means, from what the caller said it expected:

- a version number: the race is the caller's answer. It gets ``VersionMismatchError``
  exactly as if it had read a stale version, and nothing is retried;
- ``None`` or ``"*"`` (no version named): the whole attempt runs again on the fresh state,
  so the change is applied once, to whatever state won, and is never lost.

Each retry follows a write that won, so a writer that named no version always progresses;
the bound only stops a livelock that a broken repository could cause. An attempt that fails
leaves nothing behind: its aggregate is discarded, and the unit of work collects events only
from writes that succeeded (``application.shared.events``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from domain.shared.errors import VersionMismatchError
from domain.shared.versioning import ExpectedVersion

__all__ = ["MAX_ATTEMPTS", "compare_and_set"]

MAX_ATTEMPTS = 100

_T = TypeVar("_T")


async def compare_and_set(
    expected: ExpectedVersion, attempt: Callable[[], Awaitable[_T]], *, max_attempts: int = MAX_ATTEMPTS
) -> _T:
    """Run ``attempt`` (load, change, store) until its store lands; return what it returned.

    ``attempt`` must do the whole read-modify-write each time it is called, inside the
    caller's unit of work; any error other than ``VersionMismatchError`` ends the loop.

    Raises:
        VersionMismatchError: ``expected`` is a version number and the attempt lost a race
            (or found another version), or ``max_attempts`` attempts all lost.
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    for _ in range(max_attempts - 1):
        try:
            return await attempt()
        except VersionMismatchError:
            if isinstance(expected, int):
                raise
    return await attempt()
