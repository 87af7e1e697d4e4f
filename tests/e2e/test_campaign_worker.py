"""Campaign sending through real ``portside worker`` processes against a fake Bot API, on
real PostgreSQL and a private Redis: every outcome class ends as the API promises, a worker
killed with ``kill -9`` mid-campaign never makes a recipient get two messages, and two
workers sending at once stay within Telegram's limits through the shared Redis pacer.

Campaigns are created and started in-process through the use-cases, on the same database;
the workers' senders pick them up within about half a second. The figures of the load and
rate tests are printed (``-s``) and attached to the report (``record_property``).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import pytest

from application.shared.actor import Actor
from domain.broadcast.campaign import CampaignId
from entrypoints.testing.harness import Harness, harness_settings
from tests.support.campaigns import (
    CampaignDb,
    admin_actor,
    create_campaign,
    fake_telegram_process,
    group_workers,
    start_campaign,
)
from tests.support.fake_telegram import (
    Behaviour,
    Call,
    FakeTelegram,
    bad_request,
    blocked,
    chat_not_found,
    drop,
    hang,
    max_in_window,
    min_gap,
    ok,
    retry_after,
    server_error,
)
from tests.support.worker import RedisServer, private_redis, worker_environment

Figures = Callable[[str, object], None]

CONCURRENCY = 8
"""``SenderRules.concurrency``: the most deliveries one sender has claimed and not recorded."""
LEASE = 30.0
"""``SenderRules.lease``: how long a dead sender's campaign waits for the next sender."""
TELEGRAM_PER_SECOND = 30
PER_CHAT_GAP = 1.0
CLOCK_TOLERANCE = 0.02


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    with private_redis(tmp_path) as server:
        yield server


@pytest.fixture
async def app(pg_url: str) -> AsyncIterator[Harness]:
    async with Harness(harness_settings(pg_url), start=datetime.now(UTC)) as harness:
        yield harness


@pytest.fixture
async def db(pg_url: str) -> AsyncIterator[CampaignDb]:
    database = await CampaignDb.connect(pg_url)
    yield database
    await database.close()


@pytest.fixture
async def admin(app: Harness) -> Actor:
    return await admin_actor(app)


def _environment(pg_url: str, redis: RedisServer, var_dir: Path, token: str, api_base: str) -> dict[str, str]:
    return worker_environment(
        pg_url, redis.url, var_dir, PORTSIDE_TELEGRAM_BOT_TOKEN=token, PORTSIDE_TELEGRAM_API_BASE=api_base
    )


async def _eventually(
    check: Callable[[], object], seconds: float, what: str, logs: Callable[[], str], *, poll: float = 0.1
) -> None:
    deadline = time.monotonic() + seconds
    while True:
        outcome = check()
        if asyncio.iscoroutine(outcome):
            outcome = await outcome
        if outcome:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds} s\n{logs()[-6000:]}")
        await asyncio.sleep(poll)


async def _completed(db: CampaignDb, *campaigns: CampaignId) -> bool:
    return all([await db.campaign_status(campaign) == "completed" for campaign in campaigns])


def _report(name: str, figures: Mapping[str, object], record_property: Figures) -> None:
    for key, value in figures.items():
        record_property(key, value)
    print(f"\n{name}:", json.dumps(figures, indent=2))


# ------------------------------------------------------------------ every outcome class


OUTCOMES: dict[int, tuple[Behaviour, tuple[str, str | None]]] = {
    101: (ok(), ("sent", None)),
    102: (ok(), ("sent", None)),
    103: (retry_after(1, times=1), ("sent", None)),
    104: (blocked(), ("failed", "blocked")),
    105: (chat_not_found(), ("failed", "chat_not_found")),
    106: (server_error(502), ("failed", "unknown_outcome")),
    107: (server_error(500), ("failed", "unknown_outcome")),
    108: (hang(), ("failed", "unknown_outcome")),
    109: (drop(), ("failed", "unknown_outcome")),
    110: (bad_request(), ("failed", "rejected")),
}
RETRIED = 103
BLOCKED = 104
REJECTED = 110


