"""Uploaded images: the type is read from the bytes, never from the client's word for it.

``image_type`` accepts PNG, JPEG, WebP and GIF of at most ``MAX_IMAGE_BYTES``, and only when the
file is well formed to its end and holds no markup or script: files are served publicly, so a
polyglot (a GIF that is also HTML, a JPEG that is also PHP) must never be stored. ``FileKey`` is
the only name a stored file has: 128 random bits and an extension, nothing a client can steer
into a path.
"""

from __future__ import annotations

import enum
import re
import secrets
import struct
import zlib
from dataclasses import dataclass

from domain.shared.errors import DomainError, InvalidValueError

__all__ = [
    "MAX_IMAGE_BYTES",
    "FileKey",
    "FileTooLargeError",
    "ImageType",
    "UnsupportedMediaTypeError",
    "image_type",
]

MAX_IMAGE_BYTES = 5 * 1024 * 1024


class ImageType(enum.Enum):
    """An accepted image format; the value is the extension its keys carry."""

    PNG = "png"
    JPEG = "jpg"
    WEBP = "webp"
    GIF = "gif"

    @property
    def content_type(self) -> str:
        return _CONTENT_TYPES[self]

    @property
    def extension(self) -> str:
        return self.value

    @property
    def label(self) -> str:
        """The name people know the format by (``PNG``, ``WebP``, ...)."""
        return _LABELS[self]

    @classmethod
    def of_extension(cls, ext: str) -> ImageType | None:
        """The type whose key extension is ``ext`` (exactly, lower case), else ``None``."""
        try:
            return cls(ext)
        except ValueError:
            return None


_CONTENT_TYPES = {
    ImageType.PNG: "image/png",
    ImageType.JPEG: "image/jpeg",
    ImageType.WEBP: "image/webp",
    ImageType.GIF: "image/gif",
}
_LABELS = {ImageType.PNG: "PNG", ImageType.JPEG: "JPEG", ImageType.WEBP: "WebP", ImageType.GIF: "GIF"}
ACCEPTED_CONTENT_TYPES = tuple(_CONTENT_TYPES[t] for t in ImageType)


class UnsupportedMediaTypeError(DomainError):
    """The bytes are not an accepted image, or not a well-formed one."""

    def __init__(self, reason: str = "the file is not a recognised image") -> None:
        accepted = ", ".join(t.label for t in ImageType)
        super().__init__(f"{reason}; accepted: {accepted}")
        self.reason = reason
        self.accepted = ACCEPTED_CONTENT_TYPES


class FileTooLargeError(DomainError):
    """The file is longer than ``limit`` bytes."""

    def __init__(self, limit: int, size: int | None = None) -> None:
        super().__init__(f"the file is larger than {limit} bytes")
        self.limit = limit
        self.size = size


# Markers a browser, an XML parser or a PHP interpreter acts on when it meets them anywhere in
# a file: enough to refuse the known polyglots (a GIF or JPEG that also parses as HTML, SVG or
# PHP). Bytes of real images hold them only by an astronomically unlikely accident (each is at
# least five fixed ASCII bytes), while metadata (GIF comments, JPEG COM/APP segments, PNG text
# chunks) is exactly where an attacker writes them. ``nosniff`` on the way out is the other half.
_ACTIVE_CONTENT = re.compile(
    rb"<script|<html|<!doctype|<\?php|<svg|<iframe|<body|<\?xml|javascript:",
    re.IGNORECASE,
)

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_CHUNK = struct.Struct(">I4s")
_JPEG_SOI = b"\xff\xd8\xff"
_JPEG_EOI = b"\xff\xd9"
# Start-of-frame markers: C0..CF except DHT (C4), JPG (C8) and DAC (CC).
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers without a length field: TEM, RST0..RST7 (SOI and EOI are handled apart).
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
_JPEG_SOS = 0xDA
_GIF_SIGNATURES = (b"GIF87a", b"GIF89a")
_GIF_TRAILER = 0x3B
_WEBP_FIRST_CHUNKS = frozenset({b"VP8 ", b"VP8L", b"VP8X"})


def image_type(data: bytes) -> ImageType:
    """The type of the image in ``data``, which must be whole, well formed and free of markup.

    Raises ``InvalidValueError`` when ``data`` is empty, ``FileTooLargeError`` above
    ``MAX_IMAGE_BYTES`` and ``UnsupportedMediaTypeError`` for anything else that is not one of
    the accepted images exactly (unknown type, truncated, trailing data, embedded markup).
    """
    if not data:
        raise InvalidValueError("file", "must not be empty")
    if len(data) > MAX_IMAGE_BYTES:
        raise FileTooLargeError(MAX_IMAGE_BYTES, len(data))
    kind = _sniff(data)
    if kind is None:
        raise UnsupportedMediaTypeError()
    if not _WELL_FORMED[kind](data):
        raise UnsupportedMediaTypeError(f"the file is not a well-formed {kind.label} image")
    if _ACTIVE_CONTENT.search(data):
        raise UnsupportedMediaTypeError(f"the {kind.label} file holds markup or script")
    return kind


def _sniff(data: bytes) -> ImageType | None:
    if data.startswith(_PNG_SIGNATURE):
        return ImageType.PNG
    if data.startswith(_JPEG_SOI):
        return ImageType.JPEG
    if data.startswith(_GIF_SIGNATURES):
        return ImageType.GIF
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return ImageType.WEBP
    return None


