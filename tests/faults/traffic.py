"""Realistic traffic for fault tests: a few clients creating, reading and editing their todos
(and reading whatever else a test names) while a dependency fails, every answer recorded.

Each client keeps the truth a careful API consumer would: the version of each todo it
created, as last acknowledged (a 201 or a 200). A read that shows anything else, with no
unacknowledged write to explain it, is a lost (or invented) write. A write that got no
acknowledgement (a 503) may still have committed (the database took the COMMIT, the answer
was lost), so the next read or the next 412 tells the client which: that is the one case in
which a 412 is legitimate here.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

__all__ = ["API", "Outcome", "Timeline", "Traffic", "percentiles", "sign_up"]

API = "/api/v1"
PASSWORD = "a-sturdy-passphrase-42"
OK = frozenset({200, 201, 204})


@dataclass(frozen=True, slots=True)
class Outcome:
    started: float
    ended: float
    method: str
    route: str
    """The route template (``/api/v1/todos/{id}``), so outcomes can be counted by route."""
    status: int
    """0 when no answer came: the connection broke or the client gave up (``error`` says)."""
    retry_after: str | None = None
    problem_type: str | None = None
    error: str | None = None

    @property
    def seconds(self) -> float:
        return self.ended - self.started

    def __str__(self) -> str:
        extra = f" {self.error}" if self.error else f" {self.problem_type}" if self.problem_type else ""
        return f"{self.method} {self.route} -> {self.status} in {self.seconds:.2f}s{extra}"


@dataclass(slots=True)
class Timeline:
    """When the fault began and when the dependency was back (``time.monotonic()``)."""

    fault_at: float | None = None
    back_at: float | None = None

    def fault(self) -> None:
        self.fault_at = time.monotonic()

    def back(self) -> None:
        self.back_at = time.monotonic()

    def overlaps_fault(self, outcome: Outcome, grace: float) -> bool:
        """Whether ``outcome`` was in flight at any moment from the fault until ``grace``
        seconds after the dependency was back."""
        assert self.fault_at is not None and self.back_at is not None, "the fault was not marked"
        return outcome.ended >= self.fault_at and outcome.started <= self.back_at + grace


@dataclass(slots=True)
class _Todo:
    url: str
    acknowledged: int
    """The last version a 201 or 200 reported."""
    title: str
    known: int
    """The version the client believes current (``acknowledged``, or what a read showed)."""
    unacknowledged_writes: int = 0
    """Writes sent since ``known`` that got no answer saying whether they committed."""


@dataclass
class Traffic:
    """``clients`` loops over one account (``auth``) until ``stop``, each creating a todo now
    and then, editing and reading it, listing, and reading ``reads`` (extra URLs)."""

    client: httpx.AsyncClient
    auth: dict[str, str]
    reads: Sequence[str] = ()
    clients: int = 3
    pause: float = 0.02
    outcomes: list[Outcome] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    todos: list[_Todo] = field(default_factory=list)

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.gather(*(self._client_loop(n, stop) for n in range(self.clients)))

    async def _client_loop(self, n: int, stop: asyncio.Event) -> None:
        mine: _Todo | None = None
        iteration = 0
        while not stop.is_set():
            if mine is None or iteration % 6 == 0:
                mine = await self._create(f"client {n} todo {iteration}") or mine
            if mine is not None:
                await self._edit(mine, f"client {n} edit {iteration}")
                await self._read(mine)
            await self._call("GET", f"{API}/todos?size=5", f"{API}/todos")
            for url in self.reads:
                await self._call("GET", url, _template(url))
            if iteration % 4 == n % 4:
                await self._call("GET", "/health/ready", "/health/ready")
            iteration += 1
            await asyncio.sleep(self.pause)

    async def _create(self, title: str) -> _Todo | None:
        response = await self._call("POST", f"{API}/todos", f"{API}/todos", json={"title": title})
        if response is None or response.status_code != 201:
            return None
        body = response.json()
        todo = _Todo(url=response.headers["Location"], acknowledged=body["version"], title=title, known=body["version"])
        self.todos.append(todo)
        return todo

    async def _edit(self, todo: _Todo, title: str) -> None:
        headers = {**self.auth, "If-Match": f'"{todo.known}"'}
        response = await self._call("PATCH", todo.url, f"{API}/todos/{{id}}", json={"title": title}, headers=headers)
        if response is None or response.status_code not in (200, 412):
            todo.unacknowledged_writes += 1
            return
        body = response.json()
        if response.status_code == 200:
            if body["version"] != todo.known + 1:
                self.violations.append(f"{todo.url}: an edit of version {todo.known} acknowledged as {body}")
            todo.acknowledged = todo.known = body["version"]
            todo.title, todo.unacknowledged_writes = title, 0
            return
        self._learn(todo, body["current_version"], "a 412")

    async def _read(self, todo: _Todo) -> None:
        response = await self._call("GET", todo.url, f"{API}/todos/{{id}}")
        if response is not None and response.status_code == 200:
            body = response.json()
            if body["version"] == todo.acknowledged and body["title"] != todo.title:
                self.violations.append(f"{todo.url}: version {todo.acknowledged} reads {body['title']!r}")
            self._learn(todo, body["version"], "a read")

    def _learn(self, todo: _Todo, current: int, how: str) -> None:
        """``current`` is the stored version: it may exceed ``known`` only by writes that got
        no acknowledgement, and may never be below what was acknowledged."""
        if not todo.known <= current <= todo.known + todo.unacknowledged_writes:
            self.violations.append(
                f"{todo.url}: {how} shows version {current}; acknowledged {todo.acknowledged}, "
                f"believed {todo.known}, {todo.unacknowledged_writes} write(s) unanswered"
            )
        todo.known, todo.unacknowledged_writes = current, 0

    async def _call(self, method: str, url: str, route: str, **kwargs: Any) -> httpx.Response | None:
        kwargs.setdefault("headers", self.auth)
        started = time.monotonic()
        try:
            response = await self.client.request(method, url, **kwargs)
        except httpx.HTTPError as error:
            self.outcomes.append(Outcome(started, time.monotonic(), method, route, 0, error=repr(error)))
            return None
        problem = None
        if response.headers.get("content-type", "").startswith("application/problem+json"):
            problem = response.json().get("type")
        outcome = Outcome(
            started, time.monotonic(), method, route, response.status_code, response.headers.get("retry-after"), problem
        )
        self.outcomes.append(outcome)
        return response

    async def verify_everything_acknowledged_is_there(self) -> None:
        """Read back every todo whose creation was acknowledged: each is there, at the
        version the client last learned, with the last acknowledged title at that version."""
        for todo in self.todos:
            response = await self.client.get(todo.url, headers=self.auth)
            assert response.status_code == 200, f"{todo.url} lost: {response.status_code} {response.text}"
            self._learn(todo, response.json()["version"], "the final read")
        assert not self.violations, "\n".join(self.violations)

    def by_status(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for outcome in self.outcomes:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        return dict(sorted(counts.items()))

    def summary(self) -> str:
        return f"{len(self.outcomes)} requests by status {self.by_status()}, {len(self.todos)} todos acknowledged"


def _template(url: str) -> str:
    path = url.partition("?")[0]
    parts = path.split("/")
    return "/".join("{id}" if len(part) == 36 and part.count("-") == 4 else part for part in parts)


def percentiles(samples: Sequence[float]) -> tuple[float, float, float]:
    """p50, p99 and the maximum of ``samples`` (seconds)."""
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99, ordered[-1]


async def sign_up(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    """Register ``email`` and log in; its bearer header."""
    registered = await client.post(f"{API}/auth/register", json={"email": email, "password": password})
    assert registered.status_code == 201, registered.text
    return await log_in(client, email, password)


async def log_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    response = await client.post(f"{API}/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def assert_every_request_answered(outcomes: Sequence[Outcome], *, within: float) -> None:
    """No answer was a server error other than 503, none was missing (a dropped connection,
    a hang past the client's timeout), and each came within ``within`` seconds."""
    broken = [o for o in outcomes if o.status == 0 or (o.status >= 500 and o.status != 503)]
    assert not broken, "requests that failed:\n" + "\n".join(map(str, broken[:20]))
    slow = [o for o in outcomes if o.seconds > within]
    assert not slow, f"requests slower than {within} s:\n" + "\n".join(map(str, slow[:20]))


def assert_unavailable_is_a_problem_with_retry_after(outcomes: Sequence[Outcome]) -> None:
    """Every 503 of the API is the dependency-unavailable problem with a ``Retry-After``
    (readiness answers 503 with its own body)."""
    bad = [
        o
        for o in outcomes
        if o.status == 503
        and o.route != "/health/ready"
        and (o.problem_type != "urn:portside:problem:dependency-unavailable" or not (o.retry_after or "").isdigit())
    ]
    assert not bad, "503s without the problem or Retry-After:\n" + "\n".join(map(str, bad[:20]))


def assert_unavailable_only_during_the_fault(outcomes: Sequence[Outcome], timeline: Timeline, grace: float) -> None:
    """503s (from the API and from readiness) only for requests in flight between the fault
    and ``grace`` seconds after the dependency came back; every request that started later
    succeeded."""
    assert timeline.back_at is not None
    outside = [o for o in outcomes if o.status == 503 and not timeline.overlaps_fault(o, grace)]
    assert not outside, f"503s outside the fault (+{grace} s):\n" + "\n".join(map(str, outside[:20]))
    # A 412 resolves an edit whose 503 hid its commit; ``Traffic.violations`` judges those.
    late = [o for o in outcomes if o.started > timeline.back_at + grace and o.status not in OK | {412}]
    assert not late, f"failures more than {grace} s after recovery:\n" + "\n".join(map(str, late[:20]))
    after = [o for o in outcomes if o.started > timeline.back_at + grace]
    assert after, "no request was made after the recovery: the test proves nothing about it"


def recovery_seconds(outcomes: Sequence[Outcome], timeline: Timeline) -> float:
    """Seconds from the dependency's return to the end of the last request that failed."""
    assert timeline.back_at is not None
    failed = [o.ended for o in outcomes if o.status not in OK]
    return max(0.0, max(failed, default=timeline.back_at) - timeline.back_at)
