"""``POST /api/v1/files`` and ``GET /files/{key}`` (API.md, "Files and operations"): images
recognised by their bytes, refused uploads leave nothing on disk, and downloads by key only."""

from __future__ import annotations

import asyncio
import gc
import random
import re
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from entrypoints.http.uploads import UPLOAD_MAX_BODY
from tests.http.conftest import API, Api, running_api
from tests.http.helpers import assert_problem, assert_unauthorized, field_errors
from tests.support.images import a_gif, a_jpeg, a_png, a_webp, jpeg_segment, png_chunk, png_of_size
from tests.support.settings import test_settings

MIB = 1024 * 1024
LIMIT = 5 * MIB
KEY = re.compile(r"[0-9a-f]{32}\.(png|jpg|gif|webp)")
URL = re.compile(r"/files/([0-9a-f]{32}\.(png|jpg|gif|webp))")
UPLOAD = f"{API}/files"

IMAGES = {
    "png": (a_png(), "image/png"),
    "jpg": (a_jpeg(), "image/jpeg"),
    "gif": (a_gif(), "image/gif"),
    "webp": (a_webp(), "image/webp"),
}

SENTINEL = b"TOP SECRET: outside the upload directory"


@pytest.fixture
def upload_dir(tmp_path: Path) -> Path:
    return tmp_path / "uploads"


@pytest.fixture
def settings_overrides(upload_dir: Path) -> dict[str, Any]:
    return {"upload_dir": str(upload_dir)}


@pytest.fixture
async def token(api: Api) -> str:
    return str((await api.tokens())["access_token"])


def files_on_disk(folder: Path) -> list[Path]:
    """Every regular file under ``folder`` (temporary ones included)."""
    return sorted(path for path in folder.rglob("*") if path.is_file()) if folder.exists() else []


def is_inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


async def upload(
    api: Api, token: str | None, data: bytes, *, name: str = "image", content_type: str = "application/octet-stream"
) -> httpx.Response:
    headers = api.bearer(token) if token else {}
    return await api.client.post(UPLOAD, files={"file": (name, data, content_type)}, headers=headers)


def assert_created(response: httpx.Response, data: bytes, content_type: str, extension: str) -> str:
    """A 201 file view for ``data``; its key."""
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"id", "url", "content_type", "size"}
    assert UUID(body["id"])
    match = URL.fullmatch(body["url"])
    assert match, body["url"]
    assert match.group(2) == extension
    assert body["content_type"] == content_type
    assert body["size"] == len(data)
    assert response.headers["location"] == body["url"]
    return match.group(1)


# ---------------------------------------------------------------- uploads accepted


@pytest.mark.parametrize("extension", list(IMAGES))
async def test_each_image_type_is_stored_by_its_content(api: Api, token: str, upload_dir: Path, extension: str) -> None:
    data, content_type = IMAGES[extension]
    response = await upload(api, token, data, name=f"photo.{extension}", content_type=content_type)
    key = assert_created(response, data, content_type, extension)
    stored = files_on_disk(upload_dir)
    assert [path.name for path in stored] == [key]
    assert stored[0].read_bytes() == data
    assert is_inside(stored[0], upload_dir)


@pytest.mark.parametrize("extension", list(IMAGES))
@pytest.mark.parametrize(
    ("name", "declared"),
    [("x.html", "text/html"), ("x.svg", "image/svg+xml"), ("x", "application/octet-stream"), ("x.gif", "image/gif")],
)
async def test_the_declared_type_and_name_are_ignored(
    api: Api, token: str, extension: str, name: str, declared: str
) -> None:
    data, content_type = IMAGES[extension]
    response = await upload(api, token, data, name=name, content_type=declared)
    key = assert_created(response, data, content_type, extension)
    served = await api.client.get(f"/files/{key}")
    assert served.status_code == 200
    assert served.headers["content-type"] == content_type


async def test_exactly_five_mebibytes_is_accepted(api: Api, token: str, upload_dir: Path) -> None:
    data = png_of_size(LIMIT)
    assert len(data) == LIMIT
    key = assert_created(await upload(api, token, data), data, "image/png", "png")
    served = await api.client.get(f"/files/{key}")
    assert served.status_code == 200
    assert served.content == data
    assert [path.read_bytes() == data for path in files_on_disk(upload_dir)] == [True]


