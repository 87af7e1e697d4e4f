"""Compare-and-set for every versioned aggregate: one retry loop, written once.

A write to a versioned aggregate is an *attempt*: load the aggregate, check the caller may
change it, change it, store it with compare-and-set (the repository raises
``VersionMismatchError`` when the stored version moved on meanwhile). ``compare_and_set``
decides what a lost race means, from what the caller said it expected:

- a version number: the race is the caller's answer. It gets ``VersionMismatchError``
  exactly as if it had read a stale version, and nothing is retried;
- ``None`` or ``"*"`` (no version named): the whole attempt runs again on the fresh state,
  so the change is applied once, to whatever state won, and is never lost.

A repository may judge the store only at the commit (the SQL adapter sends a compare-and-set
with its outbox row as one statement): pass the unit of work's ``commit`` and it runs at the
end of every attempt, its conflict counting as a lost race like the store's.

Each retry follows a write that won, so a writer that named no version always progresses;
the bound only stops a livelock that a broken repository could cause. An attempt that fails
leaves nothing behind: its aggregate is discarded, and the unit of work publishes events only
of writes that succeeded (``application.shared.events``).
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
    expected: ExpectedVersion,
    attempt: Callable[[], Awaitable[_T]],
    *,
    commit: Callable[[], Awaitable[None]] | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> _T:
    """Run ``attempt`` (load, change, store), then ``commit``, until both land; return what
    ``attempt`` returned.

    ``attempt`` must do the whole read-modify-write each time it is called, inside the
    caller's unit of work; any error other than ``VersionMismatchError`` ends the loop.

    Raises:
        VersionMismatchError: ``expected`` is a version number and the attempt lost a race
            (or found another version), or ``max_attempts`` attempts all lost.
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")

    async def attempt_and_commit() -> _T:
        result = await attempt()
        if commit is not None:
            await commit()
        return result

    for _ in range(max_attempts - 1):
        try:
            return await attempt_and_commit()
        except VersionMismatchError:
            if isinstance(expected, int):
                raise
    return await attempt_and_commit()
