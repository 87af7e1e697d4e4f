"""``compare_and_set``: unversioned writers never lose a change, versioned ones never retry.

Writers run as asyncio tasks over a tiny versioned cell. Every read and every store is a step
that only the scheduler lets pass, one at a time, in an order hypothesis draws: so the
properties hold for any interleaving, not only the ones a real event loop happens to produce.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from application.shared.versioned import MAX_ATTEMPTS, compare_and_set
from domain.shared.errors import VersionMismatchError
from domain.shared.versioning import ExpectedVersion, check_version

UNVERSIONED: list[ExpectedVersion] = [None, "*"]


class Scheduler:
    """Lets one waiting writer pass one step at a time; hypothesis picks which."""

    def __init__(self, data: st.DataObject) -> None:
        self._data = data
        self._waiting: dict[int, asyncio.Future[None]] = {}
        self._moved = asyncio.Event()  # a writer parked at a step, or finished

    async def step(self, writer: int) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[writer] = future
        self._moved.set()
        await future

    async def run(self, writers: dict[int, Coroutine[Any, Any, int]]) -> dict[int, int | BaseException]:
        """Each writer's returned version, or the error it raised."""
        tasks = {writer: asyncio.create_task(coroutine) for writer, coroutine in writers.items()}
        for task in tasks.values():
            task.add_done_callback(lambda _: self._moved.set())
        while True:
            # Every unfinished writer is parked at a step before the next one is chosen.
            while len(self._waiting) != sum(not task.done() for task in tasks.values()):
                self._moved.clear()
                await self._moved.wait()
            if not self._waiting:
                break
            chosen = self._data.draw(st.sampled_from(sorted(self._waiting)), label="next step")
            self._waiting.pop(chosen).set_result(None)
        return {writer: task.exception() or task.result() for writer, task in tasks.items()}


@dataclass(frozen=True)
class Cell:
    version: int = 1
    changes: tuple[int, ...] = ()


class VersionedStore:
    """One aggregate's row: a read, and a store that compares the version it read and sets.

    ``at_commit``: the store is judged only at the commit, as the SQL adapter does when it
    sends a compare-and-set with its outbox row; the attempt just holds it."""

    def __init__(self, scheduler: Scheduler, *, at_commit: bool = False) -> None:
        self.cell = Cell()
        self.attempts: Counter[int] = Counter()
        self.at_commit = at_commit
        self._scheduler = scheduler

    async def load(self, writer: int) -> Cell:
        await self._scheduler.step(writer)
        return self.cell

    async def store(self, writer: int, read: Cell, new: Cell) -> None:
        await self._scheduler.step(writer)
        if self.cell.version != read.version:
            raise VersionMismatchError(expected=read.version, actual=self.cell.version)
        self.cell = new

    async def write(self, writer: int, expected: ExpectedVersion) -> int:
        """Append ``writer`` to the changes, as a use-case applies its command."""

        held: list[tuple[Cell, Cell]] = []

        async def attempt() -> int:
            self.attempts[writer] += 1
            seen = await self.load(writer)
            check_version(expected, seen.version)  # what the aggregate checks
            new = Cell(version=seen.version + 1, changes=(*seen.changes, writer))
            if self.at_commit:
                held.append((seen, new))
            else:
                await self.store(writer, seen, new)
            return new.version

        async def commit() -> None:
            await self.store(writer, *held.pop())

        return await compare_and_set(expected, attempt, commit=commit if self.at_commit else None)


def run_writers(data: st.DataObject, expectations: list[ExpectedVersion]) -> tuple[VersionedStore, dict[int, Any]]:
    scheduler = Scheduler(data)
    store = VersionedStore(scheduler, at_commit=data.draw(st.booleans(), label="judged at the commit"))

    async def main() -> dict[int, Any]:
        return await scheduler.run({w: store.write(w, expected) for w, expected in enumerate(expectations)})

    return store, asyncio.run(main())


@given(data=st.data(), expectations=st.lists(st.sampled_from(UNVERSIONED), min_size=1, max_size=6))
def test_any_interleaving_of_unversioned_writers_applies_every_change_exactly_once(
    data: st.DataObject, expectations: list[ExpectedVersion]
) -> None:
    store, outcomes = run_writers(data, expectations)

    writers = len(expectations)
    assert sorted(store.cell.changes) == list(range(writers))
    assert store.cell.version == 1 + writers
    assert sorted(outcomes.values()) == list(range(2, writers + 2))  # each got its own write back
    # A retry follows another writer's won write, so nobody needs more than one per rival.
    assert all(store.attempts[w] <= writers for w in range(writers))


