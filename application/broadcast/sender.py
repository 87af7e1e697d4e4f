"""``CampaignSender``: delivers running campaigns, each message at most once.

One sender at a time works on a campaign: it holds the campaign's sender lease, renewed in
the background every few seconds, and stops when it loses it; a claim is taken only under
the sender's own unlapsed lease, so a sender paused past its lease sends nothing more. Each
delivery goes through four steps, each its own transaction or call:

1. book a send slot with the ``SendPacer`` (within Telegram's 30 a second overall and one
   a second per chat, across every process) and wait for it;
2. claim the delivery, ``pending`` -> ``sending``, and commit: from here on the message is
   never sent again, whatever happens;
3. call Telegram, at least ``send_spacing`` after this process's previous call: a claim
   that ended late (a slow database, a paused process) would otherwise send together with
   the sends whose slots passed meanwhile, and Telegram counts its limit on arrival;
4. record what the outcome class proves: ``sent``; back to ``pending`` (due after
   ``retry_after``, or a backoff) only when it was provably not sent; ``failed`` with the
   rejection (a blocked bot also marks the chat blocked and unsubscribed); ``failed`` with
   ``unknown_outcome`` when nobody can know.

After each batch, ``campaign.progress`` (the counts) goes to the outbox.

A sender that dies between 2 and 4 leaves rows in ``sending``; the next one to take the
lease fails them with ``unknown_outcome`` before sending anything. So a recipient gets at
most one message, and the only messages lost to a crash are those in flight at that moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from application.broadcast.access import announced_view, stats_of
from application.broadcast.ports import BroadcastUnits
from application.shared.ports import Clock
from application.telegram.client import Rejection, SendOutcome, SendResult, TelegramClient
from application.telegram.pacing import TELEGRAM_LIMITS, SendPacer
from domain.broadcast.campaign import Campaign, CampaignId, CampaignStatus
from domain.broadcast.delivery import Delivery, DeliveryError
from domain.shared.errors import VersionMismatchError

__all__ = ["CampaignSender", "SenderRules"]

_log = logging.getLogger("portside.broadcast")

_ERRORS = {
    Rejection.BLOCKED: DeliveryError.BLOCKED,
    Rejection.CHAT_NOT_FOUND: DeliveryError.CHAT_NOT_FOUND,
    Rejection.REJECTED: DeliveryError.REJECTED,
}


@dataclass(frozen=True, slots=True)
class SenderRules:
    lease: timedelta = timedelta(seconds=30)
    """How long a dead sender holds its campaign: its successor waits this long."""
    renew_every: float = 5.0
    concurrency: int = 8
    """Sends in flight at once (each waits for its slot first)."""
    batch: int = 64
    idle_poll: float = 0.5
    """Seconds between looks for a campaign to send, when there is none."""
    max_retry_delay: float = 60.0
    sweep_every: float = 30.0
    """Seconds between looks for deliveries stranded by a sender that died (``fail_stranded``)."""
    send_spacing: float = 1 / TELEGRAM_LIMITS.per_second
    """The least time between two of this process's calls as they leave, whenever their
    claims end. The pacer's slots are this far apart already (``TELEGRAM_LIMITS``), so
    sends on time rarely wait for it; sends made late by a slow claim queue behind each
    other instead of arriving together. Per process: senders in other processes late at
    the same moment are not held back by it."""


class CampaignSender:
    def __init__(
        self, units: BroadcastUnits, telegram: TelegramClient, pacer: SendPacer, clock: Clock, rules: SenderRules
    ) -> None:
        self._units = units
        self._telegram = telegram
        self._pacer = pacer
        self._clock = clock
        self._rules = rules
        self._next_call = 0.0
        """The event loop's time from which the next call to Telegram may leave."""
        self._departures = asyncio.Lock()

    async def run(self, stop: asyncio.Event) -> None:
        """Send campaigns until ``stop``: take the lease of a running campaign nobody is
        sending, drive it, look again. Meanwhile, every ``sweep_every`` seconds, end what
        dead senders stranded (``fail_stranded``), even while a long campaign is driven. A
        dependency that fails (``DependencyUnavailableError`` from the database or the
        pacer) ends the call: the caller waits and calls again."""
        sweeping = asyncio.create_task(self._sweep_until(stop))
        try:
            while not stop.is_set():
                if not await self.send_one_campaign(stop):
                    await _wait(stop, self._rules.idle_poll)
        finally:
            sweeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeping

    async def _sweep_until(self, stop: asyncio.Event) -> None:
        while True:
            try:
                await self.fail_stranded()
            except Exception:  # noqa: BLE001 - the next sweep tries again
                _log.warning("sweeping stranded deliveries failed", exc_info=True)
            if await _stopped(stop, self._rules.sweep_every):
                return

    async def fail_stranded(self) -> int:
        """End the deliveries of cancelled campaigns that nobody will send: ``sending`` ones
        a dead sender left (``unknown_outcome``), ``pending`` ones a send in flight at the
        cancel put back (``cancelled``). How many."""
        failed = 0
        async with self._units() as uow:
            for campaign_id in await uow.deliveries.stranded(self._clock.now()):
                failed += await uow.deliveries.fail_in_flight(campaign_id)
                failed += await uow.deliveries.cancel_pending(campaign_id)
            await uow.commit()
        return failed

    async def send_one_campaign(self, stop: asyncio.Event) -> bool:
        """Take one campaign and drive it until it ends, the lease is lost or ``stop``.
        False when no campaign needed a sender."""
        token = secrets.token_hex(16)
        now = self._clock.now()
        async with self._units() as uow:
            campaign = await uow.campaigns.claim_sender(now, now + self._rules.lease, token)
            if campaign is not None:
                # Left by a sender that died mid-send: Telegram may have them. Never resend.
                await uow.deliveries.fail_in_flight(campaign.id)
            await uow.commit()
        if campaign is None:
            return False
        try:
            await self._drive(campaign, token, stop)
        finally:
            async with self._units() as uow:
                await uow.campaigns.release_sender(campaign.id, token)
                await uow.commit()
        return True

    async def _drive(self, campaign: Campaign, token: str, stop: asyncio.Event) -> None:
        lost = asyncio.Event()
        renewing = asyncio.create_task(self._keep_lease(campaign.id, token, lost))
        try:
            while not (stop.is_set() or lost.is_set()):
                async with self._units() as uow:
                    current = await uow.campaigns.get(campaign.id)
                    if current is None or current.status is not CampaignStatus.RUNNING:
                        return  # cancelled (its pending deliveries failed with it) or deleted
                    due = await uow.deliveries.due(campaign.id, self._clock.now(), self._rules.batch)
                if due:
                    claimed = await self._send_all(current, token, due, halt=(stop, lost))
                    await self._report(campaign.id)
                    if not claimed and not await self._renew(campaign.id, token):
                        return  # claims refused: the lease went to another sender
                    continue
                wait = await self._complete_or_wait(campaign.id)
                if wait is None:
                    return
                await _wait(stop, min(wait, self._rules.renew_every))
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing

    async def _keep_lease(self, campaign_id: CampaignId, token: str, lost: asyncio.Event) -> None:
        """Renew the lease every ``renew_every`` seconds until cancelled (when the campaign's
        driving ends, after its last claimed send is recorded, stopping or not); set ``lost``
        when another sender has it. A renewal that fails (the database away) is tried
        again: claims check the lease themselves, so a lease that lapses meanwhile claims
        nothing more."""
        while True:
            await asyncio.sleep(self._rules.renew_every)
            try:
                kept = await self._renew(campaign_id, token)
            except Exception:  # noqa: BLE001 - the next renewal tries again
                _log.exception("campaign lease renewal failed (campaign %s)", campaign_id)
                continue
            if not kept:
                lost.set()
                return

    async def _complete_or_wait(self, campaign_id: CampaignId) -> float | None:
        """Complete the campaign when no delivery is left (None); else the seconds until the
        next one is due. A cancel that won the race has ended it already (None too)."""
        async with self._units() as uow:
            if await uow.deliveries.unfinished(campaign_id) == 0:
                campaign = await uow.campaigns.get(campaign_id)
                if campaign is not None and campaign.status is CampaignStatus.RUNNING:
                    campaign.complete(self._clock.now())
                    campaign.report_progress(await stats_of(uow, campaign_id), self._clock.now())
                    with contextlib.suppress(VersionMismatchError):  # cancelled meanwhile
                        await uow.campaigns.save(campaign)
                        await uow.commit()
                return None
            next_due = await uow.deliveries.next_due_at(campaign_id)
        if next_due is None:
            return self._rules.idle_poll  # only rows in flight elsewhere: look again soon
        return max(0.0, (next_due - self._clock.now()).total_seconds())

    async def _report(self, campaign_id: CampaignId) -> None:
        """``campaign.progress`` after a batch, with the counts as committed."""
        async with self._units() as uow:
            campaign = await uow.campaigns.get(campaign_id)
            if campaign is None:
                return
            await announced_view(uow, campaign, self._clock.now())
            await uow.commit()

    async def _renew(self, campaign_id: CampaignId, token: str) -> bool:
        async with self._units() as uow:
            kept = await uow.campaigns.renew_sender(campaign_id, token, self._clock.now() + self._rules.lease)
            await uow.commit()
        return kept

    async def _send_all(
        self, campaign: Campaign, token: str, due: list[Delivery], halt: tuple[asyncio.Event, ...]
    ) -> int:
        """Send ``due``, ``concurrency`` at a time; how many were claimed. Once one send fails
        (the pacer's store or the database gone), or any event in ``halt`` is set, no further
        delivery is claimed; the sends already past their claim finish and are recorded, and
        then the first failure is raised. A delivery never claimed stays ``pending``."""
        slots = asyncio.Semaphore(self._rules.concurrency)
        failed = asyncio.Event()
        halt = (*halt, failed)
        failures: list[Exception] = []

        async def one(delivery: Delivery) -> bool:
            async with slots:
                if any(event.is_set() for event in halt):
                    return False
                try:
                    return await self._send(campaign, token, delivery, halt)
                except Exception as error:  # noqa: BLE001 - raised below, after the others end
                    failures.append(error)
                    failed.set()
                    return False

        claimed = sum(await asyncio.gather(*(one(delivery) for delivery in due)))
        if failures:
            raise failures[0]
        return claimed

    async def _send(self, campaign: Campaign, token: str, delivery: Delivery, halt: tuple[asyncio.Event, ...]) -> bool:
        """Wait for a send slot, claim, call Telegram (spaced), record; whether it was claimed."""
        await asyncio.sleep(await self._pacer.reserve(delivery.chat_id))
        if any(event.is_set() for event in halt):
            return False  # stopping, or the lease is lost: the slot goes unused
        async with self._units() as uow:
            claimed = await uow.deliveries.claim(campaign.id, delivery.chat_id, token, self._clock.now())
            await uow.commit()
        if not claimed:
            return False  # cancelled meanwhile, taken by another sender, or our lease lapsed
        await self._spaced()
        result = await self._telegram.send_message(delivery.chat_id, campaign.text)
        await self._record(campaign.id, delivery, result)
        return True

    async def _spaced(self) -> None:
        """Wait until ``send_spacing`` has passed since this sender's previous call left.
        Callers go one at a time, each timed from when the one before it actually left: a
        pause of the process while several wait releases them one by one, not together."""
        async with self._departures:
            loop = asyncio.get_running_loop()
            wait = self._next_call - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            self._next_call = loop.time() + self._rules.send_spacing

    async def _record(self, campaign_id: CampaignId, delivery: Delivery, result: SendResult) -> None:
        now = self._clock.now()
        chat_id = delivery.chat_id
        async with self._units() as uow:
            if result.outcome is SendOutcome.ACCEPTED:
                await uow.deliveries.mark_sent(campaign_id, chat_id, now)
            elif result.outcome is SendOutcome.NOT_SENT:
                delay = result.retry_after or min(2.0 ** (delivery.attempts + 1), self._rules.max_retry_delay)
                await uow.deliveries.retry_at(campaign_id, chat_id, now + timedelta(seconds=delay))
                campaign = await uow.campaigns.get(campaign_id)
                if campaign is None or campaign.status is not CampaignStatus.RUNNING:
                    await uow.deliveries.cancel_pending(campaign_id)  # cancelled while in flight
            elif result.outcome is SendOutcome.REJECTED:
                rejection = result.rejection or Rejection.REJECTED
                await uow.deliveries.mark_failed(campaign_id, chat_id, _ERRORS[rejection])
                if rejection is Rejection.BLOCKED:
                    await uow.chats.mark_blocked(chat_id, now)
            else:
                await uow.deliveries.mark_failed(campaign_id, chat_id, DeliveryError.UNKNOWN_OUTCOME)
            await uow.commit()


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def _stopped(stop: asyncio.Event, seconds: float) -> bool:
    """Wait ``seconds`` or until ``stop``; whether it was ``stop``."""
    await _wait(stop, seconds)
    return stop.is_set()
