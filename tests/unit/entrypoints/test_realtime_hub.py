"""The realtime ``Hub`` and its ``Client``s: who receives which notice, revocations, the
bounded outbox, and a model of every client's outbox under any sequence of operations."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.memory.broadcaster import InProcessBroadcaster
from application.shared.realtime import Audience, Gap, Notice, Revocation, Signal
from entrypoints.realtime.hub import OUTBOX_LIMIT, POLICY_VIOLATION, UNAUTHORIZED, Client, Hub


def a_client(user_id: UUID | None = None, *, admin: bool = False, session_id: UUID | None = None) -> Client:
    return Client(user_id=user_id or uuid4(), session_id=session_id or uuid4(), admin=admin)


def a_notice(audience: Audience = Audience.EVERYONE, user_id: UUID | None = None, n: int = 1) -> Notice:
    return Notice(type="test.notice", data={"n": n}, audience=audience, user_id=user_id)


def received(client: Client) -> list[Any]:
    """What waits in the client's outbox, decoded, oldest first (the outbox is emptied)."""
    texts = []
    while not client.outbox.empty():
        texts.append(json.loads(client.outbox.get_nowait()))
    return texts


def code_of(client: Client) -> int | None:
    """The close code the client was given, None while it is open."""
    return None if client.closing is None else client.closing.code


def hub_of(*clients: Client) -> Hub:
    hub = Hub()
    for client in clients:
        hub.add(client)
    return hub


# --------------------------------------------------------------------------- audiences


def test_a_notice_to_everyone_reaches_every_client() -> None:
    clients = [a_client(), a_client(admin=True), a_client()]
    hub = hub_of(*clients)
    assert hub.dispatch(a_notice(Audience.EVERYONE)) == 3
    assert [received(c) for c in clients] == [[{"type": "test.notice", "data": {"n": 1}}]] * 3


def test_a_notice_to_a_user_reaches_only_that_users_clients() -> None:
    ada, grace = uuid4(), uuid4()
    ada_phone, ada_laptop, grace_phone = a_client(ada), a_client(ada), a_client(grace)
    hub = hub_of(ada_phone, ada_laptop, grace_phone)
    assert hub.dispatch(a_notice(Audience.USER, ada)) == 2
    assert len(received(ada_phone)) == len(received(ada_laptop)) == 1
    assert received(grace_phone) == []


def test_a_notice_to_a_user_without_clients_or_without_a_user_id_reaches_nobody() -> None:
    client = a_client()
    hub = hub_of(client)
    assert hub.dispatch(a_notice(Audience.USER, uuid4())) == 0
    assert hub.dispatch(a_notice(Audience.USER, None)) == 0
    assert received(client) == []


def test_a_notice_to_admins_reaches_only_admin_clients() -> None:
    admin, user = a_client(admin=True), a_client()
    hub = hub_of(admin, user)
    assert hub.dispatch(a_notice(Audience.ADMINS)) == 1
    assert len(received(admin)) == 1
    assert received(user) == []


def test_the_encoded_text_is_the_type_and_data_as_json() -> None:
    client = a_client()
    hub = hub_of(client)
    data = {"id": "0190f4c2-0000-7000-8000-000000000001", "nested": {"tags": ["a", "b"], "n": None}, "ok": True}
    hub.dispatch(Notice(type="post.published", data=data, audience=Audience.EVERYONE))
    text = client.outbox.get_nowait()
    assert json.loads(text) == {"type": "post.published", "data": data}
    assert set(json.loads(text)) == {"type", "data"}  # nothing of the audience leaks out


def test_notices_arrive_in_dispatch_order() -> None:
    client = a_client()
    hub = hub_of(client)
    for n in range(5):
        hub.dispatch(a_notice(n=n))
    assert [m["data"]["n"] for m in received(client)] == [0, 1, 2, 3, 4]


# --------------------------------------------------------------------------- revocations


def test_a_session_revocation_closes_only_that_sessions_clients_with_4401() -> None:
    user, session, other_session = uuid4(), uuid4(), uuid4()
    revoked = [a_client(user, session_id=session), a_client(user, session_id=session)]
    kept = a_client(user, session_id=other_session)
    stranger = a_client(session_id=session)  # another user: a session id never matches across users
    hub = hub_of(*revoked, kept, stranger)
    hub.dispatch(a_notice(n=0))
    assert hub.dispatch(Revocation(user_id=user, session_id=session)) == 2
    for client in revoked:
        assert client.closing is not None and client.closing.code == UNAUTHORIZED
        assert client.closed.is_set()
        assert received(client) == []  # what waited is dropped
    for client in (kept, stranger):
        assert client.closing is None and not client.closed.is_set()
        assert len(received(client)) == 1


def test_a_revocation_without_a_session_closes_every_client_of_the_user() -> None:
    user = uuid4()
    mine = [a_client(user), a_client(user, admin=True)]
    other = a_client()
    hub = hub_of(*mine, other)
    assert hub.dispatch(Revocation(user_id=user)) == 2
    assert all(c.closing is not None and c.closing.code == UNAUTHORIZED for c in mine)
    assert other.closing is None


