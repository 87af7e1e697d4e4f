"""``image_type`` (type by content, size limits, refused polyglots) and ``FileKey``."""

from __future__ import annotations

import random
import re
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.files.images import (
    MAX_IMAGE_BYTES,
    FileKey,
    FileTooLargeError,
    ImageType,
    UnsupportedMediaTypeError,
    image_type,
)
from domain.shared.errors import InvalidValueError
from tests.support.images import VALID, a_gif, a_jpeg, a_png, a_webp, jpeg_segment, png_chunk, png_of_size

KEY_PATTERN = r"[0-9a-f]{32}\.(png|jpg|webp|gif)"

# ------------------------------------------------------------------ recognised


@pytest.mark.parametrize(
    ("kind", "content_type", "extension"),
    [
        (ImageType.PNG, "image/png", "png"),
        (ImageType.JPEG, "image/jpeg", "jpg"),
        (ImageType.GIF, "image/gif", "gif"),
        (ImageType.WEBP, "image/webp", "webp"),
    ],
)
def test_each_type_is_recognised_by_content(kind: ImageType, content_type: str, extension: str) -> None:
    assert image_type(VALID[kind]) is kind
    assert kind.content_type == content_type
    assert kind.extension == extension
    assert ImageType.of_extension(extension) is kind


def test_of_extension_knows_only_the_key_extensions() -> None:
    assert ImageType.of_extension("jpeg") is None
    assert ImageType.of_extension("PNG") is None
    assert ImageType.of_extension("svg") is None


def test_a_gif87a_and_a_vp8x_webp_are_accepted() -> None:
    assert image_type(b"GIF87a" + a_gif()[6:]) is ImageType.GIF
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x00" * 10
    assert image_type(b"RIFF" + struct.pack("<I", 4 + len(vp8x)) + b"WEBP" + vp8x) is ImageType.WEBP


def test_metadata_without_markup_is_fine() -> None:
    assert image_type(a_gif(b"made with care")) is ImageType.GIF
    assert image_type(a_jpeg(jpeg_segment(0xFE, b"a comment"))) is ImageType.JPEG
    assert image_type(a_png(png_chunk(b"tEXt", b"Comment\x00a < b > c"))) is ImageType.PNG


# ------------------------------------------------------------------ refused: type, emptiness, size


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"<!DOCTYPE html><html><body>hi</body></html>", id="html"),
        pytest.param(b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer\n%%EOF", id="pdf"),
        pytest.param(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', id="svg"),
        pytest.param(random.Random(7).randbytes(1024), id="random"),
        pytest.param(b"BM\x3a\x00\x00\x00", id="bmp"),
        pytest.param(b"GIF89a/*\x0a\x00\x00\x00\x00*/=alert(1);", id="gif-javascript"),
    ],
)
def test_other_content_is_an_unsupported_media_type(data: bytes) -> None:
    with pytest.raises(UnsupportedMediaTypeError) as caught:
        image_type(data)
    assert "PNG, JPEG, WebP, GIF" in str(caught.value)
    assert caught.value.accepted == ("image/png", "image/jpeg", "image/webp", "image/gif")


def test_an_empty_file_is_an_invalid_value() -> None:
    with pytest.raises(InvalidValueError) as caught:
        image_type(b"")
    assert caught.value.field == "file"
    assert caught.value.message == "must not be empty"


def test_one_byte_over_the_limit_is_too_large() -> None:
    with pytest.raises(FileTooLargeError) as caught:
        image_type(png_of_size(MAX_IMAGE_BYTES + 1))
    assert caught.value.limit == MAX_IMAGE_BYTES == 5 * 1024 * 1024


def test_exactly_the_limit_is_accepted() -> None:
    data = png_of_size(MAX_IMAGE_BYTES)
    assert len(data) == MAX_IMAGE_BYTES
    assert image_type(data) is ImageType.PNG


# ------------------------------------------------------------------ refused: forged, truncated, polyglot


def _ihdr_with_bad_crc() -> bytes:
    data = bytearray(a_png())
    data[29] ^= 0xFF  # the first byte of IHDR's CRC (signature 8 + length 4 + type 4 + body 13)
    return bytes(data)


