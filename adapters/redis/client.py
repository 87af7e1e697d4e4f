"""Building the shared Redis client."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis

__all__ = ["create_redis"]


def create_redis(url: str, *, max_connections: int = 32) -> Redis:
    """A client over a blocking pool: callers wait for a connection instead of failing."""
    pool = BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=5, socket_timeout=5, socket_connect_timeout=2
    )
    return Redis(connection_pool=pool)
