"""``/api/v1/campaigns``: admins start, cancel and delete campaigns (each transition's status
codes), page their deliveries, and only admins may; the progress events and audit entries
the transitions leave."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from adapters.sql.tables import deliveries
from application.shared.outbox import OutboxReader
from tests.http.campaigns import CAMPAIGNS, DELIVERY_KEYS, act, campaign, created, deliveries_of, stats
from tests.http.conftest import API, Api
from tests.http.helpers import assert_problem, assert_unauthorized, me, run_sql
from tests.http.test_bot_webhook import get_json
from tests.http.test_users_api import admin_token, user_token


@pytest.fixture
async def admin(api: Api) -> str:
    return await admin_token(api)


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