@given(
    data=st.data(),
    expectations=st.lists(st.one_of(st.sampled_from(UNVERSIONED), st.integers(1, 4)), min_size=1, max_size=6),
)
def test_versioned_writers_never_retry_and_unversioned_ones_never_lose_a_change(
    data: st.DataObject, expectations: list[ExpectedVersion]
) -> None:
    store, outcomes = run_writers(data, expectations)

    applied = Counter(store.cell.changes)
    assert all(count == 1 for count in applied.values())
    assert store.cell.version == 1 + len(store.cell.changes)
    for writer, expected in enumerate(expectations):
        outcome = outcomes[writer]
        if isinstance(expected, int):
            assert store.attempts[writer] == 1
            if isinstance(outcome, BaseException):
                assert isinstance(outcome, VersionMismatchError)
                assert writer not in applied
            else:
                assert outcome == expected + 1
                assert applied[writer] == 1
        else:
            assert outcome in range(2, store.cell.version + 1)
            assert applied[writer] == 1


@given(data=st.data(), rivals=st.integers(2, 6))
def test_of_writers_naming_the_same_version_exactly_one_succeeds(data: st.DataObject, rivals: int) -> None:
    store, outcomes = run_writers(data, [1] * rivals)

    won = [w for w, outcome in outcomes.items() if not isinstance(outcome, BaseException)]
    assert len(won) == 1
    assert store.cell == Cell(version=2, changes=(won[0],))
    assert all(isinstance(outcomes[w], VersionMismatchError) for w in outcomes if w not in won)


class Attempts:
    """An attempt that loses its first ``losses`` races, then returns ``"done"``."""

    def __init__(self, losses: int) -> None:
        self.losses = losses
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.losses:
            raise VersionMismatchError(expected=self.calls, actual=self.calls + 1)
        return "done"


class Commits:
    """A commit that finds its first ``losses`` stores stale, then lands."""

    def __init__(self, losses: int) -> None:
        self.losses = losses
        self.calls = 0

    async def __call__(self) -> None:
        self.calls += 1
        if self.calls <= self.losses:
            raise VersionMismatchError(expected=self.calls, actual=self.calls + 1)


@pytest.mark.parametrize("expected", UNVERSIONED)
async def test_a_conflict_found_at_the_commit_runs_the_whole_attempt_again(expected: ExpectedVersion) -> None:
    attempt, commit = Attempts(losses=0), Commits(losses=2)

    assert await compare_and_set(expected, attempt, commit=commit) == "done"
    assert (attempt.calls, commit.calls) == (3, 3)


async def test_a_versioned_writer_gets_the_conflict_its_commit_found() -> None:
    attempt, commit = Attempts(losses=0), Commits(losses=1)

    with pytest.raises(VersionMismatchError) as raised:
        await compare_and_set(3, attempt, commit=commit)
    assert (attempt.calls, commit.calls, raised.value.actual) == (1, 1, 2)


async def test_an_attempt_that_lost_is_not_committed() -> None:
    attempt, commit = Attempts(losses=2), Commits(losses=0)

    assert await compare_and_set(None, attempt, commit=commit) == "done"
    assert (attempt.calls, commit.calls) == (3, 1)


@pytest.mark.parametrize("expected", UNVERSIONED)
async def test_an_unversioned_writer_retries_until_its_store_lands(expected: ExpectedVersion) -> None:
    attempt = Attempts(losses=3)

    assert await compare_and_set(expected, attempt) == "done"
    assert attempt.calls == 4


async def test_a_versioned_writer_gets_the_mismatch_of_its_first_attempt() -> None:
    attempt = Attempts(losses=1)

    with pytest.raises(VersionMismatchError) as raised:
        await compare_and_set(7, attempt)
    assert attempt.calls == 1
    assert raised.value.actual == 2


@pytest.mark.parametrize("expected", UNVERSIONED)
async def test_attempts_are_bounded_and_the_last_mismatch_is_raised(expected: ExpectedVersion) -> None:
    attempt = Attempts(losses=MAX_ATTEMPTS + 5)

    with pytest.raises(VersionMismatchError) as raised:
        await compare_and_set(expected, attempt)
    assert attempt.calls == MAX_ATTEMPTS
    assert raised.value.expected == MAX_ATTEMPTS


async def test_max_attempts_can_be_lowered() -> None:
    attempt = Attempts(losses=5)

    with pytest.raises(VersionMismatchError):
        await compare_and_set(None, attempt, max_attempts=3)
    assert attempt.calls == 3
    with pytest.raises(ValueError, match="at least 1"):
        await compare_and_set(None, attempt, max_attempts=0)


@pytest.mark.parametrize("expected", [*UNVERSIONED, 3])
async def test_any_other_error_ends_the_loop_at_once(expected: ExpectedVersion) -> None:
    calls = 0

    async def attempt() -> None:
        nonlocal calls
        calls += 1
        raise LookupError("gone")

    with pytest.raises(LookupError):
        await compare_and_set(expected, attempt)
    assert calls == 1
