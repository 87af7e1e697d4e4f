"""The Cache contract, in memory and on real Redis; Redis down means bypass, never an error;
a bump that failed keeps its adapter bypassing until a bump gets through; and a state machine
over writes, reads and racing readers (and, on Redis, outages) that never reads a stale value.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest
import structlog
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from redis.asyncio import Redis

from adapters.memory.cache import InMemoryCache, NoCache
from adapters.redis.cache import RedisCache
from adapters.shared.cache_codec import MAX_VALUE_BYTES
from adapters.system.clock import FixedClock
from application.shared.cache import Cache, Lookup
from tests.support.builders import T0
from tests.support.server import free_port
from tests.support.tcp_proxy import TcpProxy, tcp_proxy

T = TypeVar("T")

TTL = 60.0
SHORT_TTL = 0.05  # Redis expires in PX milliseconds: the test has to wait for real


@dataclass(frozen=True, slots=True)
class Author:
    id: uuid.UUID
    name: str
    admin: bool


@dataclass(frozen=True, slots=True)
class Post:
    id: uuid.UUID
    title: str
    author: Author
    tags: tuple[str, ...]
    published_at: datetime
    edited_at: datetime | None
    version: int


@dataclass(slots=True)
class Draft:
    title: str
    lines: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PostV2:
    """``Post`` after a deploy that added a required field: old stored values do not fit."""

    id: uuid.UUID
    title: str
    word_count: int


def a_post(version: int = 1, title: str = "Hello") -> Post:
    author = Author(id=uuid.uuid4(), name="Ada", admin=True)
    return Post(uuid.uuid4(), title, author, ("a", "b"), T0, None, version)


@dataclass
class Subject:
    """A cache under test, and how to let its time pass (a clock, or real waiting on Redis)."""

    cache: Cache
    elapse: Callable[[float], Awaitable[None]]


def a_prefix() -> str:
    return f"portside-test:{uuid.uuid4().hex}:"


async def forget(redis: Redis, prefix: str) -> None:
    """Delete a test's keys: generation counters have no expiry."""
    names = [name async for name in redis.scan_iter(match=f"{prefix}*")]
    if names:
        await redis.delete(*names)


@pytest.fixture(params=["memory", "redis"])
async def subject(request: pytest.FixtureRequest) -> AsyncIterator[Subject]:
    if request.param == "memory":
        clock = FixedClock(T0)

        async def advance(seconds: float) -> None:
            clock.advance(timedelta(seconds=seconds))

        yield Subject(InMemoryCache(clock), advance)
        return
    redis = Redis.from_url(request.getfixturevalue("redis_url"))
    prefix = a_prefix()
    yield Subject(RedisCache(redis, prefix=prefix), asyncio.sleep)
    await forget(redis, prefix)
    await redis.aclose()


async def read_through(cache: Cache, namespace: str, key: str, load: Post, ttl: float = TTL) -> tuple[Post, bool]:
    """The reader's path: the cached value on a hit, else ``load`` stored for the next one."""
    lookup = await cache.get(namespace, key, Post)
    if lookup.value is not None:
        return lookup.value, True
    await cache.put(lookup, load, ttl)
    return load, False


# --- the contract -----------------------------------------------------------------------


async def test_a_miss_then_a_hit_of_an_equal_value(subject: Subject) -> None:
    cache, post = subject.cache, a_post()
    lookup = await cache.get("posts", "1", Post)
    assert (lookup.hit, lookup.value, lookup.generation) == (False, None, 0)
    await cache.put(lookup, post, TTL)
    again = await cache.get("posts", "1", Post)
    assert again.hit and again.value == post and again.generation == 0
    assert (again.namespace, again.key, again.kind) == ("posts", "1", Post)


async def test_every_kind_of_field_comes_back_as_it_went_in(subject: Subject) -> None:
    cache, posts = subject.cache, [a_post(1), a_post(2, title="Ünïcode ✓")]
    posts.append(Post(uuid.uuid4(), "", posts[0].author, (), T0, T0 + timedelta(microseconds=1), 0))
    await cache.put(await cache.get("lists", "all", list[Post]), posts, TTL)
    found = (await cache.get("lists", "all", list[Post])).value
    assert found == posts
    assert found is not None and isinstance(found[0].id, uuid.UUID) and isinstance(found[0].tags, tuple)
    assert found[2].edited_at is not None and found[2].edited_at.tzinfo is not None
    assert found[2].edited_at.utcoffset() == timedelta(0)


