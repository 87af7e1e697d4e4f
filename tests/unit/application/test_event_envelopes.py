"""Events leave the process in one envelope, encoded one way, collected in one place."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import IntEnum, StrEnum
from typing import Any, ClassVar
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.shared.event_codec import decode, encode
from adapters.system.ids import Uuid7Generator
from application.shared.events import Envelope, EventCollector, Provenance, collecting, payload
from domain.shared.events import Aggregate, DomainEvent
from domain.shared.ids import UserId

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)

envelopes = st.builds(
    Envelope,
    event_id=st.uuids(),
    name=st.text(min_size=1, max_size=30),
    occurred_at=st.datetimes(timezones=st.just(UTC)),
    aggregate_type=st.text(min_size=1, max_size=20),
    aggregate_id=st.text(max_size=40),
    actor_id=st.none() | st.uuids(),
    request_id=st.none() | st.text(max_size=40),
    payload=st.dictionaries(st.text(max_size=10), json_values, max_size=6),
)


@given(envelopes)
def test_the_codec_round_trips_every_envelope(envelope: Envelope) -> None:
    row = encode(envelope)
    assert isinstance(row["payload"], str)
    assert decode(row) == envelope


@dataclass(frozen=True, slots=True, kw_only=True)
class Noted(DomainEvent):
    name: ClassVar[str] = "thing.noted"
    thing_id: UUID
    note: str


@dataclass(slots=True, kw_only=True, eq=False)
class Thing(Aggregate):
    aggregate_type: ClassVar[str] = "thing"
    id: UUID
    events: list[DomainEvent] = field(default_factory=list)

    def note(self, text: str, at: datetime) -> None:
        self.events.append(Noted(occurred_at=at, thing_id=self.id, note=text))


class ThingStore:
    def __init__(self) -> None:
        self.refuse = False

    async def save(self, thing: Thing) -> None:
        if self.refuse:
            raise RuntimeError("conflict")

    async def save_by_keyword(self, *, thing: Thing) -> None:
        pass

    async def peek(self, thing_id: UUID) -> Thing:
        thing = Thing(id=thing_id)
        thing.note("loaded", datetime(2026, 1, 1, tzinfo=UTC))
        return thing


T = datetime(2026, 11, 30, 12, tzinfo=UTC)


async def test_events_are_taken_when_a_write_of_their_aggregate_returns() -> None:
    collector = EventCollector()
    store = collecting(ThingStore(), collector)
    thing = Thing(id=uuid4())
    thing.note("first", T)
    await store.save(thing)
    thing.note("second", T + timedelta(seconds=1))
    await store.save_by_keyword(thing=thing)
    actor = UserId(uuid4())
    sealed = collector.envelopes(Uuid7Generator().new_id, Provenance(request_id="r1", actor_id=actor))
    assert [(e.name, e.payload["note"]) for e in sealed] == [("thing.noted", "first"), ("thing.noted", "second")]
    assert {(e.aggregate_type, e.aggregate_id, e.actor_id, e.request_id) for e in sealed} == {
        ("thing", str(thing.id), actor, "r1")
    }
    assert sealed[0].payload == {"thing_id": str(thing.id), "note": "first"}
    assert len({e.event_id for e in sealed}) == 2 and all(e.event_id.version == 7 for e in sealed)
    assert thing.events == []
    assert collector.envelopes(Uuid7Generator().new_id, Provenance()) == []  # sealed once


async def test_a_failed_write_or_a_read_takes_nothing() -> None:
    collector = EventCollector()
    inner = ThingStore()
    store = collecting(inner, collector)
    thing = Thing(id=uuid4())
    thing.note("refused", T)
    inner.refuse = True
    with pytest.raises(RuntimeError):
        await store.save(thing)
    loaded = await store.peek(uuid4())  # a result is not a write
    assert collector.envelopes(Uuid7Generator().new_id, Provenance()) == []
    assert [e.note for e in thing.events] == ["refused"]  # type: ignore[attr-defined]
    assert len(loaded.events) == 1


def test_every_domain_event_has_a_public_dotted_name() -> None:
    def subclasses(cls: type[Any]) -> list[type[Any]]:
        return [c for sub in cls.__subclasses__() for c in (sub, *subclasses(sub))]

    import domain.identity.events
    import domain.todos.todo  # noqa: F401

    # ``dataclass(slots=True)`` makes a new class and leaves the first one behind: one per name.
    classes = {(cls.__module__, cls.__qualname__): cls for cls in subclasses(DomainEvent)}
    names = [cls.name for (module, _), cls in classes.items() if module.startswith("domain.")]
    assert len(names) == len(set(names)), "two event classes share a public name"
    assert {"user.registered", "session.started", "session.revoked", "todo.changed"} <= set(names)
    assert all(name.count(".") == 1 and name == name.lower() for name in names)


class Colour(StrEnum):
    RED = "red"


class Size(IntEnum):
    BIG = 3


@dataclass(frozen=True, slots=True)
class Where:
    place_id: UUID
    at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Mixed(DomainEvent):
    name: ClassVar[str] = "thing.mixed"
    thing_id: UUID
    label: str
    count: int
    share: float
    flag: bool
    missing: None
    colour: Colour
    size: Size
    tags: tuple[str, ...]
    where: Where
    wheres: list[Where]


@given(
    thing_id=st.uuids(),
    label=st.text(),
    count=st.integers(),
    share=st.floats(allow_nan=False, allow_infinity=False),
    flag=st.booleans(),
    instants=st.lists(st.none() | st.datetimes(timezones=st.just(UTC)), min_size=1, max_size=3),
    tags=st.lists(st.text(max_size=5), max_size=3),
)
def test_a_payload_holds_the_events_fields_as_json_values(
    thing_id: UUID,
    label: str,
    count: int,
    share: float,
    flag: bool,
    instants: list[datetime | None],
    tags: list[str],
) -> None:
    """Ids and instants as strings, enums (a ``str`` enum too) as their values, tuples as
    lists, nested dataclasses as objects; ``occurred_at`` stays on the envelope."""
    wheres = [Where(place_id=thing_id, at=at) for at in instants]
    event = Mixed(
        occurred_at=T,
        thing_id=thing_id,
        label=label,
        count=count,
        share=share,
        flag=flag,
        missing=None,
        colour=Colour.RED,
        size=Size.BIG,
        tags=tuple(tags),
        where=wheres[0],
        wheres=wheres,
    )
    plain_wheres = [{"place_id": str(thing_id), "at": None if at is None else at.isoformat()} for at in instants]
    expected = {
        "thing_id": str(thing_id),
        "label": label,
        "count": count,
        "share": share,
        "flag": flag,
        "missing": None,
        "colour": "red",
        "size": 3,
        "tags": tags,
        "where": plain_wheres[0],
        "wheres": plain_wheres,
    }
    got = payload(event)
    assert got == expected
    assert type(got["colour"]) is str and type(got["size"]) is int
    assert json.loads(json.dumps(got, allow_nan=False)) == expected
