"""``RedisBroadcaster``: fan-out between processes over Redis pub/sub.

Each ``publish`` is one ``PUBLISH`` of a JSON array on one channel; each listening process
holds one subscription, whatever the number of its sockets. Pub/sub keeps nothing for a
listener that is away: a socket that reconnects fetches what it missed over HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any
from uuid import UUID

import msgspec
import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from application.errors import DependencyUnavailableError
from application.shared.realtime import Audience, Broadcaster, Gap, Notice, Revocation, Signal

__all__ = ["RedisBroadcaster"]

_log = structlog.get_logger("portside.realtime")
_MAX_BACKOFF = 5.0


def _encode(signal: Notice | Revocation) -> dict[str, Any]:
    if isinstance(signal, Notice):
        user = None if signal.user_id is None else str(signal.user_id)
        return {"notice": signal.type, "data": signal.data, "audience": signal.audience.value, "user_id": user}
    session = None if signal.session_id is None else str(signal.session_id)
    return {"revoke": str(signal.user_id), "session_id": session}


def _decode(raw: dict[str, Any]) -> Signal:
    if "notice" in raw:
        user = raw.get("user_id")
        return Notice(
            type=raw["notice"],
            data=raw.get("data") or {},
            audience=Audience(raw["audience"]),
            user_id=None if user is None else UUID(user),
        )
    session = raw.get("session_id")
    return Revocation(user_id=UUID(raw["revoke"]), session_id=None if session is None else UUID(session))


class RedisBroadcaster(Broadcaster):
    def __init__(self, redis: Redis, channel: str, *, timeout: float = 2.0) -> None:
        self._redis = redis
        self._channel = channel
        self._timeout = timeout

    async def publish(self, signals: Sequence[Signal]) -> None:
        if not signals:
            return
        message = msgspec.json.encode([_encode(signal) for signal in signals if not isinstance(signal, Gap)])
        try:
            async with asyncio.timeout(self._timeout):
                await self._redis.publish(self._channel, message)
        except (RedisError, OSError, TimeoutError) as error:
            raise DependencyUnavailableError("redis") from error

    async def listen(self) -> AsyncIterator[Signal]:
        backoff, lost = 0.1, False
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                backoff = 0.1
                if lost:  # what was published while away is gone
                    lost = False
                    yield Gap()
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None or message.get("type") != "message":
                        continue
                    for signal in self._signals(message["data"]):
                        yield signal
            except (RedisError, OSError) as error:
                lost = True
                _log.warning("realtime_subscription_lost", error=type(error).__name__, retry_in=backoff)
            finally:
                await _close(pubsub)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, _MAX_BACKOFF)

    def _signals(self, raw: bytes) -> list[Signal]:
        try:
            return [_decode(item) for item in msgspec.json.decode(raw)]
        except Exception:  # noqa: BLE001 - whatever the shape, one bad message is dropped, never the feed
            _log.warning("realtime_message_unreadable", size=len(raw))
            return []


async def _close(pubsub: Any) -> None:
    with contextlib.suppress(RedisError, OSError):
        await pubsub.aclose()