async def test_a_read_is_a_fresh_copy_never_the_stored_object(subject: Subject) -> None:
    cache, draft = subject.cache, Draft("t", ["one"])
    await cache.put(await cache.get("drafts", "d", Draft), draft, TTL)
    draft.lines.append("changed after put")
    first = (await cache.get("drafts", "d", Draft)).value
    assert first == Draft("t", ["one"]) and first is not draft
    assert first is not None
    first.lines.append("changed after get")
    assert (await cache.get("drafts", "d", Draft)).value == Draft("t", ["one"])


async def test_a_bump_ends_every_value_of_the_namespace(subject: Subject) -> None:
    cache = subject.cache
    for key in ("1", "2"):
        await cache.put(await cache.get("posts", key, Post), a_post(), TTL)
    await cache.bump("posts")
    after = [await cache.get("posts", key, Post) for key in ("1", "2")]
    assert [(lookup.hit, lookup.generation) for lookup in after] == [(False, 1), (False, 1)]


async def test_a_value_loaded_before_a_bump_is_never_read_after_it(subject: Subject) -> None:
    cache = subject.cache
    before = await cache.get("posts", "1", Post)  # a reader misses and goes to the database...
    await cache.bump("posts")  # ...a writer commits and bumps...
    await cache.put(before, a_post(1), TTL)  # ...the reader stores what it loaded before
    assert not (await cache.get("posts", "1", Post)).hit


async def test_namespaces_are_independent(subject: Subject) -> None:
    cache, post = subject.cache, a_post()
    for namespace in ("posts", "todos"):
        await cache.put(await cache.get(namespace, "1", Post), post, TTL)
    await cache.bump("todos")
    await cache.bump("todos")
    posts, todos = await cache.get("posts", "1", Post), await cache.get("todos", "1", Post)
    assert (posts.value, posts.generation) == (post, 0)
    assert (todos.value, todos.generation) == (None, 2)


async def test_a_value_expires_after_its_ttl(subject: Subject) -> None:
    cache = subject.cache
    await cache.put(await cache.get("posts", "short", Post), a_post(), SHORT_TTL)
    await cache.put(await cache.get("posts", "long", Post), a_post(), TTL)
    await subject.elapse(SHORT_TTL * 3)
    assert not (await cache.get("posts", "short", Post)).hit
    assert (await cache.get("posts", "long", Post)).hit


async def test_a_ttl_of_zero_stores_nothing(subject: Subject) -> None:
    await subject.cache.put(await subject.cache.get("posts", "1", Post), a_post(), 0)
    assert not (await subject.cache.get("posts", "1", Post)).hit


async def test_a_value_of_an_older_schema_is_a_miss(subject: Subject) -> None:
    cache = subject.cache
    await cache.put(await cache.get("posts", "1", Post), a_post(), TTL)
    lookup = await cache.get("posts", "1", PostV2)
    assert (lookup.hit, lookup.generation) == (False, 0)
    await cache.put(lookup, PostV2(uuid.uuid4(), "new", 3), TTL)  # the reader stores the new shape
    assert (await cache.get("posts", "1", PostV2)).hit


async def test_a_bypass_lookup_stores_nothing(subject: Subject) -> None:
    await subject.cache.put(Lookup("posts", "1", Post, None), a_post(), TTL)
    assert not (await subject.cache.get("posts", "1", Post)).hit


async def test_stats_count_hits_and_misses(subject: Subject) -> None:
    cache = subject.cache
    lookup = await cache.get("posts", "1", Post)
    await cache.put(lookup, a_post(), TTL)
    await cache.get("posts", "1", Post)
    await cache.get("posts", "1", Post)
    await cache.get("posts", "1", PostV2)
    await cache.bump("posts")
    await cache.get("posts", "1", Post)
    assert (cache.stats.hits, cache.stats.misses, cache.stats.errors) == (2, 3, 0)


# --- one adapter at a time ----------------------------------------------------------------


async def test_memory_keeps_the_most_recently_used_entries() -> None:
    cache = InMemoryCache(FixedClock(T0), max_entries=2)
    for key in ("a", "b"):
        await cache.put(await cache.get("posts", key, Post), a_post(), TTL)
    assert (await cache.get("posts", "a", Post)).hit  # "a" is now the most recent
    await cache.put(await cache.get("posts", "c", Post), a_post(), TTL)
    assert [(await cache.get("posts", key, Post)).hit for key in ("a", "b", "c")] == [True, False, True]