def _webp_size_off_by(delta: int) -> bytes:
    data = a_webp()
    return data[:4] + struct.pack("<I", len(data) - 8 + delta) + data[8:]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        pytest.param(a_png() + b"\x00trailing", "well-formed PNG", id="png-after-iend"),
        pytest.param(_ihdr_with_bad_crc(), "well-formed PNG", id="png-bad-crc"),
        pytest.param(a_png()[:8] + a_png()[33:], "well-formed PNG", id="png-without-ihdr"),
        pytest.param(a_png(png_chunk(b"tEXt", b"c\x00<script>x</script>")), "markup", id="png-text-script"),
        pytest.param(a_gif(b"<script>alert(1)</script>"), "markup", id="gif-comment-script"),
        pytest.param(a_gif() + b"<b>", "well-formed GIF", id="gif-after-trailer"),
        pytest.param(a_jpeg(jpeg_segment(0xFE, b"<?php system($_GET['c']); ?>")), "markup", id="jpeg-php"),
        pytest.param(a_jpeg(jpeg_segment(0xE1, b"<?XML version='1.0'?>")), "markup", id="jpeg-xml-uppercase"),
        pytest.param(a_jpeg() + b"trailing", "well-formed JPEG", id="jpeg-after-eoi"),
        pytest.param(b"\xff\xd8\xff\xd9", "well-formed JPEG", id="jpeg-no-frame"),
        pytest.param(_webp_size_off_by(+2), "well-formed WebP", id="webp-riff-size-long"),
        pytest.param(_webp_size_off_by(-2), "well-formed WebP", id="webp-riff-size-short"),
        pytest.param(a_webp() + b"\x00\x00", "well-formed WebP", id="webp-trailing"),
        pytest.param(a_webp().replace(b"VP8L", b"ICCP"), "well-formed WebP", id="webp-bad-first-chunk"),
    ],
)
def test_forged_and_polyglot_files_are_unsupported(data: bytes, reason: str) -> None:
    with pytest.raises(UnsupportedMediaTypeError, match=reason):
        image_type(data)


@pytest.mark.parametrize("kind", list(ImageType))
def test_a_truncated_image_is_unsupported(kind: ImageType) -> None:
    for cut in (1, 2, len(VALID[kind]) // 2):
        with pytest.raises(UnsupportedMediaTypeError, match="well-formed"):
            image_type(VALID[kind][:-cut])


@pytest.mark.parametrize(
    "marker",
    [b"<script", b"<HTML", b"<!doctype", b"<?php", b"<Svg", b"<iframe", b"<body", b"<?xml", b"JavaScript:"],
)
def test_every_markup_marker_is_refused_in_any_case(marker: bytes) -> None:
    with pytest.raises(UnsupportedMediaTypeError, match="markup"):
        image_type(a_gif(b"x" + marker + b"x"))


# ------------------------------------------------------------------ image_type never fails otherwise

_DOMAIN_ERRORS = (InvalidValueError, FileTooLargeError, UnsupportedMediaTypeError)
_PREFIXES = [b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"GIF87a", b"RIFF\x10\x00\x00\x00WEBPVP8L"]


@st.composite
def mutated_images(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(list(VALID.values()))))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["flip", "insert", "delete"]))
        if action == "flip" and at < len(data):
            data[at] ^= draw(st.integers(1, 255))
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        else:
            del data[at : at + draw(st.integers(1, 8))]
    return bytes(data)


@given(
    st.one_of(
        st.binary(max_size=2048),
        st.tuples(st.sampled_from(_PREFIXES), st.binary(max_size=2048)).map(b"".join),
        mutated_images(),
    )
)
def test_image_type_returns_a_type_or_raises_a_domain_error(data: bytes) -> None:
    try:
        kind = image_type(data)
    except _DOMAIN_ERRORS:
        return
    assert isinstance(kind, ImageType)


# ------------------------------------------------------------------ FileKey


@given(st.one_of(st.text(), st.from_regex(KEY_PATTERN, fullmatch=True)))
def test_parse_returns_a_key_exactly_for_well_formed_strings(raw: str) -> None:
    key = FileKey.parse(raw)
    if re.fullmatch(KEY_PATTERN, raw):
        assert key is not None
        assert key.value == raw
    else:
        assert key is None


HEX = "0123456789abcdef" * 2


@pytest.mark.parametrize(
    "raw",
    [
        "../x",
        f"../{HEX}.png",
        f"..%2f{HEX}.png",
        f"..%2F{HEX[:26]}.png",
        f"/etc/{HEX}.png",
        f"/{HEX}.png",
        f"{HEX}.png\x00",
        f"{HEX}\x00.png",
        f"..\\{HEX}.png",
        f"{HEX[:31]}\\.png",
        f"{HEX.upper()}.png",
        f"{HEX}.PNG",
        f"{HEX}.png\n",
        f"{HEX}.svg",
        f"{HEX}.jpeg",
        f"{HEX}png",
        f"{HEX[:31]}.png",
        f"{HEX}0.png",
        f"{HEX}.png/",
        f" {HEX}.png",
        f"{HEX[:30]}٣٣.png",
        "",
        ".",
        "..",
    ],
)
def test_traversal_and_near_misses_are_refused(raw: str) -> None:
    assert FileKey.parse(raw) is None
    with pytest.raises(InvalidValueError):
        FileKey(raw)


@pytest.mark.parametrize("kind", list(ImageType))
def test_generate_round_trips_through_parse(kind: ImageType) -> None:
    key = FileKey.generate(kind)
    stem, extension = key.value.split(".")
    assert len(stem) == 32
    assert set(stem) <= set("0123456789abcdef")
    assert extension == kind.extension
    assert FileKey.parse(key.value) == key
    assert key.image_type is kind
    assert FileKey.generate(kind) != key


def test_new_needs_exactly_sixteen_random_bytes() -> None:
    assert FileKey.new(ImageType.WEBP, bytes(range(16))).value == "000102030405060708090a0b0c0d0e0f.webp"
    for size in (0, 15, 17, 32):
        with pytest.raises(ValueError, match="16"):
            FileKey.new(ImageType.PNG, bytes(size))