async def test_every_outcome_class_ends_as_promised_through_a_worker(
    app: Harness, admin: Actor, db: CampaignDb, pg_url: str, redis_server: RedisServer, tmp_path: Path
) -> None:
    """ok -> sent; 429 -> sent on the second call; 403 -> failed/blocked (and the chat
    blocked and unsubscribed); 400 chat not found -> failed/chat_not_found; another 4xx ->
    failed/rejected (the chat not blocked); 5xx, no answer (the client's 10 s read timeout)
    and a dropped connection -> failed/unknown_outcome after exactly one call. The campaign
    completes."""
    async with FakeTelegram(latency=0.02) as fake:
        for chat_id, (behaviour, _) in OUTCOMES.items():
            fake.script(chat_id, behaviour)
        campaign = await create_campaign(app, admin, list(OUTCOMES), name="outcomes", text="every outcome")
        environment = _environment(pg_url, redis_server, tmp_path, fake.token, fake.api_base)
        began = time.monotonic()
        with group_workers(environment, tmp_path) as [worker]:
            await start_campaign(app, admin, campaign)
            await _eventually(lambda: _completed(db, campaign), 45, "the campaign completed", worker.output)
        elapsed = time.monotonic() - began

        rows = await db.deliveries(campaign)
        outcomes = {chat_id: (row.status, row.error) for chat_id, row in rows.items()}
        assert outcomes == {chat_id: expected for chat_id, (_, expected) in OUTCOMES.items()}, worker.output()[-6000:]
        for chat_id, row in rows.items():
            calls = fake.calls_for(chat_id)
            if chat_id == RETRIED:
                assert row.attempts >= 2
                assert [call.outcome for call in calls] == ["retry_after", "accepted"]
                assert calls[1].at - calls[0].at >= 1.0 - CLOCK_TOLERANCE  # its retry_after was kept
            else:
                assert row.attempts == 1, chat_id
                assert len(calls) == 1, (chat_id, calls)
            assert (row.sent_at is not None) == (row.status == "sent")
        assert await db.chat_flags(BLOCKED) == (False, True)  # unsubscribed, blocked
        assert await db.chat_flags(101) is None  # a chat that answered is not touched
        assert await db.chat_flags(REJECTED) is None  # nor one whose message was refused
        print(f"\nevery outcome class: completed in {elapsed:.1f} s (the hang waits for the 10 s read timeout)")


# ------------------------------------------------------------------ kill -9 under load


async def test_a_worker_killed_mid_campaign_never_sends_a_message_twice(
    app: Harness,
    admin: Actor,
    db: CampaignDb,
    pg_url: str,
    redis_server: RedisServer,
    tmp_path: Path,
    record_property: Figures,
) -> None:
    """1,000 recipients; ``kill -9`` once the fake accepted 400; a new worker takes the
    campaign over once the dead sender's lease lapses. Every delivery ends sent or failed,
    no chat got more than one call, and only rows in flight at the kill fail as
    ``unknown_outcome``."""
    recipients = list(range(2_000_001, 2_001_001))
    kill_after = 400
    async with FakeTelegram(latency=0.02) as fake:
        campaign = await create_campaign(app, admin, recipients, name="load", text="under load")
        environment = _environment(pg_url, redis_server, tmp_path, fake.token, fake.api_base)
        began = time.monotonic()
        with group_workers(environment, tmp_path, label="first") as [first]:
            await start_campaign(app, admin, campaign)
            await _eventually(
                lambda: fake.accepted_count() >= kill_after, 60, f"{kill_after} accepted", first.output, poll=0.005
            )
            first.kill()  # blocks this loop until the group is gone: the fake stands still meanwhile
            killed_at = time.monotonic()
            in_flight_at_kill = fake._in_flight  # read, not answered; no await since the kill
            accepted_at_kill = fake.accepted_count()
            calls_at_kill = len(fake.calls)
            at_kill = await db.counts(campaign)
            lease_left = await db.lease_seconds_left(campaign)
        assert lease_left is not None and 0 < lease_left <= LEASE
        with group_workers(environment, tmp_path, label="second") as [second]:
            await _eventually(lambda: _completed(db, campaign), 100, "the campaign completed", second.output)
        total = time.monotonic() - began

        rows = await db.deliveries(campaign)
        final = await db.counts(campaign)
        figures = {
            "recipients": len(recipients),
            "accepted_before_kill": accepted_at_kill,
            "calls_before_kill": calls_at_kill,
            "in_flight_at_fake_at_kill": in_flight_at_kill,
            "sending_at_kill": at_kill["sending"],
            "sent_at_kill": at_kill["sent"],
            "lease_left_at_kill_s": round(lease_left, 1),
            "unknown_outcome": final["failed/unknown_outcome"],
            "sent": final["sent"],
            "failed": final["failed"],
            "calls_total": len(fake.calls),
            "accepted_total": fake.accepted_count(),
            "max_in_flight_at_fake": fake.max_in_flight,
            "total_seconds": round(total, 1),
        }
        _report("kill -9 under load", figures, record_property)

        assert len(rows) == len(recipients)
        assert {row.status for row in rows.values()} <= {"sent", "failed"}
        assert final["sent"] + final["failed"] == len(recipients)
        assert final["failed"] == final["failed/unknown_outcome"]  # nothing else went wrong
        for chat_id in recipients:
            calls = fake.calls_for(chat_id)
            assert len(fake.accepted_for(chat_id)) <= 1, (chat_id, calls)
            assert len(calls) <= 1, (chat_id, calls)
            if rows[chat_id].status == "sent":
                assert len(fake.accepted_for(chat_id)) == 1, chat_id
        assert final["failed/unknown_outcome"] <= at_kill["sending"] <= CONCURRENCY
        # The second worker waited for the dead sender's lease: nothing was sent between the
        # kill (plus what was already on its way) and the lapse.
        lapse = killed_at + lease_left
        resumed = [call.at for call in fake.calls if call.at > killed_at + 0.5]
        assert resumed and min(resumed) >= lapse - 0.25, (min(resumed) - killed_at, lease_left)


