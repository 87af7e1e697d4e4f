"""Response compression (entrypoints/http/compression.py): brotli, else gzip, for large
textual responses; never for a response with a strong ETag, an image, or a small body;
``Vary: Accept-Encoding`` wherever the coding depends on it; streams stay streams."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import MutableMapping
from typing import Any

import brotli  # type: ignore[import-untyped]  # ships no types
import httpx
import pytest

from application.errors import DependencyUnavailableError
from entrypoints.http.compression import MINIMUM_SIZE, ResponseCompression, chosen_coding, compression_config
from tests.http.conftest import API, Api
from tests.http.test_posts_crud import author, new_post
from tests.support.images import a_png, png_chunk

TODOS = f"{API}/todos"
LONG = "A description long enough that a page of these is well over a kibibyte. " * 3

Message = MutableMapping[str, Any]


async def raw_get(api: Api, url: str, accept_encoding: str | None, **headers: str) -> tuple[httpx.Response, bytes]:
    """The response and its body as sent (not decoded); ``None``: no ``Accept-Encoding`` at all."""
    request = api.client.build_request("GET", url, headers=headers)
    del request.headers["Accept-Encoding"]
    if accept_encoding is not None:
        request.headers["Accept-Encoding"] = accept_encoding
    response = await api.client.send(request, stream=True)
    body = b"".join([chunk async for chunk in response.aiter_raw()])
    await response.aclose()
    return response, body


def vary(response: httpx.Response) -> set[str]:
    return {part.strip().lower() for part in response.headers.get("vary", "").split(",") if part.strip()}


async def signed_in_with_todos(api: Api, count: int) -> dict[str, str]:
    bearer = api.bearer((await api.tokens())["access_token"])
    for number in range(count):
        created = await api.client.post(TODOS, json={"title": f"todo {number}", "description": LONG}, headers=bearer)
        assert created.status_code == 201, created.text
    return bearer


async def test_a_large_list_comes_back_in_brotli_and_decodes_to_the_same_json(api: Api) -> None:
    bearer = await signed_in_with_todos(api, 10)
    plain, identity = await raw_get(api, f"{TODOS}?size=100", None, **bearer)
    assert len(identity) > MINIMUM_SIZE
    assert "content-encoding" not in plain.headers
    response, body = await raw_get(api, f"{TODOS}?size=100", "gzip, deflate, br", **bearer)
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "br"
    assert "accept-encoding" in vary(response)
    assert int(response.headers["content-length"]) == len(body) < len(identity)
    assert json.loads(brotli.decompress(body)) == json.loads(identity)
    assert json.loads(identity)["total"] == 10


@pytest.mark.parametrize("accept", ["gzip", "br;q=0, gzip", "gzip;q=0.5, identity"])
async def test_gzip_is_the_fallback_when_brotli_is_not_accepted(api: Api, accept: str) -> None:
    bearer = await signed_in_with_todos(api, 10)
    response, body = await raw_get(api, f"{TODOS}?size=100", accept, **bearer)
    assert response.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in vary(response)
    assert json.loads(gzip.decompress(body))["total"] == 10


async def test_without_accept_encoding_a_large_response_is_plain_but_says_it_varies(api: Api) -> None:
    bearer = await signed_in_with_todos(api, 10)
    for accept in (None, "identity", "br;q=0, gzip;q=0"):
        response, body = await raw_get(api, f"{TODOS}?size=100", accept, **bearer)
        assert "content-encoding" not in response.headers, accept
        assert "accept-encoding" in vary(response), accept
        assert json.loads(body)["total"] == 10


async def test_a_response_under_the_minimum_size_is_never_compressed(api: Api) -> None:
    bearer = await signed_in_with_todos(api, 1)
    for url, headers in ((TODOS, bearer), ("/health", {})):
        response, body = await raw_get(api, url, "br, gzip", **headers)
        assert response.status_code == 200
        assert len(body) < MINIMUM_SIZE
        assert "content-encoding" not in response.headers
        assert "accept-encoding" not in vary(response)
        json.loads(body)


async def test_a_large_versioned_resource_keeps_its_strong_etag_and_travels_uncompressed(api: Api) -> None:
    bearer = api.bearer((await api.tokens())["access_token"])
    created = await api.client.post(TODOS, json={"title": "big", "description": "d" * 2000}, headers=bearer)
    url = created.headers["location"]
    response, body = await raw_get(api, url, "br, gzip", **bearer)
    assert len(body) > MINIMUM_SIZE
    assert response.headers["etag"] == '"1"'
    assert "content-encoding" not in response.headers
    assert json.loads(body)["version"] == 1
    unchanged, _ = await raw_get(api, url, "br, gzip", **bearer, **{"If-None-Match": '"1"'})
    assert unchanged.status_code == 304
    patched = await api.client.patch(url, json={"title": "bigger"}, headers={**bearer, "If-Match": '"1"'})
    assert patched.status_code == 200, patched.text
    assert patched.headers["etag"] == '"2"'
    assert "content-encoding" not in patched.headers
    stale = await api.client.patch(url, json={"title": "stale"}, headers={**bearer, "If-Match": '"1"'})
    assert stale.status_code == 412


async def test_a_weakly_tagged_docs_asset_is_compressed_and_revalidates(api: Api) -> None:
    response, body = await raw_get(api, "/docs/assets/swagger-ui.css", "br")
    assert response.headers["content-encoding"] == "br"
    assert response.headers["etag"].startswith('W/"')
    assert b".swagger-ui" in brotli.decompress(body)
    again, _ = await raw_get(api, "/docs/assets/swagger-ui.css", "br", **{"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304


async def test_an_export_is_compressed_as_a_stream(api: Api) -> None:
    ada = await author(api)
    for number in range(30):
        await new_post(api, ada.auth, title=f"Post number {number}", content=LONG)
    _, identity = await raw_get(api, f"{API}/posts/export", None, **ada.auth)
    response, body = await raw_get(api, f"{API}/posts/export", "br", **ada.auth)
    assert response.headers["content-encoding"] == "br"
    assert "content-length" not in response.headers
    assert "accept-encoding" in vary(response)
    assert response.headers["content-disposition"] == 'attachment; filename="posts.ndjson"'
    assert brotli.decompress(body) == identity
    assert len(identity.splitlines()) == 30
    _, zipped = await raw_get(api, f"{API}/posts/export?format=csv", "gzip", **ada.auth)
    assert gzip.decompress(zipped).startswith(b"id,slug,title")


async def test_an_image_is_served_as_stored_whatever_the_client_accepts(api: Api) -> None:
    token = (await api.tokens())["access_token"]
    image = a_png(png_chunk(b"tEXt", b"comment\x00" + b"x" * 4000))
    uploaded = await api.client.post(
        f"{API}/files", files={"file": ("big.png", image, "image/png")}, headers=api.bearer(token)
    )
    assert uploaded.status_code == 201, uploaded.text
    response, body = await raw_get(api, uploaded.json()["url"], "br, gzip")
    assert "content-encoding" not in response.headers
    assert body == image


# ---------------------------------------------------------------- the middleware on its own


def test_accept_encoding_is_read_with_its_q_values() -> None:
    assert chosen_coding("gzip, deflate, br") == "br"
    assert chosen_coding("br;q=0, gzip") == "gzip"
    assert chosen_coding("BR; q=0.1") == "br"
    assert chosen_coding("*") == "br"
    assert chosen_coding("*;q=0, gzip") == "gzip"
    assert chosen_coding("identity") is None
    assert chosen_coding("br;q=0, gzip;q=0.000") is None
    assert chosen_coding("br;q=nonsense") is None
    assert chosen_coding("") is None
    assert chosen_coding("br;level=5") == "br"  # a parameter other than q does not refuse it
    assert chosen_coding("br;level=5;q=0, gzip") == "gzip"


async def test_every_accept_encoding_line_counts() -> None:
    body = b"x" * (MINIMUM_SIZE * 2)

    async def answer(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/csv")]})
        await send({"type": "http.response.body", "body": body})

    lines = [(b"accept-encoding", b"identity"), (b"accept-encoding", b"gzip")]
    sent = await run(answer, {"type": "http", "path": "/x", "headers": lines})
    assert (b"content-encoding", b"gzip") in sent[0]["headers"]


@pytest.mark.parametrize(
    ("error", "status"),
    [(DependencyUnavailableError("database"), 503), (RuntimeError("boom"), 500)],
)
async def test_a_stream_that_fails_before_its_first_part_still_gets_a_problem(error: Exception, status: int) -> None:
    async def failing(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/csv")]})
        raise error  # the export's first read failed

    sent = await run(failing, {"type": "http", "path": "/api/v1/posts/export", "headers": []})
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == status
    headers = dict(sent[0]["headers"])
    assert headers[b"content-type"] == b"application/problem+json"
    assert json.loads(sent[1]["body"])["status"] == status
    assert (b"retry-after" in headers) == (status == 503)


async def run(app: Any, scope: dict[str, Any]) -> list[Message]:
    """``scope`` through ``ResponseCompression(app)``; the messages it sends."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await ResponseCompression(app, compression_config())(scope, receive, send)
    return sent