async def test_fifty_uploads_get_fifty_distinct_random_keys(api: Api, token: str, upload_dir: Path) -> None:
    data = a_png()
    responses = await asyncio.gather(*(upload(api, token, data) for _ in range(50)))
    keys = {assert_created(response, data, "image/png", "png") for response in responses}
    ids = {response.json()["id"] for response in responses}
    assert len(keys) == 50
    assert len(ids) == 50
    assert all(KEY.fullmatch(key) for key in keys)
    assert {path.name for path in files_on_disk(upload_dir)} == keys
    # 128 random bits: every hex digit shows up in fifty keys
    assert set("".join(key[:32] for key in keys)) == set("0123456789abcdef")


# ---------------------------------------------------------------- uploads refused

HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="1" height="1"/></svg>'
XML_SVG = b'<?xml version="1.0"?>\n' + SVG


def random_bytes() -> bytes:
    data = random.Random(20261122).randbytes(4096)
    assert not data.startswith((b"\x89PNG", b"\xff\xd8", b"GIF8", b"RIFF"))
    return data


REFUSED_TYPES = {
    "html declared as png": (HTML, "x.png", "image/png"),
    "pdf": (PDF, "x.pdf", "application/pdf"),
    "pdf declared as jpeg": (PDF, "x.jpg", "image/jpeg"),
    "svg": (SVG, "x.svg", "image/svg+xml"),
    "svg declared as png": (SVG, "x.png", "image/png"),
    "svg with an xml prolog": (XML_SVG, "x.svg", "image/svg+xml"),
    "random bytes": (random_bytes(), "x.png", "image/png"),
    "a png signature only": (b"\x89PNG\r\n\x1a\n", "x.png", "image/png"),
    "a truncated png": (a_png()[:-6], "x.png", "image/png"),
    "a truncated jpeg": (a_jpeg()[:-2], "x.jpg", "image/jpeg"),
    "a gif without its trailer": (a_gif()[:-1], "x.gif", "image/gif"),
    "a webp with a wrong riff size": (a_webp()[:-2], "x.webp", "image/webp"),
    # polyglots: a valid image that is also markup or script
    "gif with a script comment": (a_gif(b"<script>alert(1)</script>"), "x.gif", "image/gif"),
    "gif with an html comment": (a_gif(b"<html><body>hi</body></html>"), "x.gif", "image/gif"),
    "png with data after IEND": (a_png() + b"<script>alert(1)</script>", "x.png", "image/png"),
    "png with plain data after IEND": (a_png() + b"\x00" * 16, "x.png", "image/png"),
    "png with a script text chunk": (
        a_png(png_chunk(b"tEXt", b"Comment\x00<script>alert(1)</script>")),
        "x.png",
        "image/png",
    ),
    "jpeg with php in a comment": (a_jpeg(jpeg_segment(0xFE, b"<?php system($_GET['c']); ?>")), "x.jpg", "image/jpeg"),
    "jpeg with trailing data after EOI": (a_jpeg() + b"trailing", "x.jpg", "image/jpeg"),
    "jpeg with php after EOI": (a_jpeg() + b"<?php echo 1; ?>", "x.jpg", "image/jpeg"),
    "webp with trailing data": (a_webp() + b"<svg/>", "x.webp", "image/webp"),
}


@pytest.mark.parametrize("case", list(REFUSED_TYPES))
async def test_what_is_not_an_accepted_image_is_415_and_leaves_nothing(
    api: Api, token: str, upload_dir: Path, case: str
) -> None:
    data, name, declared = REFUSED_TYPES[case]
    body = assert_problem(await upload(api, token, data, name=name, content_type=declared), 415)
    assert body["detail"]
    assert files_on_disk(upload_dir) == []


async def test_an_empty_file_is_422_and_leaves_nothing(api: Api, token: str, upload_dir: Path) -> None:
    body = assert_problem(await upload(api, token, b"", name="x.png", content_type="image/png"), 422)
    assert set(field_errors(body)) == {"file"}
    assert files_on_disk(upload_dir) == []


async def test_one_byte_over_five_mebibytes_is_413_from_the_file_limit(api: Api, token: str, upload_dir: Path) -> None:
    data = png_of_size(LIMIT + 1)
    assert len(data) == LIMIT + 1
    assert len(data) + 1024 < UPLOAD_MAX_BODY  # the body itself is under the body limit
    body = assert_problem(await upload(api, token, data, name="x.png", content_type="image/png"), 413)
    assert body["type"].endswith("file-too-large"), body  # the domain's limit, not the body's
    assert files_on_disk(upload_dir) == []


async def test_a_body_far_over_the_body_limit_is_413(api: Api, token: str, upload_dir: Path) -> None:
    data = png_of_size(8 * MIB)
    assert len(data) > UPLOAD_MAX_BODY
    assert_problem(await upload(api, token, data, name="x.png", content_type="image/png"), 413)
    assert files_on_disk(upload_dir) == []