# ------------------------------------------------------------------ the rate across workers


async def test_two_workers_sending_at_once_keep_telegrams_limits(
    app: Harness,
    admin: Actor,
    db: CampaignDb,
    pg_url: str,
    redis_server: RedisServer,
    tmp_path: Path,
    record_property: Figures,
) -> None:
    """Two campaigns of 60 recipients, 20 chats in both, started at once with two workers
    running: each worker drives one, both book their slots in the one Redis. The fake (in a
    process of its own, so its clock is undisturbed) sees at most 30 messages in any one
    second and never two to a chat within a second."""
    shared = list(range(3_000_001, 3_000_021))
    first_recipients = shared + list(range(3_100_001, 3_100_041))
    second_recipients = shared + list(range(3_200_001, 3_200_041))
    with fake_telegram_process(latency=0.02) as fake:
        environment = _environment(pg_url, redis_server, tmp_path, fake.token, fake.api_base)
        first = await create_campaign(app, admin, first_recipients, name="first", text="first campaign")
        second = await create_campaign(app, admin, second_recipients, name="second", text="second campaign")
        with group_workers(environment, tmp_path, count=2) as workers:

            def logs() -> str:
                return "\n".join(worker.output() for worker in workers)

            # Both workers up (arq logs its start after the container is built) before the start.
            await _eventually(
                lambda: all("Starting worker" in worker.output() for worker in workers), 30, "both workers up", logs
            )
            await asyncio.gather(start_campaign(app, admin, first), start_campaign(app, admin, second))
            await _eventually(lambda: _completed(db, first, second), 60, "both campaigns completed", logs)
        calls = fake.calls()

    accepted = [call for call in calls if call.method == "sendMessage" and call.outcome == "accepted"]
    by_text: defaultdict[str | None, list[Call]] = defaultdict(list)
    by_chat: defaultdict[int, list[float]] = defaultdict(list)
    for call in accepted:
        by_text[call.text].append(call)
        assert call.chat_id is not None
        by_chat[call.chat_id].append(call.at)
    times = sorted(call.at for call in accepted)
    span = times[-1] - times[0]
    peak = max_in_window(times, 1.0)
    gap = min_gap(list(by_chat.values()))
    spans = {text: (min(c.at for c in sent), max(c.at for c in sent)) for text, sent in by_text.items()}
    overlap = min(end for _, end in spans.values()) - max(start for start, _ in spans.values())
    figures = {
        "messages": len(accepted),
        "max_in_any_1s_window": peak,
        "overall_rate_per_s": round((len(accepted) - 1) / span, 2),
        "span_s": round(span, 2),
        "longest_pause_between_sends_s": round(max(b - a for a, b in pairwise(times)), 3),
        "min_gap_per_chat_s": round(gap, 3),
        "campaigns_overlap_s": round(overlap, 2),
    }
    _report("rate across two workers", figures, record_property)

    for campaign in (first, second):
        rows = await db.deliveries(campaign)
        assert {row.status for row in rows.values()} == {"sent"}
    assert len(accepted) == len(calls) == len(first_recipients) + len(second_recipients)
    assert sorted(c.chat_id or 0 for c in by_text["first campaign"]) == first_recipients
    assert sorted(c.chat_id or 0 for c in by_text["second campaign"]) == second_recipients
    assert overlap > 1.0, spans  # the two campaigns were sent at the same time, by two senders
    assert peak <= TELEGRAM_PER_SECOND
    assert gap >= PER_CHAT_GAP - CLOCK_TOLERANCE
