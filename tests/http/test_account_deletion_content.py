"""Deleting an account takes what it made: posts, todos, upload records and the uploaded
bytes, on every storage (the SQL foreign keys cascade; the in-memory tables do the same)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from entrypoints.settings import MEMORY_DATABASE_URL
from tests.http.conftest import API, Api, running_api
from tests.support.images import a_png
from tests.support.settings import test_settings


@pytest.fixture(params=["postgres", "memory"])
def database_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("pg_url")) if request.param == "postgres" else MEMORY_DATABASE_URL


@pytest.fixture
async def api_on(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(test_settings(database_url, upload_dir=str(tmp_path / "uploads"))) as api:
        yield api


async def test_a_deleted_account_leaves_no_post_todo_or_file_behind(api_on: Api, tmp_path: Path) -> None:
    api = api_on
    ada = api.bearer((await api.tokens("ada@example.com"))["access_token"])
    grace = api.bearer((await api.tokens("grace@example.com"))["access_token"])
    me = (await api.client.get(f"{API}/auth/me", headers=ada)).json()["id"]
    post = (
        await api.client.post(
            f"{API}/posts",
            json={"title": "Ada's post", "content": "Hi", "tags": ["ada"], "published": True},
            headers=ada,
        )
    ).json()
    image = await api.client.post(
        f"{API}/posts/{post['id']}/image", files={"file": ("a.png", a_png(), "image/png")}, headers=ada
    )
    upload = await api.client.post(f"{API}/files", files={"file": ("b.png", a_png(), "image/png")}, headers=ada)
    kept = await api.client.post(f"{API}/files", files={"file": ("c.png", a_png(), "image/png")}, headers=grace)
    await api.client.post(f"{API}/todos", json={"title": "Ada's todo"}, headers=ada)
    assert (await api.client.get(f"{API}/posts")).json()["total"] == 1  # cached now
    assert (await api.client.get(f"{API}/tags")).json() == [{"name": "ada", "count": 1}]

    assert (await api.client.delete(f"{API}/users/{me}", headers=ada)).status_code == 204

    assert (await api.client.get(f"{API}/posts")).json()["total"] == 0
    assert (await api.client.get(f"{API}/posts/{post['id']}")).status_code == 404
    assert (await api.client.get(f"{API}/posts/by-slug/{post['slug']}")).status_code == 404
    assert (await api.client.get(f"{API}/tags")).json() == []
    for gone in (image.json()["url"], upload.json()["url"]):
        assert (await api.client.get(gone)).status_code == 404
    assert (await api.client.get(kept.json()["url"])).status_code == 200  # someone else's stays
    stored = [path.name for path in (tmp_path / "uploads").rglob("*") if path.is_file()]
    assert stored == [kept.json()["url"].rsplit("/", 1)[1]]