async def streamed_upload(pg_url: str, upload_dir: Path, data: bytes) -> tuple[httpx.Response, list[str]]:
    """Upload ``data`` chunked (no ``Content-Length``) to an app that lives only for this call;
    the response, and the ``ResourceWarning``s (unclosed files) seen until the app is collected.

    The warnings are recorded here, not turned into errors by the suite's filter, so a file
    left open fails the test that opened it, not whichever later test the collector runs in."""
    boundary = "portside-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()

    async def chunks() -> AsyncIterator[bytes]:
        yield head
        for start in range(0, len(data), 256 * 1024):
            yield data[start : start + 256 * 1024]
        yield f"\r\n--{boundary}--\r\n".encode()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        async with running_api(test_settings(pg_url, upload_dir=str(upload_dir))) as api:
            token = (await api.tokens())["access_token"]
            response = await api.client.post(
                UPLOAD,
                content=chunks(),
                headers={**api.bearer(token), "Content-Type": f"multipart/form-data; boundary={boundary}"},
            )
        del api
        gc.collect()
    assert "content-length" not in response.request.headers
    return response, [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]


async def test_a_streamed_body_under_the_limit_is_stored_and_closes_its_file(pg_url: str, upload_dir: Path) -> None:
    data = png_of_size(2 * MIB)  # past the spooling threshold: the part goes to a temporary file
    response, leaks = await streamed_upload(pg_url, upload_dir, data)
    key = assert_created(response, data, "image/png", "png")
    assert [path.name for path in files_on_disk(upload_dir)] == [key]
    assert leaks == []


async def test_a_streamed_body_without_a_length_over_the_limit_is_413(pg_url: str, upload_dir: Path) -> None:
    """The limit trips while the body streams in, mid-part: the part being spooled must be
    closed too, not left to the garbage collector."""
    response, leaks = await streamed_upload(pg_url, upload_dir, png_of_size(8 * MIB))
    assert_problem(response, 413)
    assert files_on_disk(upload_dir) == []
    assert leaks == [], "the part being spooled when the body limit tripped was never closed"


async def test_a_form_without_a_file_part_is_a_validation_problem(api: Api, token: str, upload_dir: Path) -> None:
    response = await api.client.post(
        UPLOAD, files={"image": ("x.png", a_png(), "image/png")}, headers=api.bearer(token)
    )
    assert set(field_errors(assert_problem(response, 422))) == {"file"}
    assert files_on_disk(upload_dir) == []


async def test_a_file_field_that_is_plain_text_is_a_validation_problem(api: Api, token: str, upload_dir: Path) -> None:
    response = await api.client.post(
        UPLOAD, data={"file": "not a file"}, files={"other": ("x.txt", b"x", "text/plain")}, headers=api.bearer(token)
    )
    assert_problem(response, 422)
    assert files_on_disk(upload_dir) == []


async def test_a_json_body_is_415(api: Api, token: str, upload_dir: Path) -> None:
    response = await api.client.post(UPLOAD, json={"file": "iVBORw0KGgo="}, headers=api.bearer(token))
    assert_problem(response, 415)
    assert files_on_disk(upload_dir) == []


async def test_uploading_needs_a_bearer(api: Api, upload_dir: Path) -> None:
    assert_unauthorized(await upload(api, None, a_png(), name="x.png", content_type="image/png"))
    assert_unauthorized(await upload(api, "not-a-token", a_png(), name="x.png", content_type="image/png"))
    assert files_on_disk(upload_dir) == []


# ---------------------------------------------------------------- downloads


