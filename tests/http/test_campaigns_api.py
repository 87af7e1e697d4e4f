"""``/api/v1/campaigns``: admins create campaigns (validation, duplicates, the body limit),
read one and list them."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest

from entrypoints.http.broadcast.controllers import CREATE_MAX_BODY
from tests.http.campaigns import CAMPAIGN_KEYS, CAMPAIGNS, STATS_KEYS, act, create, created, deliveries_of, stats
from tests.http.conftest import Api
from tests.http.helpers import RFC3339_UTC, assert_problem, field_errors
from tests.http.test_bot_webhook import get_json
from tests.http.test_users_api import admin_token


@pytest.fixture
async def admin(api: Api) -> str:
    return await admin_token(api)


# -- create -------------------------------------------------------------------------------


async def test_create_gives_a_draft_with_its_recipients_pending(api: Api, admin: str) -> None:
    response = await create(api, admin, name="  Launch  ", text="Hello!\n", recipients=[30, -1001234567890, 30, 7, 7])
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) >= CAMPAIGN_KEYS
    assert response.headers["location"] == f"{CAMPAIGNS}/{body['id']}"
    assert (body["name"], body["text"], body["status"]) == ("Launch", "Hello!\n", "draft")
    assert set(body["stats"]) == STATS_KEYS
    assert body["stats"] == stats(3, pending=3)  # duplicates removed
    assert RFC3339_UTC.match(body["created_at"])
    assert body["started_at"] is None and body["finished_at"] is None
    fetched = await api.client.get(response.headers["location"], headers=api.bearer(admin))
    assert fetched.status_code == 200, fetched.text
    assert fetched.json() == body


async def test_a_subscribers_campaign_has_no_deliveries_until_it_starts(api: Api, admin: str) -> None:
    body = await created(api, admin, audience="subscribers")
    assert (body["status"], body["stats"]) == ("draft", stats(0))
    assert (await deliveries_of(api, admin, body["id"]))["items"] == []


async def test_the_longest_name_and_text_are_taken(api: Api, admin: str) -> None:
    body = await created(api, admin, name="n" * 200, text="ü" * 4096, recipients=[2**63 - 1, -(2**63)])
    assert (len(body["name"]), len(body["text"]), body["stats"]["total"]) == (200, 4096, 2)
    chats = [d["chat_id"] for d in (await deliveries_of(api, admin, body["id"]))["items"]]
    assert chats == [-(2**63), 2**63 - 1]


_TOO_MANY = list(range(1, 100_002))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"name": "", "text": "hi", "recipients": [1]}, "name", id="name-empty"),
        pytest.param({"name": "  \t ", "text": "hi", "recipients": [1]}, "name", id="name-blank"),
        pytest.param({"name": "n" * 201, "text": "hi", "recipients": [1]}, "name", id="name-201"),
        pytest.param({"name": "a\x00b", "text": "hi", "recipients": [1]}, "name", id="name-nul"),
        pytest.param({"name": 5, "text": "hi", "recipients": [1]}, "name", id="name-not-a-string"),
        pytest.param({"text": "hi", "recipients": [1]}, "name", id="name-missing"),
        pytest.param({"name": "x", "text": "", "recipients": [1]}, "text", id="text-empty"),
        pytest.param({"name": "x", "text": " \n\t ", "recipients": [1]}, "text", id="text-blank"),
        pytest.param({"name": "x", "text": "t" * 4097, "recipients": [1]}, "text", id="text-4097"),
        pytest.param({"name": "x", "text": "a\x00b", "recipients": [1]}, "text", id="text-nul"),
        pytest.param({"name": "x", "recipients": [1]}, "text", id="text-missing"),
        pytest.param({"name": "x", "text": "hi", "recipients": [1], "audience": "subscribers"}, None, id="both"),
        pytest.param({"name": "x", "text": "hi"}, None, id="neither"),
        pytest.param({"name": "x", "text": "hi", "audience": "everyone"}, "audience", id="audience-other"),
        pytest.param({"name": "x", "text": "hi", "recipients": []}, "recipients", id="recipients-empty"),
        pytest.param({"name": "x", "text": "hi", "recipients": ["abc"]}, "recipients", id="chat-id-string"),
        pytest.param({"name": "x", "text": "hi", "recipients": [1.5]}, "recipients", id="chat-id-float"),
        pytest.param({"name": "x", "text": "hi", "recipients": [None]}, "recipients", id="chat-id-null"),
        pytest.param({"name": "x", "text": "hi", "recipients": [True]}, "recipients", id="chat-id-bool"),
        pytest.param({"name": "x", "text": "hi", "recipients": ["12"]}, "recipients", id="chat-id-numeric-string"),
        pytest.param({"name": "x", "text": "hi", "recipients": [2**63]}, "recipients", id="chat-id-above-int64"),
        pytest.param({"name": "x", "text": "hi", "recipients": [-(2**63) - 1]}, "recipients", id="chat-id-below"),
        pytest.param({"name": "x", "text": "hi", "recipients": 5}, "recipients", id="recipients-not-a-list"),
        pytest.param({"name": "x", "text": "hi", "recipients": _TOO_MANY}, "recipients", id="recipients-100001"),
        pytest.param({"name": "x", "text": "hi", "recipients": [1], "priority": 1}, "priority", id="unknown-field"),
    ],
)
async def test_create_validation(api: Api, admin: str, body: dict[str, Any], field: str | None) -> None:
    problem = assert_problem(await create(api, admin, **body), 422)
    errors = field_errors(problem)
    if field is not None:
        assert any(field in name for name in errors), errors
    assert (await get_json(api, admin, CAMPAIGNS))["total"] == 0


# -- read and list ------------------------------------------------------------------------


async def test_campaigns_are_listed_newest_first_and_paged(api: Api, admin: str) -> None:
    ids = []
    for name in ("first", "second", "third"):
        ids.append((await created(api, admin, name=name))["id"])
        api.clock.advance(timedelta(minutes=1))
    body = await get_json(api, admin, CAMPAIGNS)
    assert [c["name"] for c in body["items"]] == ["third", "second", "first"]
    assert (body["page"], body["size"], body["total"], body["pages"]) == (1, 20, 3, 1)
    assert all(c["stats"] == stats(3, pending=3) for c in body["items"])
    second = await get_json(api, admin, CAMPAIGNS, page=2, size=2)
    assert ([c["id"] for c in second["items"]], second["pages"]) == ([ids[0]], 2)
    assert (await get_json(api, admin, CAMPAIGNS, page=3, size=2))["items"] == []
    for params in ({"size": 0}, {"size": 101}, {"page": 0}, {"page": "one"}):
        assert_problem(await api.client.get(CAMPAIGNS, params=params, headers=api.bearer(admin)), 422)


async def test_an_unknown_campaign_is_404_everywhere(api: Api, admin: str) -> None:
    unknown = str(uuid4())
    bearer = api.bearer(admin)
    for response in (
        await api.client.get(f"{CAMPAIGNS}/{unknown}", headers=bearer),
        await api.client.get(f"{CAMPAIGNS}/{unknown}/deliveries", headers=bearer),
        await act(api, admin, unknown, "start"),
        await act(api, admin, unknown, "cancel"),
        await api.client.delete(f"{CAMPAIGNS}/{unknown}", headers=bearer),
    ):
        assert_problem(response, 404)


# -- body size ----------------------------------------------------------------------------

MIB = 1024 * 1024
JSON = {"content-type": "application/json"}


async def test_the_largest_create_body_fits_the_body_limit(api: Api, admin: str) -> None:
    """100,000 of the longest chat ids, the longest name and text in escaped 4-byte characters,
    JSON with spaces after separators: over the app's 1 MiB default, under the handler's limit."""
    recipients = [-(2**63) + i for i in range(100_000)]
    body = json.dumps({"name": "\U0001f680" * 200, "text": "\U0001f680" * 4096, "recipients": recipients}).encode()
    assert 2 * MIB < len(body) <= CREATE_MAX_BODY
    response = await api.client.post(CAMPAIGNS, content=body, headers={**JSON, **api.bearer(admin)})
    assert response.status_code == 201, response.text[:500]
    assert response.json()["stats"] == stats(100_000, pending=100_000)


async def test_a_hundred_thousand_large_negative_chat_ids_are_taken(api: Api, admin: str) -> None:
    body = await created(api, admin, recipients=[-1_000_000_000_000 - i for i in range(100_000)])
    assert body["stats"] == stats(100_000, pending=100_000)


async def test_a_create_body_over_the_limit_is_a_413_problem(api: Api, admin: str) -> None:
    head, tail = b'{"name": "x", "text": "hi", "recipients": [1', b"]}"
    body = head + b" " * (CREATE_MAX_BODY + 1 - len(head) - len(tail)) + tail
    assert len(body) == CREATE_MAX_BODY + 1
    response = await api.client.post(CAMPAIGNS, content=body, headers={**JSON, **api.bearer(admin)})
    assert_problem(response, 413)
    assert (await get_json(api, admin, CAMPAIGNS))["total"] == 0
