"""``/api/v1/campaigns``: admins create, read, list, start, cancel and delete broadcast
campaigns and page their deliveries; each transition's status codes, the audit entries, and
end to end in one process (``in_process_jobs``) against a fake Bot API, on PostgreSQL and on
``memory://``."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
from sqlalchemy import update

from adapters.sql.tables import deliveries
from adapters.system.clock import FixedClock
from application.shared.outbox import OutboxReader
from entrypoints.http.broadcast.controllers import CREATE_MAX_BODY
from tests.http.conftest import API, Api
from tests.http.helpers import RFC3339_UTC, assert_problem, assert_unauthorized, field_errors, me, run_sql
from tests.http.test_bot_webhook import (
    bot_settings,
    deliver,
    eventually,
    get_json,
    live_api,
    subscribers_become,
    text_update,
)
from tests.http.test_users_api import admin_token, user_token
from tests.support.builders import T0
from tests.support.fake_telegram import (
    FakeTelegram,
    bad_request,
    blocked,
    chat_not_found,
    drop,
    retry_after,
    server_error,
)

CAMPAIGNS = f"{API}/campaigns"
CAMPAIGN_KEYS = {"id", "name", "text", "status", "stats"}
STATS_KEYS = {"total", "pending", "sent", "failed"}
DELIVERY_KEYS = {"chat_id", "status", "attempts", "error", "sent_at"}


@pytest.fixture
async def admin(api: Api) -> str:
    return await admin_token(api)


async def create(api: Api, token: str, **body: Any) -> httpx.Response:
    return await api.client.post(CAMPAIGNS, json=body, headers=api.bearer(token))


async def created(api: Api, token: str, **body: Any) -> dict[str, Any]:
    body = {"name": "Launch", "text": "Hello, world!", **body}
    if "audience" not in body and "recipients" not in body:
        body["recipients"] = [1, 2, 3]
    response = await create(api, token, **body)
    assert response.status_code == 201, response.text
    campaign: dict[str, Any] = response.json()
    return campaign


async def act(api: Api, token: str, campaign_id: str, action: str) -> httpx.Response:
    return await api.client.post(f"{CAMPAIGNS}/{campaign_id}/{action}", headers=api.bearer(token))


async def campaign(api: Api, token: str, campaign_id: str) -> dict[str, Any]:
    body: dict[str, Any] = await get_json(api, token, f"{CAMPAIGNS}/{campaign_id}")
    return body


async def deliveries_of(api: Api, token: str, campaign_id: str, **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = await get_json(api, token, f"{CAMPAIGNS}/{campaign_id}/deliveries", **params)
    return body


def stats(total: int, pending: int = 0, sent: int = 0, failed: int = 0) -> dict[str, int]:
    return {"total": total, "pending": pending, "sent": sent, "failed": failed}


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


# -- transitions --------------------------------------------------------------------------


async def test_start_runs_a_draft_and_again_is_a_no_op(api: Api, admin: str) -> None:
    draft = await created(api, admin)
    api.clock.advance(timedelta(minutes=5))
    started = await act(api, admin, draft["id"], "start")
    assert started.status_code == 202, started.text
    body = started.json()
    assert (body["id"], body["status"], body["stats"]) == (draft["id"], "running", stats(3, pending=3))
    assert body["started_at"] is not None and body["started_at"] > draft["created_at"]
    again = await act(api, admin, draft["id"], "start")
    assert again.status_code == 202, again.text
    assert again.json() == body
    assert await campaign(api, admin, draft["id"]) == body


async def test_a_running_campaign_cannot_be_deleted_but_can_be_cancelled(api: Api, admin: str) -> None:
    running = await created(api, admin, recipients=[5, 6])
    assert (await act(api, admin, running["id"], "start")).status_code == 202
    assert_problem(await api.client.delete(f"{CAMPAIGNS}/{running['id']}", headers=api.bearer(admin)), 409)
    assert (await campaign(api, admin, running["id"]))["status"] == "running"
    cancelled = await act(api, admin, running["id"], "cancel")
    assert cancelled.status_code == 202, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["stats"]) == ("cancelled", stats(2, failed=2))
    assert_problem(await act(api, admin, running["id"], "cancel"), 409)
    assert_problem(await act(api, admin, running["id"], "start"), 409)
    assert (await api.client.delete(f"{CAMPAIGNS}/{running['id']}", headers=api.bearer(admin))).status_code == 204


async def test_cancelling_a_draft_fails_its_deliveries_as_cancelled(api: Api, admin: str) -> None:
    draft = await created(api, admin, recipients=[3, 1, 2])
    response = await act(api, admin, draft["id"], "cancel")
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["status"], body["stats"]) == ("cancelled", stats(3, failed=3))
    assert body["finished_at"] is not None
    items = (await deliveries_of(api, admin, draft["id"]))["items"]
    assert [(d["chat_id"], d["status"], d["error"], d["sent_at"]) for d in items] == [
        (chat, "failed", "cancelled", None) for chat in (1, 2, 3)
    ]
    assert_problem(await act(api, admin, draft["id"], "cancel"), 409)
    assert_problem(await act(api, admin, draft["id"], "start"), 409)
    assert await campaign(api, admin, draft["id"]) == body


async def test_a_completed_campaign_cannot_start_or_cancel_and_can_be_deleted(api: Api, admin: str) -> None:
    empty = await created(api, admin, audience="subscribers")  # nobody subscribed: completes at once
    response = await act(api, admin, empty["id"], "start")
    assert response.status_code == 202, response.text
    done = await campaign(api, admin, empty["id"])
    assert (done["status"], done["stats"]) == ("completed", stats(0))
    assert done["finished_at"] is not None
    assert_problem(await act(api, admin, empty["id"], "start"), 409)
    assert_problem(await act(api, admin, empty["id"], "cancel"), 409)
    assert (await api.client.delete(f"{CAMPAIGNS}/{empty['id']}", headers=api.bearer(admin))).status_code == 204
    assert_problem(await api.client.get(f"{CAMPAIGNS}/{empty['id']}", headers=api.bearer(admin)), 404)


async def test_a_draft_is_deleted_with_its_deliveries(api: Api, admin: str) -> None:
    draft = await created(api, admin)
    deleted = await api.client.delete(f"{CAMPAIGNS}/{draft['id']}", headers=api.bearer(admin))
    assert deleted.status_code == 204, deleted.text
    assert deleted.content == b""
    assert_problem(await api.client.get(f"{CAMPAIGNS}/{draft['id']}/deliveries", headers=api.bearer(admin)), 404)
    assert_problem(await api.client.delete(f"{CAMPAIGNS}/{draft['id']}", headers=api.bearer(admin)), 404)
    assert (await get_json(api, admin, CAMPAIGNS))["total"] == 0


# -- deliveries ---------------------------------------------------------------------------


async def test_deliveries_are_paged_in_chat_id_order_and_sending_shows_as_pending(api: Api, admin: str) -> None:
    draft = await created(api, admin, recipients=[30, -5, 10, 20, 10])
    page = await deliveries_of(api, admin, draft["id"])
    assert (page["page"], page["size"], page["total"], page["pages"]) == (1, 20, 4, 1)
    assert all(set(d) == DELIVERY_KEYS for d in page["items"])
    assert [(d["chat_id"], d["status"], d["attempts"], d["error"], d["sent_at"]) for d in page["items"]] == [
        (chat, "pending", 0, None, None) for chat in (-5, 10, 20, 30)
    ]
    second = await deliveries_of(api, admin, draft["id"], page=2, size=3)
    assert ([d["chat_id"] for d in second["items"]], second["pages"]) == ([30], 2)
    await run_sql(api, update(deliveries).where(deliveries.c.chat_id == 10).values(status="sending", attempts=1))
    items = (await deliveries_of(api, admin, draft["id"]))["items"]
    assert [(d["chat_id"], d["status"]) for d in items] == [
        (-5, "pending"),
        (10, "pending"),
        (20, "pending"),
        (30, "pending"),
    ]
    bad = await api.client.get(f"{CAMPAIGNS}/{draft['id']}/deliveries", params={"size": 0}, headers=api.bearer(admin))
    assert_problem(bad, 422)


async def test_start_and_cancel_announce_progress_with_the_counts_once_committed(api: Api, admin: str) -> None:
    one = await created(api, admin, name="one", recipients=[1, 2, 3])
    assert (await act(api, admin, one["id"], "start")).status_code == 202
    assert (await act(api, admin, one["id"], "start")).status_code == 202  # a no-op announces nothing
    assert (await act(api, admin, one["id"], "cancel")).status_code == 202
    assert_problem(await act(api, admin, one["id"], "cancel"), 409)  # refused: rolled back, nothing announced

    reader = await api.container.get(OutboxReader)
    batch = await reader.claim(100, timedelta(seconds=30))
    progress = [e.payload for e in batch.envelopes if e.name == "campaign.progress"]
    assert [(p["campaign_id"], p["status"], p["stats"]) for p in progress] == [
        (one["id"], "running", {"total": 3, "pending": 3, "sent": 0, "failed": 0}),
        (one["id"], "cancelled", {"total": 3, "pending": 0, "sent": 0, "failed": 3}),
    ]


# -- audit --------------------------------------------------------------------------------


async def test_start_and_cancel_are_audited_with_the_admin_as_actor(api: Api, admin: str) -> None:
    admin_id = (await me(api, admin)).json()["id"]
    one = await created(api, admin, name="one")
    two = await created(api, admin, name="two")
    assert (await act(api, admin, one["id"], "start")).status_code == 202
    assert (await act(api, admin, one["id"], "start")).status_code == 202  # a no-op: no second entry
    assert (await act(api, admin, one["id"], "cancel")).status_code == 202
    assert (await act(api, admin, two["id"], "cancel")).status_code == 202
    assert_problem(await act(api, admin, two["id"], "cancel"), 409)  # refused: no entry

    async def entries(kind: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (await get_json(api, admin, f"{API}/audit", type=kind))["items"]
        return items

    api.client.headers["User-Agent"] = "campaign-test/1.0"
    started, cancelled = await entries("campaign.started"), await entries("campaign.cancelled")
    assert [(e["type"], e["actor_id"], e["subject_id"], e["detail"]["campaign_id"]) for e in started] == [
        ("campaign.started", admin_id, None, one["id"])
    ]
    assert sorted((e["actor_id"], e["subject_id"], e["detail"]["campaign_id"]) for e in cancelled) == sorted(
        [(admin_id, None, one["id"]), (admin_id, None, two["id"])]
    )
    assert {(e["type"], e["ip"]) for e in [*started, *cancelled]} == {
        ("campaign.started", "203.0.113.7"),
        ("campaign.cancelled", "203.0.113.7"),
    }
    assert all(set(e["detail"]) >= {"campaign_id"} for e in [*started, *cancelled])
    assert one["created_by"] == admin_id


# -- who may ------------------------------------------------------------------------------


async def test_only_admins_manage_campaigns(api: Api, admin: str) -> None:
    draft = await created(api, admin)
    user, _ = await user_token(api)
    path = f"{CAMPAIGNS}/{draft['id']}"
    requests = [
        ("POST", CAMPAIGNS, {"name": "x", "text": "hi", "recipients": [1]}),
        ("GET", CAMPAIGNS, None),
        ("GET", path, None),
        ("GET", f"{path}/deliveries", None),
        ("POST", f"{path}/start", None),
        ("POST", f"{path}/cancel", None),
        ("DELETE", path, None),
    ]
    for method, url, body in requests:
        assert_problem(await api.client.request(method, url, json=body, headers=api.bearer(user)), 403)
        assert_unauthorized(await api.client.request(method, url, json=body))
    after = await campaign(api, admin, draft["id"])
    assert (after["status"], (await get_json(api, admin, CAMPAIGNS))["total"]) == ("draft", 1)


# -- end to end: the app with its background work and a fake Bot API ---------------------


@pytest.fixture(params=["postgres", "memory"])
def database_url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


async def finished(api: Api, token: str, campaign_id: str, seconds: float = 15.0) -> dict[str, Any]:
    return await eventually(
        lambda: campaign(api, token, campaign_id),
        lambda c: c["status"] in ("completed", "cancelled"),
        seconds,
        "the campaign finishing",
    )


async def test_end_to_end_in_one_process(database_url: str, fake: FakeTelegram) -> None:
    async with live_api(bot_settings(database_url, fake)) as api:
        admin = await admin_token(api)
        fake.script(3, blocked())
        draft = await created(api, admin, text="Big news", recipients=[1, 2, 3])
        started = await act(api, admin, draft["id"], "start")
        assert started.status_code == 202, started.text
        assert started.json()["status"] == "running"

        done = await finished(api, admin, draft["id"])
        assert (done["status"], done["stats"]) == ("completed", stats(3, sent=2, failed=1))
        assert done["finished_at"] is not None
        items = {d["chat_id"]: d for d in (await deliveries_of(api, admin, draft["id"]))["items"]}
        for chat in (1, 2):
            assert (items[chat]["status"], items[chat]["error"]) == ("sent", None)
            assert items[chat]["sent_at"] is not None and items[chat]["attempts"] >= 1
        assert (items[3]["status"], items[3]["error"], items[3]["sent_at"]) == ("failed", "blocked", None)
        await asyncio.sleep(0.3)
        assert {chat: len(fake.calls_for(chat)) for chat in (1, 2, 3)} == {1: 1, 2: 1, 3: 1}
        assert [call.text for call in fake.accepted_for(1)] == ["Big news"]

        # nobody subscribed: a subscribers campaign completes at once with nothing to send
        nobody = await created(api, admin, name="nobody", audience="subscribers")
        assert (await act(api, admin, nobody["id"], "start")).status_code == 202
        empty = await finished(api, admin, nobody["id"], seconds=2.0)
        assert (empty["status"], empty["stats"]) == ("completed", stats(0))

        # a /start through the webhook, then a subscribers campaign reaches that chat
        await deliver(api, text_update(1, 77, "/start"))
        await subscribers_become(api, admin, 1)
        news = await created(api, admin, name="news", text="For subscribers", audience="subscribers")
        assert (await act(api, admin, news["id"], "start")).status_code == 202
        reached = await finished(api, admin, news["id"])
        assert (reached["status"], reached["stats"]) == ("completed", stats(1, sent=1))
        [delivery] = (await deliveries_of(api, admin, news["id"]))["items"]
        assert (delivery["chat_id"], delivery["status"]) == (77, "sent")
        assert [call.text for call in fake.accepted_for(77)] == ["For subscribers"]
        assert fake.calls_for(3)[1:] == []  # the blocked chat was not subscribed, and got nothing more


async def test_cancelling_a_running_campaign_stops_its_sends(pg_url: str, fake: FakeTelegram) -> None:
    async with live_api(bot_settings(pg_url, fake)) as api:
        admin = await admin_token(api)
        chats = list(range(1000, 1150))  # at 30 a second: five seconds of sending
        draft = await created(api, admin, recipients=chats)
        assert (await act(api, admin, draft["id"], "start")).status_code == 202
        await eventually(lambda: asyncio.sleep(0, len(fake.calls)), lambda n: n >= 10, 10.0, "the first sends")
        response = await act(api, admin, draft["id"], "cancel")
        assert response.status_code == 202, response.text
        assert response.json()["status"] == "cancelled"
        at_cancel = len(fake.calls)
        await asyncio.sleep(1.0)
        assert len(fake.calls) - at_cancel <= 8  # only sends already in flight (the sender's concurrency)
        assert fake.max_in_window(1.0) <= 30  # Telegram's overall limit
        body = await campaign(api, admin, draft["id"])
        items = (await deliveries_of(api, admin, draft["id"], size=100))["items"]
        items += (await deliveries_of(api, admin, draft["id"], page=2, size=100))["items"]
        sent = {d["chat_id"] for d in items if d["status"] == "sent"}
        assert sent == {call.chat_id for call in fake.accepted()}  # every accepted send is recorded, no other
        assert {d["error"] for d in items if d["status"] == "failed"} == {"cancelled"}
        assert body["status"] == "cancelled"
        assert body["stats"] == stats(150, sent=len(sent), failed=150 - len(sent))
        assert len(sent) < 150


class TickingClock(FixedClock):
    """Real time passing from ``T0`` (a retry's wait runs out), plus what ``advance`` adds."""

    def __init__(self) -> None:
        super().__init__(T0)
        self._origin = time.monotonic()

    def now(self) -> datetime:
        return super().now() + timedelta(seconds=time.monotonic() - self._origin)


async def test_each_kind_of_telegram_answer_ends_its_delivery_as_the_contract_says(
    pg_url: str, fake: FakeTelegram
) -> None:
    async with live_api(bot_settings(pg_url, fake), TickingClock()) as api:
        admin = await admin_token(api)
        fake.script(11, chat_not_found())
        fake.script(12, bad_request())
        fake.script(13, server_error(502))
        fake.script(14, server_error(500))
        fake.script(15, drop())
        fake.script(16, retry_after(1, times=1))
        draft = await created(api, admin, recipients=[10, 11, 12, 13, 14, 15, 16])
        assert (await act(api, admin, draft["id"], "start")).status_code == 202
        done = await finished(api, admin, draft["id"])
        assert (done["status"], done["stats"]) == ("completed", stats(7, sent=2, failed=5))
        items = {d["chat_id"]: d for d in (await deliveries_of(api, admin, draft["id"]))["items"]}
        assert {chat: (d["status"], d["error"]) for chat, d in items.items()} == {
            10: ("sent", None),
            11: ("failed", "chat_not_found"),
            12: ("failed", "rejected"),
            13: ("failed", "unknown_outcome"),
            14: ("failed", "unknown_outcome"),
            15: ("failed", "unknown_outcome"),
            16: ("sent", None),
        }
        await asyncio.sleep(0.3)
        calls = {chat: [call.outcome for call in fake.calls_for(chat)] for chat in items}
        assert calls == {  # only a 429 is retried, after its retry_after
            10: ["accepted"],
            11: ["chat_not_found"],
            12: ["bad_request"],
            13: ["server_error"],
            14: ["server_error"],
            15: ["drop"],
            16: ["retry_after", "accepted"],
        }
        first, second = fake.calls_for(16)
        assert second.at - first.at >= 0.95


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


async def test_the_create_body_limit_is_documented(api: Api) -> None:
    response = await api.client.get("/openapi.json")
    assert response.status_code == 200, response.text
    operation = response.json()["paths"][CAMPAIGNS]["post"]
    assert "3 MiB" in operation["description"] and "413" in operation["responses"]