async def test_a_value_over_the_size_cap_is_not_stored(subject: Subject) -> None:
    cache = subject.cache
    await cache.put(await cache.get("big", "x", str), "x" * (MAX_VALUE_BYTES + 1), TTL)
    await cache.put(await cache.get("big", "y", str), "y" * 1000, TTL)
    assert not (await cache.get("big", "x", str)).hit
    assert (await cache.get("big", "y", str)).hit


async def test_memory_keeps_at_most_max_bytes_dropping_the_least_recently_used() -> None:
    cache = InMemoryCache(FixedClock(T0), max_bytes=2500)
    for key in ("a", "b", "c"):
        await cache.put(await cache.get("posts", key, str), key * 1000, TTL)
    assert [(await cache.get("posts", key, str)).hit for key in ("a", "b", "c")] == [False, True, True]
    await cache.put(await cache.get("posts", "b", str), "b", TTL)  # replacing frees the old bytes
    await cache.put(await cache.get("posts", "d", str), "d" * 1000, TTL)
    assert [(await cache.get("posts", key, str)).hit for key in ("b", "c", "d")] == [True, True, True]


async def test_no_cache_always_bypasses() -> None:
    cache = NoCache()
    lookup = await cache.get("posts", "1", Post)
    assert (lookup.generation, lookup.value) == (None, None)
    await cache.put(Lookup("posts", "1", Post, 0), a_post(), TTL)
    await cache.bump("posts")
    assert (await cache.get("posts", "1", Post)).generation is None
    assert (cache.stats.hits, cache.stats.misses, cache.stats.errors) == (0, 2, 0)


async def test_redis_values_and_generations_are_shared_between_clients(redis_url: str) -> None:
    prefix = a_prefix()
    first, second = Redis.from_url(redis_url), Redis.from_url(redis_url)
    try:
        one, two = RedisCache(first, prefix=prefix), RedisCache(second, prefix=prefix)
        post = a_post()
        await one.put(await one.get("posts", "1", Post), post, TTL)
        assert (await two.get("posts", "1", Post)).value == post
        await two.bump("posts")
        assert not (await one.get("posts", "1", Post)).hit
        assert int(await first.get(f"{prefix}posts:gen")) == 1
        assert 59_000 <= await first.pttl(f"{prefix}posts:0:1") <= 60_000
    finally:
        await forget(first, prefix)
        await first.aclose()
        await second.aclose()


async def test_redis_bytes_that_are_no_value_are_a_miss(redis_url: str) -> None:
    redis, prefix = Redis.from_url(redis_url), a_prefix()
    try:
        await redis.set(f"{prefix}posts:0:1", b"\xc1 not msgpack", px=60_000)
        cache = RedisCache(redis, prefix=prefix)
        lookup = await cache.get("posts", "1", Post)
        assert (lookup.hit, lookup.generation, cache.stats.misses) == (False, 0, 1)
    finally:
        await forget(redis, prefix)
        await redis.aclose()


async def test_redis_that_does_not_answer_means_bypass_never_an_error() -> None:
    redis = Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.2)
    cache = RedisCache(redis)
    try:
        with structlog.testing.capture_logs() as logs:
            lookup = await cache.get("posts", "1", Post)
            await cache.put(Lookup("posts", "1", Post, 0), a_post(), TTL)
            await cache.bump("posts")
            again = await cache.get("posts", "1", Post)
    finally:
        await redis.aclose()
    assert (lookup.generation, lookup.value, again.generation) == (None, None, None)
    assert (cache.stats.hits, cache.stats.misses, cache.stats.errors) == (0, 0, 4)
    assert [(log["event"], log["operation"]) for log in logs] == [
        ("cache_unavailable", "get"),
        ("cache_unavailable", "put"),
        ("cache_unavailable", "bump"),
        ("cache_unavailable", "bump"),  # the read retried the pending bump first
    ]


@dataclass
class Proxied:
    """A ``RedisCache`` whose connection goes through a proxy the test can cut, and a
    client straight to Redis to look at what it holds."""

    proxy: TcpProxy
    cache: RedisCache
    direct: Redis
    prefix: str


