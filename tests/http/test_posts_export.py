"""GET /api/v1/posts/export: NDJSON and CSV, over what the caller can see, with the listing's
filters, safe for spreadsheets, streamed in batches."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
from dishka import Scope
from litestar import Request

from application.posts.create_post import CreatePost, CreatePostCommand
from application.posts.export_posts import BATCH_SIZE
from application.shared.actor import Actor
from domain.identity.ids import SessionId
from domain.identity.user import Role
from domain.shared.ids import UserId
from tests.http.conftest import Api, running_api
from tests.http.helpers import assert_problem, assert_unauthorized, claims_of, field_errors
from tests.http.test_posts_crud import POST_KEYS, POSTS, Author, admin, author, new_post, post_url
from tests.support.settings import test_settings

EXPORT = f"{POSTS}/export"
CSV_HEADER = ["id", "slug", "title", "content", "tags", "published", "author_id", "created_at", "updated_at"]


async def export(api: Api, auth: dict[str, str], **params: Any) -> httpx.Response:
    response = await api.client.get(EXPORT, params=params, headers=auth)
    assert response.status_code == 200, response.text
    assert "content-length" not in response.headers
    return response


async def ndjson(api: Api, auth: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = await export(api, auth, **params)
    assert response.headers["content-type"].split(";")[0] == "application/x-ndjson"
    assert response.text == "" or response.text.endswith("\n")
    return [json.loads(line) for line in response.text.splitlines()]


async def csv_rows(api: Api, auth: dict[str, str], **params: Any) -> list[dict[str, str]]:
    """The rows of a CSV export, keyed by the header (which is checked)."""
    response = await export(api, auth, format="csv", **params)
    assert response.headers["content-type"].split(";")[0] == "text/csv"
    rows = list(csv.reader(io.StringIO(response.text, newline="")))
    assert rows[0] == CSV_HEADER
    assert all(len(row) == len(CSV_HEADER) for row in rows)
    return [dict(zip(CSV_HEADER, row, strict=True)) for row in rows[1:]]


def ids(posts: list[dict[str, Any]]) -> list[str]:
    return [p["id"] for p in posts]


async def test_export_needs_a_bearer(api: Api) -> None:
    for params in ({}, {"format": "csv"}, {"format": "ndjson"}):
        assert_unauthorized(await api.client.get(EXPORT, params=params))
        assert_unauthorized(await api.client.get(EXPORT, params=params, headers=api.bearer("garbage")))


async def test_unknown_format_and_bad_filters_are_422(api: Api) -> None:
    ada = await author(api)
    for params in (
        {"format": "xml"},
        {"format": "CSV "},
        {"format": ""},
        {"q": "w" * 201},
        {"tag": "Bad Tag"},
        {"published": "maybe"},
        {"author_id": "x"},
    ):
        problem = assert_problem(await api.client.get(EXPORT, params=params, headers=ada.auth), 422)
        assert field_errors(problem), params


async def test_ndjson_is_one_post_per_line_of_what_the_caller_sees_oldest_first(api: Api) -> None:
    ada = await author(api)
    bob = await author(api, "bob@example.com")
    root = await admin(api)
    made = {}
    for key, who, body in [
        ("ada-public", ada, {"title": "Ada public", "tags": ["python"], "published": True}),
        ("ada-draft", ada, {"title": "Ada draft", "tags": ["python"], "content": "hello there"}),
        ("bob-public", bob, {"title": "Bob public", "tags": ["news"], "published": True, "content": "Hello, all"}),
        ("bob-draft", bob, {"title": "Bob draft", "tags": ["python", "news"]}),
    ]:
        made[key] = await new_post(api, who.auth, **body)
        api.clock.advance(timedelta(seconds=30))

    mine = await ndjson(api, ada.auth)
    assert all(set(line) == POST_KEYS for line in mine)
    assert mine == [made["ada-public"], made["ada-draft"], made["bob-public"]]  # as the API shows them
    assert await ndjson(api, ada.auth, format="ndjson") == mine
    assert ids(await ndjson(api, bob.auth)) == ids([made["ada-public"], made["bob-public"], made["bob-draft"]])
    assert ids(await ndjson(api, root.auth)) == ids(list(made.values()))

    # the listing's filters
    assert ids(await ndjson(api, ada.auth, tag="python")) == ids([made["ada-public"], made["ada-draft"]])
    assert ids(await ndjson(api, ada.auth, tag="news")) == ids([made["bob-public"]])
    assert ids(await ndjson(api, ada.auth, published="false")) == ids([made["ada-draft"]])
    assert ids(await ndjson(api, ada.auth, published="true")) == ids([made["ada-public"], made["bob-public"]])
    assert ids(await ndjson(api, ada.auth, author_id=bob.id)) == ids([made["bob-public"]])
    assert ids(await ndjson(api, root.auth, author_id=bob.id, published="false")) == ids([made["bob-draft"]])
    assert ids(await ndjson(api, ada.auth, q="HELLO")) == ids([made["ada-draft"], made["bob-public"]])
    assert ids(await ndjson(api, bob.auth, q="hello")) == ids([made["bob-public"]])
    assert await ndjson(api, ada.auth, q="hell") == []
    assert ids(await ndjson(api, root.auth, tag="news", q="draft")) == ids([made["bob-draft"]])

    csv_ids = [row["id"] for row in await csv_rows(api, bob.auth, tag="python")]
    assert csv_ids == ids([made["ada-public"], made["bob-draft"]])
    nobody = await author(api, "carol@example.com")
    assert await csv_rows(api, nobody.auth, published="false") == []
    assert (await export(api, nobody.auth, published="false")).text == ""


async def test_csv_cells_tags_and_timestamps(api: Api) -> None:
    ada = await author(api)
    post = await new_post(
        api, ada.auth, title="Plain title", content="Body", tags=["b-tag", "a-tag", "c"], published=True
    )
    api.clock.advance(timedelta(minutes=3))
    edited = await api.client.patch(post_url(post), json={"content": "Body 2"}, headers={**ada.auth, "If-Match": '"1"'})
    assert edited.status_code == 200
    draft = await new_post(api, ada.auth, title="No tags")
    (row, draft_row) = await csv_rows(api, ada.auth)
    assert row == {
        "id": post["id"],
        "slug": "plain-title",
        "title": "Plain title",
        "content": "Body 2",
        "tags": "a-tag;b-tag;c",
        "published": "true",
        "author_id": ada.id,
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }
    for column in ("created_at", "updated_at"):
        assert row[column].endswith("Z")
        assert datetime.fromisoformat(row[column]) == datetime.fromisoformat(edited.json()[column])
    assert row["created_at"] != row["updated_at"]
    assert (draft_row["id"], draft_row["tags"], draft_row["published"]) == (draft["id"], "", "false")


async def test_csv_neutralizes_formulas_and_round_trips_awkward_text(api: Api) -> None:
    ada = await author(api)
    awkward = 'Hello, "world"\nsecond line, with commas\r\nthird; line ""quoted""'
    cases = [
        (
            {"title": "=SUM(A1:A2)", "content": '=HYPERLINK("http://evil")'},
            "'=SUM(A1:A2)",
            '\'=HYPERLINK("http://evil")',
        ),
        ({"title": "+1 555 call", "content": "+cmd"}, "'+1 555 call", "'+cmd"),
        ({"title": "-2+3 minus", "content": "-exec"}, "'-2+3 minus", "'-exec"),
        ({"title": "@SUM(1)", "content": "@handle"}, "'@SUM(1)", "'@handle"),
        ({"title": "  =trimmed  ", "content": " =not first"}, "'=trimmed", " =not first"),
        ({"title": "Tabbed", "content": "\t=1+1"}, "Tabbed", "'\t=1+1"),  # OWASP: tab and CR too
        ({"title": "Safe a=b", "content": awkward}, "Safe a=b", awkward),
    ]
    made = []
    for body, _, _ in cases:
        made.append(await new_post(api, ada.auth, **body, published=True))
        api.clock.advance(timedelta(seconds=1))
    dashed = await new_post(api, ada.auth, title="Dashed tags", tags=["-lead", "z"], published=True)
    rows = await csv_rows(api, ada.auth)
    assert [row["id"] for row in rows] == [*ids(made), dashed["id"]]
    for row, (_, title, content) in zip(rows, cases, strict=False):
        assert (row["title"], row["content"]) == (title, content)
    assert rows[-1]["tags"] == "'-lead;z"
    # NDJSON is data, not a spreadsheet: nothing is prefixed there
    lines = await ndjson(api, ada.auth)
    assert [line["title"] for line in lines[:5]] == ["=SUM(A1:A2)", "+1 555 call", "-2+3 minus", "@SUM(1)", "=trimmed"]
    assert lines[6]["content"] == awkward
    assert lines[-1]["tags"] == ["-lead", "z"]


async def test_an_export_longer_than_one_batch_has_every_post_once_oldest_first(api: Api) -> None:
    await check_a_long_export(api)


async def test_a_long_export_on_memory() -> None:
    async with running_api(test_settings("memory://")) as api:
        await check_a_long_export(api)


async def check_a_long_export(api: Api) -> None:
    ada = await author(api)
    bob = await author(api, "bob@example.com")
    total = 2 * BATCH_SIZE + 100
    actor = _actor(ada)

    async def create(n: int) -> None:
        async with api.container(scope=Scope.REQUEST, context={Request: None}) as request:
            use_case = await request.get(CreatePost)
            await use_case(CreatePostCommand(actor=actor, title=f"Bulk {n}", content="bulk", published=n % 7 != 0))

    chunk = 150  # several posts at one instant, so batch boundaries fall inside ties
    for start in range(0, total, chunk):
        await asyncio.gather(*(create(n) for n in range(start, min(start + chunk, total))))
        api.clock.advance(timedelta(seconds=1))

    mine = await ndjson(api, ada.auth)
    assert len(mine) == total
    assert len({line["id"] for line in mine}) == total
    keys = [(datetime.fromisoformat(line["created_at"]), UUID(line["id"])) for line in mine]
    assert keys == sorted(keys)

    published = [line for line in mine if line["published"]]
    assert ids(await ndjson(api, bob.auth)) == ids(published)
    rows = await csv_rows(api, ada.auth)
    assert [row["id"] for row in rows] == ids(mine)


def _actor(who: Author) -> Actor:
    claims = claims_of(who.token)
    return Actor(user_id=UserId(UUID(who.id)), session_id=SessionId(UUID(claims["sid"])), role=Role.USER)
