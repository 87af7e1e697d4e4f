"""``POST /api/v1/posts/{id}/image`` (API.md, "Posts", images): the author attaches, the
version moves, the replaced file goes, and a refused or failed attach leaves nothing behind."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from adapters.sql.tables import files
from tests.http.conftest import API, Api
from tests.http.helpers import assert_problem, assert_unauthorized, run_sql
from tests.http.test_users_api import admin_token
from tests.support.images import a_gif, a_jpeg, a_png, png_of_size

MIB = 1024 * 1024
URL = re.compile(r"/files/([0-9a-f]{32}\.(png|jpg|gif|webp))")


@pytest.fixture
def upload_dir(tmp_path: Path) -> Path:
    return tmp_path / "uploads"


@pytest.fixture
def settings_overrides(upload_dir: Path) -> dict[str, Any]:
    return {"upload_dir": str(upload_dir)}


@pytest.fixture
async def author(api: Api) -> str:
    return str((await api.tokens("author@example.com"))["access_token"])


def files_on_disk(folder: Path) -> set[str]:
    """The names of every regular file under ``folder`` (temporary ones included)."""
    return {path.name for path in folder.rglob("*") if path.is_file()} if folder.exists() else set()


async def new_post(api: Api, token: str, *, published: bool = False, title: str = "A post with a picture") -> str:
    response = await api.client.post(
        f"{API}/posts", json={"title": title, "content": "Body", "published": published}, headers=api.bearer(token)
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def attach(
    api: Api,
    token: str | None,
    post_id: str,
    data: bytes,
    *,
    content_type: str = "image/png",
    name: str = "x.png",
    if_match: str | None = None,
) -> httpx.Response:
    headers = api.bearer(token) if token else {}
    if if_match is not None:
        headers["If-Match"] = if_match
    return await api.client.post(
        f"{API}/posts/{post_id}/image", files={"file": (name, data, content_type)}, headers=headers
    )


async def read_post(api: Api, token: str, post_id: str) -> dict[str, Any]:
    response = await api.client.get(f"{API}/posts/{post_id}", headers=api.bearer(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert response.headers["etag"] == f'"{body["version"]}"'
    return body


def attached(response: httpx.Response, data: bytes, content_type: str, version: int) -> str:
    """A 201 image view of ``data`` for a post now at ``version``; its url."""
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"url", "content_type", "size"}
    assert URL.fullmatch(body["url"]), body["url"]
    assert body["content_type"] == content_type
    assert body["size"] == len(data)
    assert response.headers["etag"] == f'"{version}"'
    url: str = body["url"]
    return url


def key_of(url: str) -> str:
    match = URL.fullmatch(url)
    assert match, url
    return match.group(1)


async def file_records(api: Api) -> int:
    [[(count,)]] = await run_sql(api, select(func.count()).select_from(files))
    return int(count)


async def assert_served(api: Api, url: str, data: bytes, content_type: str) -> None:
    served = await api.client.get(url)
    assert served.status_code == 200, served.text
    assert served.content == data
    assert served.headers["content-type"] == content_type
    assert served.headers["x-content-type-options"] == "nosniff"


# ---------------------------------------------------------------- who may attach


async def test_the_author_attaches_an_image(api: Api, author: str, upload_dir: Path) -> None:
    post_id = await new_post(api, author)
    before = await read_post(api, author, post_id)
    assert (before["image_url"], before["version"]) == (None, 1)

    data = a_png()
    url = attached(
        await attach(api, author, post_id, data, name="x.html", content_type="text/html"), data, "image/png", 2
    )
    after = await read_post(api, author, post_id)
    assert after["image_url"] == url
    assert after["version"] == 2
    assert after["updated_at"] >= before["updated_at"]
    assert {k: v for k, v in after.items() if k not in {"image_url", "version", "updated_at"}} == {
        k: v for k, v in before.items() if k not in {"image_url", "version", "updated_at"}
    }
    assert files_on_disk(upload_dir) == {key_of(url)}
    assert await file_records(api) == 1
    await assert_served(api, url, data, "image/png")


async def test_the_image_shows_in_the_public_view_and_the_listing(api: Api, author: str) -> None:
    post_id = await new_post(api, author, published=True)
    url = attached(await attach(api, author, post_id, a_gif(), content_type="image/gif"), a_gif(), "image/gif", 2)
    public = await api.client.get(f"{API}/posts/{post_id}")
    assert public.status_code == 200
    assert public.json()["image_url"] == url
    listing = await api.client.get(f"{API}/posts")
    assert [item["image_url"] for item in listing.json()["items"]] == [url]


async def test_only_the_author_attaches(api: Api, author: str, upload_dir: Path) -> None:
    draft = await new_post(api, author, title="A draft")
    published = await new_post(api, author, published=True, title="A published post")
    other = str((await api.tokens("other@example.com"))["access_token"])
    admin = await admin_token(api)

    assert_problem(await attach(api, other, draft, a_png()), 404)  # a draft is not there for others
    assert_problem(await attach(api, other, published, a_png()), 403)
    assert_problem(await attach(api, admin, draft, a_png()), 403)  # moderation deletes, it does not edit
    assert_problem(await attach(api, admin, published, a_png()), 403)
    for post_id in (draft, published):
        assert_unauthorized(await attach(api, None, post_id, a_png()))
        assert_unauthorized(await attach(api, "not-a-token", post_id, a_png()))
    assert_problem(await attach(api, author, "0190f0b4-0000-7000-8000-000000000000", a_png()), 404)
    assert_problem(await attach(api, author, "not-a-uuid", a_png()), 404)

    for post_id in (draft, published):
        post = await read_post(api, author, post_id)
        assert (post["image_url"], post["version"]) == (None, 1)
    assert files_on_disk(upload_dir) == set()
    assert await file_records(api) == 0


# ---------------------------------------------------------------- versions


async def test_if_match_is_honoured_when_sent(api: Api, author: str, upload_dir: Path) -> None:
    post_id = await new_post(api, author)
    first = attached(await attach(api, author, post_id, a_png(), if_match='"1"'), a_png(), "image/png", 2)

    stale = await attach(api, author, post_id, a_jpeg(), content_type="image/jpeg", if_match='"1"')
    body = assert_problem(stale, 412)
    assert body["current_version"] == 2
    assert stale.headers["etag"] == '"2"'
    post = await read_post(api, author, post_id)
    assert (post["image_url"], post["version"]) == (first, 2)
    assert files_on_disk(upload_dir) == {key_of(first)}  # the refused image was not kept
    assert await file_records(api) == 1

    second = attached(
        await attach(api, author, post_id, a_jpeg(), content_type="image/jpeg", if_match='"2"'),
        a_jpeg(),
        "image/jpeg",
        3,
    )
    post = await read_post(api, author, post_id)
    assert (post["image_url"], post["version"]) == (second, 3)
    assert files_on_disk(upload_dir) == {key_of(second)}


async def test_concurrent_attaches_with_one_version_let_exactly_one_win(
    api: Api, author: str, upload_dir: Path
) -> None:
    post_id = await new_post(api, author)
    responses = await asyncio.gather(*(attach(api, author, post_id, a_png(), if_match='"1"') for _ in range(5)))
    assert Counter(r.status_code for r in responses) == {201: 1, 412: 4}
    [winner] = [r.json()["url"] for r in responses if r.status_code == 201]
    post = await read_post(api, author, post_id)
    assert (post["image_url"], post["version"]) == (winner, 2)
    assert files_on_disk(upload_dir) == {key_of(winner)}
    assert await file_records(api) == 1


async def test_concurrent_attaches_without_a_version_keep_only_the_last_file(
    api: Api, author: str, upload_dir: Path
) -> None:
    post_id = await new_post(api, author)
    responses = await asyncio.gather(*(attach(api, author, post_id, a_png()) for _ in range(5)))
    assert [r.status_code for r in responses] == [201] * 5, [r.text for r in responses]
    assert sorted(r.headers["etag"] for r in responses) == [f'"{v}"' for v in range(2, 7)]
    post = await read_post(api, author, post_id)
    assert post["version"] == 6
    assert files_on_disk(upload_dir) == {key_of(post["image_url"])}  # every replaced file deleted
    assert await file_records(api) == 1


# ---------------------------------------------------------------- replacing and deleting


async def test_a_second_image_replaces_the_first_and_its_file(api: Api, author: str, upload_dir: Path) -> None:
    post_id = await new_post(api, author, published=True)
    first = attached(await attach(api, author, post_id, a_png()), a_png(), "image/png", 2)
    await assert_served(api, first, a_png(), "image/png")

    second = attached(
        await attach(api, author, post_id, a_jpeg(), content_type="image/jpeg"), a_jpeg(), "image/jpeg", 3
    )
    assert second != first
    post = await read_post(api, author, post_id)
    assert (post["image_url"], post["version"]) == (second, 3)
    assert_problem(await api.client.get(first), 404)
    await assert_served(api, second, a_jpeg(), "image/jpeg")
    assert files_on_disk(upload_dir) == {key_of(second)}
    assert await file_records(api) == 1


async def test_deleting_the_post_deletes_its_image(api: Api, author: str, upload_dir: Path) -> None:
    post_id = await new_post(api, author)
    url = attached(await attach(api, author, post_id, a_png()), a_png(), "image/png", 2)
    keep = await new_post(api, author, title="Another post")
    kept = attached(await attach(api, author, keep, a_gif(), content_type="image/gif"), a_gif(), "image/gif", 2)

    deleted = await api.client.delete(f"{API}/posts/{post_id}", headers=api.bearer(author))
    assert deleted.status_code == 204, deleted.text
    assert_problem(await api.client.get(url), 404)
    assert files_on_disk(upload_dir) == {key_of(kept)}
    assert await file_records(api) == 1
    await assert_served(api, kept, a_gif(), "image/gif")


async def test_an_admin_deleting_a_post_deletes_its_image(api: Api, author: str, upload_dir: Path) -> None:
    post_id = await new_post(api, author)
    url = attached(await attach(api, author, post_id, a_png()), a_png(), "image/png", 2)
    admin = await admin_token(api)
    deleted = await api.client.delete(f"{API}/posts/{post_id}", headers=api.bearer(admin))
    assert deleted.status_code == 204, deleted.text
    assert_problem(await api.client.get(url), 404)
    assert files_on_disk(upload_dir) == set()


async def test_a_stale_delete_keeps_the_image(api: Api, author: str, upload_dir: Path) -> None:
    post_id = await new_post(api, author)
    url = attached(await attach(api, author, post_id, a_png()), a_png(), "image/png", 2)
    stale = await api.client.delete(f"{API}/posts/{post_id}", headers={**api.bearer(author), "If-Match": '"1"'})
    assert_problem(stale, 412)
    await assert_served(api, url, a_png(), "image/png")
    assert files_on_disk(upload_dir) == {key_of(url)}


# ---------------------------------------------------------------- refusals change nothing

REFUSALS = {
    "spoofed type": (b"<html><script>alert(1)</script></html>", "image/png", 415),
    "a gif polyglot": (a_gif(b"<script>alert(1)</script>"), "image/gif", 415),
    "a png with data after IEND": (a_png() + b"<?php echo 1; ?>", "image/png", 415),
    "an empty file": (b"", "image/png", 422),
    "one byte over 5 MiB": (png_of_size(5 * MIB + 1), "image/png", 413),
    "a body over the body limit": (png_of_size(8 * MIB), "image/png", 413),
}


@pytest.mark.parametrize("case", list(REFUSALS))
async def test_a_refused_image_leaves_the_post_and_the_disk_unchanged(
    api: Api, author: str, upload_dir: Path, case: str
) -> None:
    post_id = await new_post(api, author)
    url = attached(await attach(api, author, post_id, a_png()), a_png(), "image/png", 2)

    data, declared, status = REFUSALS[case]
    assert_problem(await attach(api, author, post_id, data, content_type=declared), status)
    assert_problem(await attach(api, author, post_id, data, content_type=declared, if_match='"2"'), status)

    post = await read_post(api, author, post_id)
    assert (post["image_url"], post["version"]) == (url, 2)
    assert files_on_disk(upload_dir) == {key_of(url)}
    assert await file_records(api) == 1
    await assert_served(api, url, a_png(), "image/png")


async def test_a_form_without_a_file_part_changes_nothing(api: Api, author: str, upload_dir: Path) -> None:
    post_id = await new_post(api, author)
    response = await api.client.post(
        f"{API}/posts/{post_id}/image", files={"image": ("x.png", a_png(), "image/png")}, headers=api.bearer(author)
    )
    assert_problem(response, 422)
    json_body = await api.client.post(f"{API}/posts/{post_id}/image", json={"file": "x"}, headers=api.bearer(author))
    assert_problem(json_body, 415)
    post = await read_post(api, author, post_id)
    assert (post["image_url"], post["version"]) == (None, 1)
    assert files_on_disk(upload_dir) == set()
