"""``Uuid7Generator``: time-ordered UUIDs (RFC 9562 version 7)."""

from __future__ import annotations

import os
import time
from uuid import UUID

from application.shared.ports import IdGenerator

__all__ = ["Uuid7Generator", "uuid7"]


def uuid7(unix_ms: int | None = None) -> UUID:
    """48 bits of Unix milliseconds, then 74 random bits, with version and variant set."""
    ms = time.time_ns() // 1_000_000 if unix_ms is None else unix_ms
    rand = int.from_bytes(os.urandom(10), "big")
    rand_a = rand >> 68 & 0xFFF
    rand_b = rand & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return UUID(int=value)


class Uuid7Generator(IdGenerator):
    def new_id(self) -> UUID:
        return uuid7()