def test_a_revoked_client_receives_nothing_more() -> None:
    user = uuid4()
    client = a_client(user)
    hub = hub_of(client)
    hub.dispatch(Revocation(user_id=user))
    hub.dispatch(a_notice(Audience.USER, user))
    hub.dispatch(a_notice(Audience.EVERYONE))
    assert received(client) == []


# --------------------------------------------------------------------------- slow clients


def test_a_client_that_never_drains_is_closed_with_1008_and_its_outbox_emptied() -> None:
    slow, reader = a_client(), a_client()
    hub = hub_of(slow, reader)
    for n in range(OUTBOX_LIMIT):
        hub.dispatch(a_notice(n=n))
        received(reader)
    assert code_of(slow) is None and slow.outbox.qsize() == OUTBOX_LIMIT  # full, not yet over
    hub.dispatch(a_notice(n=OUTBOX_LIMIT))
    assert code_of(slow) == POLICY_VIOLATION
    assert slow.closed.is_set()
    assert slow.outbox.qsize() == 0
    for n in range(3):  # what comes later is not kept either
        hub.dispatch(a_notice(n=n))
    assert slow.outbox.qsize() == 0
    assert reader.closing is None and len(received(reader)) == 4  # one slow client harms no one else


# --------------------------------------------------------------------------- client and hub


def test_close_keeps_the_first_reason() -> None:
    client = a_client()
    client.offer("waiting")
    client.close(POLICY_VIOLATION, "too slow")
    client.close(UNAUTHORIZED, "session revoked")
    assert (client.closing and (client.closing.code, client.closing.reason)) == (POLICY_VIOLATION, "too slow")
    assert client.outbox.empty() and client.closed.is_set()


def test_remove_forgets_the_client() -> None:
    user = uuid4()
    gone, staying = a_client(user, admin=True), a_client(user)
    hub = hub_of(gone, staying)
    hub.remove(gone)
    assert len(hub) == 1
    assert hub.dispatch(a_notice(Audience.EVERYONE)) == 1
    assert hub.dispatch(a_notice(Audience.ADMINS)) == 0
    assert hub.dispatch(a_notice(Audience.USER, user)) == 1
    assert hub.dispatch(Revocation(user_id=user)) == 1
    assert received(gone) == [] and gone.closing is None
    hub.remove(staying)
    hub.remove(staying)  # twice is harmless
    assert len(hub) == 0
    assert hub.dispatch(a_notice(Audience.USER, user)) == 0


async def test_listen_dispatches_what_the_broadcaster_brings_until_cancelled() -> None:
    broadcaster = InProcessBroadcaster()
    user = uuid4()
    client = a_client(user)
    hub = hub_of(client)
    listening = asyncio.create_task(hub.listen(broadcaster))
    try:

        async def first_message() -> str:
            while True:  # the listener subscribes once it runs: publish until it hears
                await broadcaster.publish([a_notice(Audience.USER, user)])
                try:
                    return await asyncio.wait_for(client.outbox.get(), 0.05)
                except TimeoutError:
                    continue

        assert json.loads(await asyncio.wait_for(first_message(), 2))["type"] == "test.notice"
        await broadcaster.publish([Revocation(user_id=user)])
        await asyncio.wait_for(client.closed.wait(), 2)
        assert client.closing is not None and client.closing.code == UNAUTHORIZED
    finally:
        listening.cancel()
        with pytest.raises(asyncio.CancelledError):
            await listening


def test_a_gap_closes_every_socket_with_4401_so_each_reconnects() -> None:
    clients = [a_client(), a_client(admin=True), a_client()]
    hub = hub_of(*clients)
    assert hub.dispatch(Gap()) == 3
    assert [code_of(client) for client in clients] == [UNAUTHORIZED] * 3


class _FailsOnce(InProcessBroadcaster):
    """A feed whose first ``listen`` breaks at once (as on an unreadable message)."""

    def __init__(self) -> None:
        super().__init__()
        self.opened = 0

    async def listen(self) -> AsyncIterator[Signal]:
        self.opened += 1
        if self.opened == 1:
            raise RuntimeError("the feed broke")
        async for signal in super().listen():
            yield signal


async def test_a_broken_feed_closes_every_socket_and_is_opened_again() -> None:
    broadcaster = _FailsOnce()
    before = a_client()
    hub = hub_of(before)
    listening = asyncio.create_task(hub.listen(broadcaster))
    try:
        await asyncio.wait_for(before.closed.wait(), 2)  # revocations may have been missed
        after = a_client()
        hub.add(after)
        for _ in range(100):  # the feed is opened again after a second
            if broadcaster.opened >= 2:
                break
            await asyncio.sleep(0.05)
        while after.outbox.empty():
            await broadcaster.publish([a_notice()])
            await asyncio.sleep(0.05)
        assert code_of(after) is None
    finally:
        listening.cancel()
        with pytest.raises(asyncio.CancelledError):
            await listening


