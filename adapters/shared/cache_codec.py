"""The one encoding of a cached value: MessagePack through msgspec, typed on the way back.

``decode`` builds a fresh value on every call, so a value read from any cache is never the
object that was stored. One ``Decoder`` per ``kind`` is built on first use and kept (kinds
are the few types the use-cases name, not data).
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

import msgspec

__all__ = ["MAX_VALUE_BYTES", "UndecodableError", "decode", "encode"]

MAX_VALUE_BYTES = 1024 * 1024
"""Encoded values larger than this are not cached: a page of a hundred long posts costs
the database one query, while caching it could let clients fill the store with
megabyte-sized entries of every sort, size and page."""

_T = TypeVar("_T")

_ENCODER = msgspec.msgpack.Encoder()
_DECODERS: dict[Any, msgspec.msgpack.Decoder[Any]] = {}


class UndecodableError(ValueError):
    """The stored bytes are not a ``kind``: garbage, or a value of an older schema."""


def encode(value: object) -> bytes:
    """``value`` as MessagePack; raises ``TypeError`` for a type msgspec cannot encode."""
    return _ENCODER.encode(value)


def decode(data: bytes, kind: type[_T]) -> _T:
    """A new ``kind`` read from ``data``; ``UndecodableError`` if the bytes do not fit it."""
    decoder = _DECODERS.get(kind)
    if decoder is None:
        decoder = _DECODERS[kind] = msgspec.msgpack.Decoder(kind)
    try:
        return cast(_T, decoder.decode(data))
    except Exception as error:
        # msgspec's own errors, and whatever a value object's ``__post_init__`` raises on a
        # value its newer rules refuse (``InvalidValueError``).
        raise UndecodableError(f"not a {kind!r}: {error}") from error
