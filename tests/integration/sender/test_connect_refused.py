"""The campaign sender with the real client against a Bot API that refuses connections, then
comes up on the same port: a connection that was refused carried no request, so those
deliveries go back to ``pending`` and are sent once Telegram is there, each exactly once."""

from __future__ import annotations

import asyncio

from adapters.telegram.http_client import HttpTelegramClient
from application.broadcast.sender import SenderRules
from domain.broadcast.campaign import CampaignStatus
from domain.broadcast.delivery import DeliveryStatus
from tests.integration.sender.world import World, a_running_campaign, deliveries, status
from tests.support.fake_telegram import FakeTelegram
from tests.support.server import restartable_port

CHATS = [1, 2, 3, 4, 5]


async def test_deliveries_refused_a_connection_are_sent_once_when_telegram_comes_up(world: World) -> None:
    port = restartable_port()
    fake = FakeTelegram(world.fake.token, port=port)  # not listening yet: connections are refused
    client = HttpTelegramClient(fake.token, f"http://127.0.0.1:{port}", read_timeout=0.5)
    campaign_id = await a_running_campaign(world, CHATS)
    # A retry waits a second: time to see every first attempt refused, then start the fake.
    sender = world.sender(SenderRules(idle_poll=0.05, renew_every=0.5, max_retry_delay=1.0), telegram=client)
    sending = asyncio.create_task(sender.send_one_campaign(asyncio.Event()))
    try:
        for _ in range(500):
            rows = await deliveries(world, campaign_id)
            if all(d.attempts >= 1 and d.status is DeliveryStatus.PENDING for d in rows.values()):
                break
            assert not sending.done(), sending
            await asyncio.sleep(0.01)
        else:
            raise AssertionError(f"the first attempts never all came back: {rows}")
        await fake.start()
        assert await asyncio.wait_for(sending, 10)
    finally:
        sending.cancel()  # done by now, unless a check above failed
        await asyncio.gather(sending, return_exceptions=True)
        await fake.close()
        await client.aclose()

    rows = await deliveries(world, campaign_id)
    assert {chat: (d.status, d.error) for chat, d in rows.items()} == {c: (DeliveryStatus.SENT, None) for c in CHATS}
    assert all(d.attempts >= 2 and d.sent_at is not None for d in rows.values())  # refused first, then sent
    assert {chat: [call.outcome for call in fake.calls_for(chat)] for chat in CHATS} == {c: ["accepted"] for c in CHATS}
    assert len(fake.calls) == len(CHATS)
    assert await status(world, campaign_id) is CampaignStatus.COMPLETED
    assert world.fake.calls == []
