"""Tiny real images (and their near misses) for the tests: PNG, JPEG, GIF and WebP."""

from __future__ import annotations

import struct
import zlib

from domain.files.images import ImageType


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def a_png(*extra: bytes) -> bytes:
    """A 1x1 8-bit greyscale PNG; ``extra`` chunks go between IHDR and IDAT."""
    ihdr = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    idat = png_chunk(b"IDAT", zlib.compress(b"\x00\x80"))  # filter byte, one grey pixel
    return b"\x89PNG\r\n\x1a\n" + ihdr + b"".join(extra) + idat + png_chunk(b"IEND", b"")


def a_gif(comment: bytes | None = None) -> bytes:
    """A 1x1 GIF89a with a two-colour global table, optionally a comment extension."""
    header = b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    control = b"\x21\xf9\x04\x01\x00\x00\x00\x00"
    extension = b"" if comment is None else b"\x21\xfe" + bytes([len(comment)]) + comment + b"\x00"
    image = b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
    return header + control + extension + image + b"\x3b"


def jpeg_segment(marker: int, body: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body


def a_jpeg(*extra: bytes) -> bytes:
    """SOI, JFIF APP0, DQT, baseline SOF0 (1x1, one component), ``extra``, SOS, scan data, EOI."""
    app0 = jpeg_segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    dqt = jpeg_segment(0xDB, b"\x00" + bytes([1] * 64))
    sof0 = jpeg_segment(0xC0, b"\x08\x00\x01\x00\x01\x01\x01\x11\x00")
    sos = jpeg_segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    return b"\xff\xd8" + app0 + dqt + sof0 + b"".join(extra) + sos + b"\xfb\xd3\x28\xa0\x02\x8a\x00" + b"\xff\xd9"


def a_webp(payload: bytes = b"\x2f\x00\x00\x00\x00\x07\x10\x11\x11\x88\x88\xfe\x07\x00") -> bytes:
    """RIFF/WEBP with one VP8L chunk (padded to an even length)."""
    chunk = b"VP8L" + struct.pack("<I", len(payload)) + payload + b"\x00" * (len(payload) & 1)
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


VALID = {
    ImageType.PNG: a_png(),
    ImageType.JPEG: a_jpeg(),
    ImageType.GIF: a_gif(),
    ImageType.WEBP: a_webp(),
}


def png_of_size(total: int) -> bytes:
    """A well-formed PNG of exactly ``total`` bytes, padded by a private ancillary chunk."""
    padding = total - len(a_png()) - 12
    return a_png(png_chunk(b"prVt", b"\x00" * padding))