async def test_a_burst_of_signals_lets_the_writers_drain_in_between() -> None:
    """Three relay batches of 100 notices for one user, waiting together: a client that
    reads as fast as it is sent to is not taken for a slow one."""
    broadcaster = InProcessBroadcaster()
    user = uuid4()
    client = a_client(user)
    hub = hub_of(client)
    sent: list[str] = []

    async def instant(text: str) -> None:
        sent.append(text)

    writer = asyncio.create_task(client.write(instant))
    listening = asyncio.create_task(hub.listen(broadcaster))
    try:
        while not sent:
            await broadcaster.publish([a_notice(Audience.USER, user)])
            await asyncio.sleep(0.01)
        already = len(sent)
        for _ in range(3):
            await broadcaster.publish([a_notice(Audience.USER, user, n) for n in range(OUTBOX_LIMIT)])
        for _ in range(200):
            if len(sent) >= already + 3 * OUTBOX_LIMIT or client.closing is not None:
                break
            await asyncio.sleep(0.01)
        assert client.closing is None
        assert len(sent) == already + 3 * OUTBOX_LIMIT
    finally:
        for task in (listening, writer):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


# --------------------------------------------------------------------------- the model

USERS = [UUID(int=n) for n in range(1, 3)]
SESSIONS = [UUID(int=100 + n) for n in range(2)]


@dataclass
class Modelled:
    client: Client
    expected: list[dict[str, Any]] = field(default_factory=list)
    closed: bool = False

    def concerned_by(self, audience: Audience, user: UUID | None) -> bool:
        return (
            audience is Audience.EVERYONE
            or (audience is Audience.ADMINS and self.client.admin)
            or (audience is Audience.USER and user == self.client.user_id)
        )


class Model:
    """The hub as lists: every client ever added, those present, and what each should hold."""

    def __init__(self) -> None:
        self.hub = Hub()
        self.everyone: list[Modelled] = []
        self.present: list[Modelled] = []

    def add(self, user: UUID, session: UUID, admin: bool) -> None:
        entry = Modelled(Client(user_id=user, session_id=session, admin=admin))
        self.hub.add(entry.client)
        self.everyone.append(entry)
        self.present.append(entry)

    def remove(self, index: int) -> None:
        if self.present:
            self.hub.remove(self.present.pop(index % len(self.present)).client)

    def notice(self, audience: Audience, user: UUID | None, n: int) -> None:
        self.hub.dispatch(Notice(type=f"n{n}", data={"n": n}, audience=audience, user_id=user))
        for entry in self.present:
            if entry.concerned_by(audience, user) and not entry.closed:
                entry.expected.append({"type": f"n{n}", "data": {"n": n}})

    def revoke(self, user: UUID, session: UUID | None) -> None:
        self.hub.dispatch(Revocation(user_id=user, session_id=session))
        for entry in self.present:
            if entry.client.user_id == user and session in (None, entry.client.session_id):
                entry.closed = True
                entry.expected.clear()


add = st.tuples(st.just("add"), st.sampled_from(USERS), st.sampled_from(SESSIONS), st.booleans())
remove = st.tuples(st.just("remove"), st.integers(0, 30))
notice = st.tuples(
    st.just("notice"),
    st.sampled_from(list(Audience)),
    st.one_of(st.none(), st.sampled_from(USERS)),
    st.integers(0, 9),
)
revoke = st.tuples(st.just("revoke"), st.sampled_from(USERS), st.one_of(st.none(), st.sampled_from(SESSIONS)))


@settings(max_examples=50, deadline=None)
@given(
    clients=st.lists(add, min_size=2, max_size=6),
    operations=st.lists(st.one_of(add, remove, notice, revoke), min_size=3, max_size=40),
)
def test_every_outbox_holds_exactly_what_a_simple_model_says(
    clients: list[tuple[Any, ...]], operations: list[tuple[Any, ...]]
) -> None:
    model = Model()
    for name, *arguments in [*clients, *operations]:
        getattr(model, name)(*arguments)
    assert len(model.hub) == len(model.present)
    for entry in model.everyone:
        waiting = [entry.client.outbox.get_nowait() for _ in range(entry.client.outbox.qsize())]
        assert [json.loads(text) for text in waiting] == entry.expected
        assert code_of(entry.client) == (UNAUTHORIZED if entry.closed else None)


def test_the_websocket_gauge_counts_each_served_client_once() -> None:
    from adapters.prometheus.metrics import WEBSOCKETS

    def gauge() -> float:
        return WEBSOCKETS._value.get()  # type: ignore[attr-defined]  # the single series' value

    hub, first, second = Hub(), a_client(), a_client()
    start = gauge()
    hub.add(first)
    hub.add(first)  # again: still one socket
    hub.add(second)
    assert gauge() - start == 2
    hub.remove(first)
    hub.remove(first)  # already gone: no change
    assert gauge() - start == 1
    hub.remove(second)
    assert gauge() == start