def _png_ok(data: bytes) -> bool:
    """Signature, IHDR (13 bytes) first, every chunk's CRC right, IDAT present, IEND last."""
    pos = len(_PNG_SIGNATURE)
    first = True
    seen_idat = False
    while pos + 12 <= len(data):
        length, kind = _PNG_CHUNK.unpack_from(data, pos)
        end = pos + 12 + length
        if length > 0x7FFFFFFF or end > len(data) or not kind.isalpha():
            return False
        if first and (kind != b"IHDR" or length != 13):
            return False
        (crc,) = struct.unpack_from(">I", data, end - 4)
        if zlib.crc32(data[pos + 4 : end - 4]) != crc:
            return False
        if kind == b"IEND":
            return seen_idat and length == 0 and end == len(data)
        seen_idat = seen_idat or kind == b"IDAT"
        first = False
        pos = end
    return False


def _jpeg_ok(data: bytes) -> bool:
    """Marker segments well formed up to the first scan, a frame header before it, EOI last.

    The entropy-coded data after the first SOS is not walked (progressive files interleave more
    segments there); the file must end with EOI, so nothing trails the image.
    """
    if not data.endswith(_JPEG_EOI) or len(data) < 4:
        return False
    pos = 2
    seen_frame = False
    while pos < len(data):
        if data[pos] != 0xFF:
            return False
        while pos < len(data) and data[pos] == 0xFF:  # fill bytes may pad any marker
            pos += 1
        if pos >= len(data):
            return False
        marker = data[pos]
        pos += 1
        if marker in _JPEG_STANDALONE:
            continue
        if marker in (0x00, 0xD8, 0xD9) or pos + 2 > len(data):
            return False
        (length,) = struct.unpack_from(">H", data, pos)
        if length < 2 or pos + length > len(data) - 2:
            return False
        if marker == _JPEG_SOS:
            return seen_frame
        seen_frame = seen_frame or marker in _JPEG_SOF
        pos += length
    return False


def _gif_ok(data: bytes) -> bool:
    """Header, logical screen descriptor, then images and extensions up to the final trailer."""
    if len(data) < 14 or data[-1] != _GIF_TRAILER:
        return False
    flags = data[10]
    pos = 13 + (3 << ((flags & 0x07) + 1) if flags & 0x80 else 0)
    while pos < len(data):
        introducer = data[pos]
        if introducer == _GIF_TRAILER:
            return pos == len(data) - 1
        if introducer == 0x2C:  # image descriptor, optional local colour table, LZW code size
            if pos + 10 > len(data):
                return False
            local = data[pos + 9]
            pos += 10 + (3 << ((local & 0x07) + 1) if local & 0x80 else 0) + 1
        elif introducer == 0x21:  # extension: introducer, label
            pos += 2
        else:
            return False
        pos = _gif_skip_sub_blocks(data, pos)
    return False


def _gif_skip_sub_blocks(data: bytes, pos: int) -> int:
    """The position after a chain of data sub-blocks and its terminator (past the end if cut)."""
    while pos < len(data):
        size = data[pos]
        pos += 1 + size
        if size == 0:
            return pos
    return len(data) + 1


def _webp_ok(data: bytes) -> bool:
    """RIFF size exact, first chunk VP8/VP8L/VP8X, chunks (padded to even) filling the file."""
    if len(data) < 20:
        return False
    (riff_size,) = struct.unpack_from("<I", data, 4)
    if riff_size != len(data) - 8 or data[12:16] not in _WEBP_FIRST_CHUNKS:
        return False
    pos = 12
    while pos + 8 <= len(data):
        (size,) = struct.unpack_from("<I", data, pos + 4)
        pos += 8 + size + (size & 1)
    return pos == len(data)


_WELL_FORMED = {
    ImageType.PNG: _png_ok,
    ImageType.JPEG: _jpeg_ok,
    ImageType.GIF: _gif_ok,
    ImageType.WEBP: _webp_ok,
}

_KEY = re.compile(r"[0-9a-f]{32}\.(png|jpg|webp|gif)")
KEY_RANDOM_BYTES = 16


@dataclass(frozen=True, slots=True)
class FileKey:
    """The public name of a stored file: 32 lower-case hex digits (128 random bits) and the
    image's extension. Nothing else validates, so no key can name a path outside its store."""

    value: str

    def __post_init__(self) -> None:
        if not isinstance(self.value, str) or _KEY.fullmatch(self.value) is None:
            raise InvalidValueError("key", "must be 32 lower-case hex digits and .png, .jpg, .webp or .gif")

    @classmethod
    def new(cls, image: ImageType, random: bytes) -> FileKey:
        """The key of ``random`` (exactly 16 bytes from a CSPRNG) for an image of type ``image``."""
        if len(random) != KEY_RANDOM_BYTES:
            raise ValueError(f"a file key needs exactly {KEY_RANDOM_BYTES} random bytes")
        return cls(f"{random.hex()}.{image.extension}")

    @classmethod
    def generate(cls, image: ImageType) -> FileKey:
        """A fresh key with 128 bits from ``secrets``."""
        return cls.new(image, secrets.token_bytes(KEY_RANDOM_BYTES))

    @classmethod
    def parse(cls, raw: str) -> FileKey | None:
        """The key ``raw`` spells, or ``None`` for anything else (so callers answer 404)."""
        if not isinstance(raw, str) or _KEY.fullmatch(raw) is None:
            return None
        return cls(raw)

    @property
    def image_type(self) -> ImageType:
        kind = ImageType.of_extension(self.value.rsplit(".", 1)[1])
        assert kind is not None  # the pattern admits only known extensions
        return kind

    def __str__(self) -> str:
        return self.value
