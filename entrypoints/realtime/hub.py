"""``Hub``: the authenticated sockets of one API process, and what reaches each.

One listener per process takes every signal from the ``Broadcaster`` and hands each notice
to the sockets of its audience, encoded once. Each socket has a bounded outbox drained by
its own writer: a client that stops reading fills it and is closed with 1008, so no
socket makes the server buffer without bound. A revocation closes the matching sockets
with 4401.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from uuid import UUID

import msgspec
import structlog

from adapters.prometheus.metrics import WEBSOCKETS
from application.shared.realtime import Audience, Broadcaster, Gap, Notice, Revocation, Signal

__all__ = ["UNAUTHORIZED", "Client", "Closing", "Hub"]

_log = structlog.get_logger("portside.realtime")

UNAUTHORIZED = 4401
POLICY_VIOLATION = 1008
OUTBOX_LIMIT = 256
"""Messages a socket may have waiting; one more and it is closed (1008)."""


@dataclass(frozen=True, slots=True)
class Closing:
    code: int
    reason: str


@dataclass(eq=False, slots=True)
class Client:
    """One authenticated socket: whose it is, and the messages waiting for its writer."""

    user_id: UUID
    session_id: UUID
    admin: bool
    outbox: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(OUTBOX_LIMIT))
    closing: Closing | None = None
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    """Set with ``closing``: the socket's handler stops its writer (which may be stuck on a
    client that does not read) and closes the socket."""

    def offer(self, text: str) -> None:
        if self.closing is not None:
            return
        try:
            self.outbox.put_nowait(text)
        except asyncio.QueueFull:
            self.close(POLICY_VIOLATION, "too slow: the client does not read its messages")

    def close(self, code: int, reason: str) -> None:
        """Drop what waits and have the socket closed with ``code`` (the first reason wins)."""
        if self.closing is not None:
            return
        self.closing = Closing(code, reason)
        while not self.outbox.empty():
            self.outbox.get_nowait()
        self.closed.set()

    async def write(self, send: Callable[[str], Awaitable[None]]) -> None:
        """Send what arrives, in order, until cancelled or the socket fails."""
        while True:
            await send(await self.outbox.get())


class Hub:
    def __init__(self) -> None:
        self._clients: set[Client] = set()
        self._by_user: dict[UUID, set[Client]] = {}

    def __len__(self) -> int:
        return len(self._clients)

    def add(self, client: Client) -> None:
        if client not in self._clients:
            WEBSOCKETS.inc()
        self._clients.add(client)
        self._by_user.setdefault(client.user_id, set()).add(client)

    def remove(self, client: Client) -> None:
        if client in self._clients:
            WEBSOCKETS.dec()
        self._clients.discard(client)
        mine = self._by_user.get(client.user_id)
        if mine is not None:
            mine.discard(client)
            if not mine:
                del self._by_user[client.user_id]

    def dispatch(self, signal: Signal) -> int:
        """Hand ``signal`` to the sockets it concerns; how many."""
        if isinstance(signal, Revocation):
            return self._revoke(signal)
        if isinstance(signal, Gap):
            return self._close_all()
        targets = self._audience(signal)
        if targets:
            text = msgspec.json.encode({"type": signal.type, "data": signal.data}).decode()
            for client in targets:
                client.offer(text)
        return len(targets)

    def _audience(self, notice: Notice) -> list[Client]:
        if notice.audience is Audience.EVERYONE:
            return list(self._clients)
        if notice.audience is Audience.ADMINS:
            return [client for client in self._clients if client.admin]
        return list(self._by_user.get(notice.user_id, ())) if notice.user_id is not None else []

    def _close_all(self) -> int:
        """Signals may have been lost (a revocation among them): every socket is closed with
        4401, as API.md closes a revoked session's (its only code for "authenticate again";
        a token that is still good just reconnects), and its client authenticates afresh."""
        for client in self._clients:
            client.close(UNAUTHORIZED, "events may have been missed: authenticate again")
        return len(self._clients)

    def _revoke(self, revocation: Revocation) -> int:
        hit = [
            client
            for client in self._by_user.get(revocation.user_id, ())
            if revocation.session_id is None or client.session_id == revocation.session_id
        ]
        for client in hit:
            client.close(UNAUTHORIZED, "session revoked")
        return len(hit)

    async def listen(self, broadcaster: Broadcaster) -> None:
        """Dispatch every signal the broadcaster brings, until cancelled; a failure of the
        feed itself is logged, and the feed is opened again after a ``Gap``."""
        while True:
            try:
                await self._follow(broadcaster)
            except Exception:  # noqa: BLE001 - the feed outlives any one failure
                _log.exception("realtime_feed_failed")
            self.dispatch(Gap())
            await asyncio.sleep(1.0)

    async def _follow(self, broadcaster: Broadcaster) -> None:
        signals = broadcaster.listen()
        try:
            async for signal in signals:
                try:
                    self.dispatch(signal)
                except Exception:  # noqa: BLE001 - one bad signal never stops the feed
                    _log.exception("realtime_dispatch_failed")
                await asyncio.sleep(0)  # let the sockets' writers drain between signals
        finally:
            with contextlib.suppress(Exception):
                await signals.aclose()  # type: ignore[attr-defined]