async def test_a_stream_is_compressed_chunk_by_chunk_not_buffered() -> None:
    chunks = [(b'{"n": %d}\n' % n) * 200 for n in range(3)]

    async def streaming(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/csv")]})
        for index, chunk in enumerate(chunks):
            await send({"type": "http.response.body", "body": chunk, "more_body": index < len(chunks) - 1})

    scope = {"type": "http", "path": "/x", "headers": [(b"accept-encoding", b"gzip")]}
    sent = await run(streaming, scope)
    bodies = [message for message in sent if message["type"] == "http.response.body"]
    assert len(bodies) == len(chunks)
    assert [message.get("more_body", False) for message in bodies] == [True, True, False]
    decompressor = zlib.decompressobj(wbits=31)
    # Each part decodes on arrival: the first chunk is readable before the second exists.
    assert decompressor.decompress(bodies[0]["body"]) == chunks[0]
    assert decompressor.decompress(bodies[1]["body"]) + decompressor.decompress(bodies[2]["body"]) == b"".join(
        chunks[1:]
    )


async def test_websocket_messages_pass_untouched() -> None:
    frames = [{"type": "websocket.accept"}, {"type": "websocket.send", "text": "x" * 5000}]

    async def socket(scope: Any, receive: Any, send: Any) -> None:
        for frame in frames:
            await send(dict(frame))

    sent = await run(socket, {"type": "websocket", "path": "/ws", "headers": [(b"accept-encoding", b"br")]})
    assert sent == frames


@pytest.mark.parametrize(
    ("content_type", "compressed"),
    [
        (b"application/json", True),
        (b"application/problem+json", True),
        (b"application/vnd.oai.openapi+json", True),
        (b"text/html; charset=utf-8", True),
        (b"image/png", False),
        (b"image/webp", False),
        (b"application/octet-stream", False),
    ],
)
async def test_only_textual_media_types_are_compressed(content_type: bytes, compressed: bool) -> None:
    body = b"x" * (MINIMUM_SIZE * 2)

    async def answer(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", content_type)]})
        await send({"type": "http.response.body", "body": body})

    sent = await run(answer, {"type": "http", "path": "/x", "headers": [(b"accept-encoding", b"br")]})
    headers = dict(sent[0]["headers"])
    assert (headers.get(b"content-encoding") == b"br") is compressed
    assert (sent[1]["body"] == body) is not compressed
