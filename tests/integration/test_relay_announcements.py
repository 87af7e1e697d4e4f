"""The relay announces committed events (on memory, SQLite and PostgreSQL): each once, in
commit order, nothing of a rolled-back unit of work, and nothing lost while the broadcaster
is unreachable (the batch is released, the error propagates, the next pass announces it)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import ClassVar
from uuid import uuid4

import pytest

from adapters.memory.job_queue import InMemoryJobQueue
from adapters.system.ids import Uuid7Generator
from application.errors import DependencyUnavailableError
from application.jobs.relay_outbox import RelayRules
from application.shared.realtime import Audience, Broadcaster, Notice, Revocation, Signal
from domain.identity.email import Email
from domain.identity.ids import SessionId
from domain.identity.session import Session, SessionLifetime
from domain.identity.user import Role, User
from domain.shared.events import DomainEvent
from domain.shared.ids import UserId
from domain.todos.todo import Title, Todo, TodoId
from tests.support.outbox import LEASE, Outbox

RULES = RelayRules(batch=3, lease=LEASE, idle_delay=0.01, max_backoff=0.05)
IDS = Uuid7Generator()


class RecordingBroadcaster(Broadcaster):
    """Keeps what is published; while ``down`` refuses as an unreachable Redis (and keeps
    the refused attempts apart)."""

    def __init__(self) -> None:
        self.published: list[list[Signal]] = []
        self.refused: list[list[Signal]] = []
        self.down = False

    async def publish(self, signals: Sequence[Signal]) -> None:
        if self.down:
            self.refused.append(list(signals))
            raise DependencyUnavailableError("redis")
        self.published.append(list(signals))

    def listen(self) -> AsyncIterator[Signal]:
        raise NotImplementedError("the relay only publishes")


async def a_user(store: Outbox) -> UserId:
    """A committed account (todos and sessions belong to one); ``user.registered`` announces nothing."""
    user = User.register(
        user_id=UserId(IDS.new_id()),
        email=Email.parse(f"{uuid4().hex[:10]}@example.com"),
        display_name=None,
        password_hash="h",
        role=Role.USER,
        now=store.clock.now(),
    )
    async with store.new_unit() as uow:
        await uow.users.add(user)
        await uow.commit()
    return user.id


def a_todo(store: Outbox, owner: UserId, title: str) -> Todo:
    return Todo.create(
        todo_id=TodoId(IDS.new_id()),
        owner_id=owner,
        title=Title(title),
        description="",
        due_at=None,
        now=store.clock.now(),
    )


async def commit_todo(store: Outbox, owner: UserId, title: str) -> Todo:
    todo = a_todo(store, owner, title)
    async with store.new_unit() as uow:
        await uow.todos.add(todo)
        await uow.commit()
    return todo


def todo_notices(signals: Sequence[Signal]) -> list[tuple[str, int]]:
    """``(title, version)`` of each ``todo.changed`` notice, in order; anything else fails."""
    seen = []
    for signal in signals:
        assert isinstance(signal, Notice) and signal.type == "todo.changed", signal
        seen.append((signal.data["title"], signal.data["version"]))
    return seen


async def relay_all(store: Outbox, broadcaster: Broadcaster) -> None:
    relay = store.relay(InMemoryJobQueue(), RULES, broadcaster=broadcaster)
    for _ in range(10):
        if (await relay()).claimed == 0:
            return
    raise AssertionError("the outbox did not drain in 10 passes")


async def test_committed_events_are_announced_once_in_commit_order(store: Outbox) -> None:
    owner = await a_user(store)
    milk = await commit_todo(store, owner, "Buy milk")
    async with store.new_unit() as uow:
        stored = await uow.todos.get(milk.id)
        assert stored is not None
        stored.edit(expected=1, now=store.clock.now(), title=Title("Buy oat milk"))
        await uow.todos.save(stored)
        await uow.commit()
    await commit_todo(store, owner, "Call mum")
    broadcaster = RecordingBroadcaster()
    relay = store.relay(InMemoryJobQueue(), RULES, broadcaster=broadcaster)
    reports = [await relay() for _ in range(3)]
    assert [r.claimed for r in reports] == [3, 1, 0]
    # a batch's signals go out in one publish; a batch with none publishes nothing
    assert [todo_notices(batch) for batch in broadcaster.published] == [
        [("Buy milk", 1), ("Buy oat milk", 2)],
        [("Call mum", 1)],
    ]
    signal = broadcaster.published[0][0]
    assert isinstance(signal, Notice)
    assert (signal.audience, signal.user_id, signal.data["id"]) == (Audience.USER, owner, str(milk.id))
    assert await store.reader.oldest_pending() is None


async def test_a_committed_revocation_is_announced(store: Outbox) -> None:
    owner = await a_user(store)
    session = Session.start(
        session_id=SessionId(IDS.new_id()),
        user_id=owner,
        token_hash=uuid4().hex,
        now=store.clock.now(),
        lifetime=SessionLifetime(),
        user_agent=None,
        ip=None,
    )
    async with store.new_unit() as uow:
        await uow.sessions.add(session)
        await uow.commit()
    session.revoke(now=store.clock.now(), reason="logout")
    async with store.new_unit() as uow:
        assert await uow.sessions.revoke(session)
        await uow.commit()
    broadcaster = RecordingBroadcaster()
    await relay_all(store, broadcaster)
    assert broadcaster.published == [[Revocation(user_id=owner, session_id=session.id)]]


async def test_a_rolled_back_unit_of_work_announces_nothing(store: Outbox) -> None:
    owner = await a_user(store)
    async with store.new_unit() as uow:  # left without commit
        await uow.todos.add(a_todo(store, owner, "Never committed"))

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with store.new_unit() as uow:  # left by an error
            await uow.todos.add(a_todo(store, owner, "Failed midway"))
            raise Boom
    await commit_todo(store, owner, "Committed")
    broadcaster = RecordingBroadcaster()
    await relay_all(store, broadcaster)
    assert [todo_notices(batch) for batch in broadcaster.published] == [[("Committed", 1)]]


async def test_while_the_broadcaster_is_unreachable_the_batch_is_released_and_announced_later(
    store: Outbox,
) -> None:
    owner = await a_user(store)
    await commit_todo(store, owner, "First")
    await commit_todo(store, owner, "Second")
    broadcaster = RecordingBroadcaster()
    broadcaster.down = True
    queue = InMemoryJobQueue()
    relay = store.relay(queue, RULES, broadcaster=broadcaster)
    with pytest.raises(DependencyUnavailableError):
        await relay()
    assert broadcaster.published == []
    assert await store.reader.oldest_pending() is not None  # nothing marked done
    with pytest.raises(DependencyUnavailableError):  # released, not held: claimed again at once
        await relay()
    assert [todo_notices(attempt) for attempt in broadcaster.refused] == [[("First", 1), ("Second", 1)]] * 2
    broadcaster.down = False
    report = await relay()  # back: no lease to wait out
    assert report.claimed == 3
    assert [todo_notices(batch) for batch in broadcaster.published] == [[("First", 1), ("Second", 1)]]
    assert (await relay()).claimed == 0
    assert len(broadcaster.published) == 1
    assert await store.reader.oldest_pending() is None
    assert queue.jobs.qsize() == 1  # the registration's job, queued once


@dataclass(frozen=True, slots=True, kw_only=True)
class TodoChangedBeforeAnnouncements(DomainEvent):
    """``todo.changed`` as it was committed before events carried the todo's state (an
    outbox row older than the realtime release, still unrelayed when it is deployed)."""

    name: ClassVar[str] = "todo.changed"
    todo_id: TodoId
    owner_id: UserId
    version: int
    change: str


async def test_an_event_the_announcer_cannot_read_does_not_stop_the_relay(store: Outbox) -> None:
    """Realtime is best effort (the Hub logs and skips a signal it cannot dispatch, the Redis
    listener one it cannot decode); the relay must not let it hold back the job queue."""
    owner = await a_user(store)
    legacy = a_todo(store, owner, "Old")
    legacy.events[:] = [
        TodoChangedBeforeAnnouncements(
            occurred_at=store.clock.now(), todo_id=legacy.id, owner_id=owner, version=1, change="created"
        )
    ]
    async with store.new_unit() as uow:
        await uow.todos.add(legacy)
        await uow.commit()
    await commit_todo(store, owner, "New")
    broadcaster = RecordingBroadcaster()
    queue = InMemoryJobQueue()
    report = await store.relay(queue, RULES, broadcaster=broadcaster)()
    assert report.claimed == 3
    assert queue.jobs.qsize() == 1  # the registration's job went out
    assert [todo_notices(batch) for batch in broadcaster.published] == [[("New", 1)]]
    assert await store.reader.oldest_pending() is None
