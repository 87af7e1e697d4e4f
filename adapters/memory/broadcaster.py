"""``InProcessBroadcaster``: the fan-out of one process (the embedded profile)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import structlog

from application.shared.realtime import Broadcaster, Gap, Signal

__all__ = ["InProcessBroadcaster"]

_log = structlog.get_logger("portside.realtime")


class InProcessBroadcaster(Broadcaster):
    """Listeners of this process only. Each has a bounded inbox (``backlog`` signals): a
    listener that falls that far behind loses the newest, logged, and is handed a ``Gap``
    rather than growing."""

    def __init__(self, backlog: int = 10_000) -> None:
        self._backlog = backlog
        self._inboxes: set[asyncio.Queue[Signal]] = set()
        self._behind: set[asyncio.Queue[Signal]] = set()

    async def publish(self, signals: Sequence[Signal]) -> None:
        for inbox in self._inboxes:
            for signal in signals:
                try:
                    inbox.put_nowait(signal)
                except asyncio.QueueFull:
                    self._behind.add(inbox)
                    _log.warning("realtime_listener_behind", dropped=type(signal).__name__)

    async def listen(self) -> AsyncIterator[Signal]:
        inbox: asyncio.Queue[Signal] = asyncio.Queue(self._backlog)
        self._inboxes.add(inbox)
        try:
            while True:
                yield await inbox.get()
                if inbox in self._behind:
                    self._behind.discard(inbox)
                    yield Gap()
        finally:
            self._inboxes.discard(inbox)
            self._behind.discard(inbox)