@pytest.fixture
async def proxied(redis_url: str) -> AsyncIterator[Proxied]:
    url = urlsplit(redis_url)
    async with tcp_proxy(url.hostname or "127.0.0.1", url.port or 6379) as proxy:
        through = Redis(host="127.0.0.1", port=proxy.port, socket_connect_timeout=0.5, socket_timeout=1)
        direct, prefix = Redis.from_url(redis_url), a_prefix()
        try:
            yield Proxied(proxy, RedisCache(through, prefix=prefix), direct, prefix)
        finally:
            await forget(direct, prefix)
            await through.aclose()
            await direct.aclose()


async def test_a_redis_that_accepts_but_never_answers_costs_a_read_its_timeout_only() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.read(-1)  # read everything, answer nothing
        finally:
            writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    redis = Redis(host="127.0.0.1", port=port, socket_timeout=30)
    cache = RedisCache(redis, prefix="hung:", timeout=0.2)
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        lookup = await cache.get("posts", "k", int)
        await cache.put(Lookup("posts", "k", int, 1), 1, 60)
        await cache.bump("posts")
        elapsed = loop.time() - started
    finally:
        await redis.aclose()
        server.close()
        await server.wait_closed()
    assert lookup.generation is None and cache.stats.errors == 3
    assert elapsed < 5  # three waits of 0.2 s, not the client's 30 s socket timeout


async def test_a_failed_bump_bypasses_reads_until_a_read_retries_it(proxied: Proxied) -> None:
    proxy, cache, direct, prefix = proxied.proxy, proxied.cache, proxied.direct, proxied.prefix
    await cache.put(await cache.get("posts", "1", Post), a_post(1), TTL)
    await cache.put(await cache.get("todos", "1", Post), a_post(1), TTL)
    proxy.cut()
    await cache.bump("posts")  # the writer's commit is in; its bump is lost
    during = await cache.get("posts", "1", Post)
    assert during.generation is None and cache.stats.errors == 2
    proxy.restore()
    # The old value is still in Redis, under the generation the failed bump should have ended.
    assert await direct.exists(f"{prefix}posts:0:1")
    after = await cache.get("posts", "1", Post)
    assert (after.hit, after.generation) == (False, 1)  # the read bumped first, then missed
    assert int(await direct.get(f"{prefix}posts:gen")) == 1
    # Caching resumes: no further bumps, and the other namespace was never held back.
    await cache.put(after, a_post(2), TTL)
    hit = await cache.get("posts", "1", Post)
    assert (hit.hit, hit.generation) == (True, 1)
    assert (await cache.get("todos", "1", Post)).hit
    assert cache.stats.errors == 2


async def test_a_failed_bump_ends_when_a_later_bump_succeeds(proxied: Proxied) -> None:
    proxy, cache = proxied.proxy, proxied.cache
    proxy.cut()
    await cache.bump("posts")
    proxy.restore()
    await cache.bump("posts")
    lookup = await cache.get("posts", "1", Post)
    assert lookup.generation == 1  # one successful INCR: the read did not bump again
    assert int(await proxied.direct.get(f"{proxied.prefix}posts:gen")) == 1
    await cache.put(lookup, a_post(), TTL)
    assert (await cache.get("posts", "1", Post)).hit
    assert cache.stats.errors == 1


# --- the state machine ----------------------------------------------------------------------

NAMESPACES = st.sampled_from(["posts", "todos"])
KEYS = st.sampled_from(["1", "2"])
PAGES = [(namespace, key) for namespace in ("posts", "todos") for key in ("1", "2")]


@dataclass(frozen=True, slots=True)
class Page:
    namespace: str
    key: str
    version: int


