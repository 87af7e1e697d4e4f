"""``/api/v1/campaigns`` end to end in one process: the app with its background work
(``in_process_jobs``) sends campaigns to a fake Bot API, on PostgreSQL and on ``memory://``;
each kind of Telegram answer ends its delivery as the contract says, and a cancel stops
the sends."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from typing import Any

from adapters.system.clock import FixedClock
from tests.http.campaigns import act, campaign, created, deliveries_of, stats
from tests.http.conftest import Api
from tests.http.test_bot_webhook import (
    bot_settings,
    deliver,
    eventually,
    live_api,
    subscribers_become,
    text_update,
)
from tests.http.test_users_api import admin_token
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


async def finished(api: Api, token: str, campaign_id: str, seconds: float = 15.0) -> dict[str, Any]:
    return await eventually(
        lambda: campaign(api, token, campaign_id),
        lambda c: c["status"] in ("completed", "cancelled"),
        seconds,
        "the campaign finishing",
    )


async def test_end_to_end_in_one_process(memory_or_postgres_url: str, fake: FakeTelegram) -> None:
    async with live_api(bot_settings(memory_or_postgres_url, fake)) as api:
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