@pytest.mark.parametrize("extension", list(IMAGES))
async def test_a_stored_file_is_served_byte_for_byte(api: Api, token: str, extension: str) -> None:
    data, content_type = IMAGES[extension]
    key = assert_created(
        await upload(api, token, data, name="x.bin", content_type="text/plain"), data, content_type, extension
    )

    served = await api.client.get(f"/files/{key}")  # public: no bearer
    assert served.status_code == 200
    assert served.content == data
    assert served.headers["content-type"] == content_type
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-length"] == str(len(data))
    max_age = re.search(r"max-age=(\d+)", served.headers["cache-control"])
    assert max_age, served.headers["cache-control"]
    assert int(max_age.group(1)) >= 86400 * 30
    tag = served.headers["etag"]
    assert re.fullmatch(r'"[^"]+"', tag), tag

    again = await api.client.get(f"/files/{key}", headers={"If-None-Match": tag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == tag

    other = await api.client.get(f"/files/{key}", headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200
    assert other.content == data


async def test_an_unknown_well_formed_key_is_404(api: Api, token: str) -> None:
    await upload(api, token, a_png())  # the store exists
    assert_problem(await api.client.get(f"/files/{'0' * 32}.png"), 404)
    assert_problem(await api.client.get(f"/files/{'f' * 32}.webp"), 404)


async def test_an_unknown_key_is_404_before_anything_was_stored(api: Api, upload_dir: Path) -> None:
    assert files_on_disk(upload_dir) == []
    assert_problem(await api.client.get(f"/files/{'a' * 32}.gif"), 404)


async def test_a_stored_key_under_another_extension_is_404(api: Api, token: str) -> None:
    key = assert_created(await upload(api, token, a_png()), a_png(), "image/png", "png")
    stem = key.removesuffix(".png")
    for other in ("jpg", "gif", "webp", "PNG", "png.png", "html", "svg"):
        assert_problem(await api.client.get(f"/files/{stem}.{other}"), 404)
    assert_problem(await api.client.get(f"/files/{stem}"), 404)
    assert_problem(await api.client.get(f"/files/{stem.upper()}.png"), 404)


MALFORMED = [
    "..%2Fetc%2Fpasswd",
    "..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    "%2e%2e",
    "%2e%2e%2fsentinel",
    "%2E%2E%2F" + "a" * 32 + ".png",
    "..%2F" + "a" * 32 + ".png",
    "..%5C" + "a" * 32 + ".png",
    "%2Fetc%2Fpasswd",
    "A" * 32 + ".png",
    "ABCDEF0123456789" * 2 + ".png",
    "a" * 32 + ".exe",
    "a" * 32 + ".jpeg",
    "a" * 32 + ".svg",
    "a" * 31 + ".png",
    "a" * 33 + ".png",
    "g" * 32 + ".png",
    "a" * 32 + ".png%00",
    "a" * 32 + "%00.png",
    "%00",
    "a" * 32 + ".png%0A",
    "a" * 32 + ".png.",
    "." + "a" * 32 + ".png",
    "a" * 32 + ".png%2F",
    "aa%2F" + "a" * 32 + ".png",
]


@pytest.fixture
def sentinels(tmp_path: Path, upload_dir: Path) -> list[Path]:
    """Files an escape from the upload directory would reach: next to it, and a level up."""
    sentinel = tmp_path / "sentinel"
    sentinel.write_bytes(SENTINEL)
    named = tmp_path / ("a" * 32 + ".png")
    named.write_bytes(SENTINEL)
    return [sentinel, named]


@pytest.mark.parametrize("key", MALFORMED)
async def test_a_malformed_key_is_404_and_never_reaches_outside_the_store(
    api: Api, token: str, upload_dir: Path, sentinels: list[Path], key: str
) -> None:
    await upload(api, token, a_png())  # the store exists, with a file in it
    response = await api.client.get(f"/files/{key}")
    assert response.status_code == 404, (key, response.status_code, response.text)
    assert response.headers["content-type"].split(";")[0] == "application/problem+json"
    assert SENTINEL not in response.content
    assert b"root:" not in response.content
    assert all(path.read_bytes() == SENTINEL for path in sentinels)  # nothing was touched


async def test_the_raw_path_traversal_is_404(api: Api, token: str, upload_dir: Path, sentinels: list[Path]) -> None:
    await upload(api, token, a_png())
    raw = [
        b"/files/..%2Fsentinel",
        b"/files/%2e%2e%2Fsentinel",
        b"/files/..%2F" + b"a" * 32 + b".png",
        b"/files/%2e%2e/sentinel",
    ]
    for path in raw:
        url = httpx.URL("http://testserver").copy_with(raw_path=path)
        response = await api.client.get(url)
        assert response.status_code == 404, (path, response.status_code, response.text)
        assert SENTINEL not in response.content


async def test_an_anonymous_upload_is_refused_before_its_body_is_read(api: Api, upload_dir: Path) -> None:
    """401 and not 413 for a body over the limit: the caller is checked before the body."""
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        response = await api.client.post(
            UPLOAD, files={"file": ("x.png", png_of_size(8 * MIB), "image/png")}, headers=headers
        )
        assert_problem(response, 401)
    assert files_on_disk(upload_dir) == []


def remove_from_disk(upload_dir: Path, key: str) -> None:
    for path in upload_dir.rglob(key):
        path.unlink()


async def test_if_none_match_on_a_file_that_is_gone_is_404_not_304(api: Api, token: str, upload_dir: Path) -> None:
    key = (await upload(api, token, a_png())).json()["url"].rsplit("/", 1)[1]
    remove_from_disk(upload_dir, key)
    for tag in (f'"{key}"', "*"):
        assert_problem(await api.client.get(f"/files/{key}", headers={"If-None-Match": tag}), 404)