class ReadThroughMachine(RuleBasedStateMachine):
    """A database (``db``: a version per page) behind the cache. Writers change the database,
    then bump; readers read through. Every read returns the database's current version: never
    a value older than a write that has returned, whatever the interleaving with racing
    readers (who loaded before a write and store after it)."""

    in_flight = Bundle("in_flight")

    def __init__(self) -> None:
        super().__init__()
        self.runner = asyncio.Runner()
        self.db: dict[tuple[str, str], int] = {}
        self.cache = self.run(self.open_cache())

    async def open_cache(self) -> Cache:
        raise NotImplementedError

    async def close_cache(self) -> None:
        return None

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        # The loop itself, not ``Runner.run`` (as ``entrypoints.testing.machines.base``).
        return self.runner.get_loop().run_until_complete(coroutine)

    def teardown(self) -> None:
        try:
            self.run(self.close_cache())
        finally:
            self.runner.close()

    def load(self, namespace: str, key: str) -> Page:
        return Page(namespace, key, self.db.get((namespace, key), 0))

    @invariant()
    def every_hit_is_the_current_version(self) -> None:
        for namespace, key in PAGES:
            page = self.run(self.cache.get(namespace, key, Page)).value
            assert page is None or page == self.load(namespace, key), f"stale hit: {page}, db: {self.db}"

    @rule(namespace=NAMESPACES, key=KEYS)
    def write(self, namespace: str, key: str) -> None:
        self.db[(namespace, key)] = self.db.get((namespace, key), 0) + 1
        self.run(self.cache.bump(namespace))

    @rule(namespace=NAMESPACES, key=KEYS)
    def read(self, namespace: str, key: str) -> None:
        lookup = self.run(self.cache.get(namespace, key, Page))
        page = lookup.value
        if page is None:
            page = self.load(namespace, key)
            self.run(self.cache.put(lookup, page, 30))
        assert page == self.load(namespace, key), f"stale read: {page}, the database has {self.db}"

    @rule(target=in_flight, namespace=NAMESPACES, key=KEYS)
    def start_a_slow_read(self, namespace: str, key: str) -> object:
        """A reader misses and loads from the database; it stores what it loaded later."""
        lookup = self.run(self.cache.get(namespace, key, Page))
        if lookup.value is not None:
            return multiple()
        return (lookup, self.load(namespace, key))

    @rule(slow=consumes(in_flight))
    def finish_a_slow_read(self, slow: tuple[Lookup[Page], Page]) -> None:
        self.run(self.cache.put(slow[0], slow[1], 30))


class MemoryReadThrough(ReadThroughMachine):
    async def open_cache(self) -> Cache:
        self.clock = FixedClock(T0)
        return InMemoryCache(self.clock, max_entries=4)

    @rule(seconds=st.sampled_from([1, 29, 31]))
    def time_passes(self, seconds: int) -> None:
        self.clock.advance(timedelta(seconds=seconds))


class RedisReadThrough(ReadThroughMachine):
    """On real Redis, behind a proxy that cuts the connection and restores it."""

    redis_url = ""

    async def open_cache(self) -> Cache:
        url = urlsplit(self.redis_url)
        self.proxy = TcpProxy(url.hostname or "127.0.0.1", url.port or 6379)
        await self.proxy.start()
        self.redis = Redis(host="127.0.0.1", port=self.proxy.port, socket_connect_timeout=0.5, socket_timeout=1)
        self.prefix = a_prefix()
        self.outage = False
        return RedisCache(self.redis, prefix=self.prefix)

    async def close_cache(self) -> None:
        direct = Redis.from_url(self.redis_url)
        try:
            await forget(direct, self.prefix)
        finally:
            await direct.aclose()
            await self.redis.aclose()
            await self.proxy.close()

    @precondition(lambda self: not self.outage)
    @rule()
    def cut(self) -> None:
        self.outage = True
        self.proxy.cut()

    @precondition(lambda self: self.outage)
    @rule()
    def restore(self) -> None:
        self.outage = False
        self.proxy.restore()


def machine_settings() -> settings:
    """The loaded profile, held to a modest size: each example opens its own client."""
    return settings(max_examples=min(settings().max_examples, 30), stateful_step_count=30)


def test_reads_through_memory_are_never_stale() -> None:
    run_state_machine_as_test(MemoryReadThrough, settings=machine_settings())


def test_reads_through_redis_are_never_stale_even_across_outages(redis_url: str) -> None:
    machine = type("Machine", (RedisReadThrough,), {"redis_url": redis_url})
    run_state_machine_as_test(machine, settings=machine_settings())


async def test_a_failed_bump_is_retried_in_the_background_for_the_other_processes(proxied: Proxied) -> None:
    """Other processes know nothing of the failure: the generation must move on in Redis
    as soon as it is reachable again, without waiting for this process to read."""
    proxy, cache, direct, prefix = proxied.proxy, proxied.cache, proxied.direct, proxied.prefix
    other = RedisCache(direct, prefix=prefix)  # another process, straight to Redis
    await other.put(await other.get("posts", "1", Post), a_post(1), TTL)
    proxy.cut()
    await cache.bump("posts")
    assert (await other.get("posts", "1", Post)).hit  # the failure is invisible over there
    proxy.restore()
    for _ in range(50):
        if await direct.get(f"{prefix}posts:gen") is not None:
            break
        await asyncio.sleep(0.1)
    assert int(await direct.get(f"{prefix}posts:gen")) >= 1
    assert not (await other.get("posts", "1", Post)).hit
    await cache.close()
