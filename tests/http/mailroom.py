"""The jobs behind the reset and verification flows, run by hand: every committed event not
handled yet goes to its handlers (as the worker would), and the mail they send is kept."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from uuid import UUID

from dishka import AsyncContainer, Scope
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.outbox import all_events
from adapters.system.clock import FixedClock
from application.jobs.handle_event import EventHandlers
from application.shared.email import EmailMessage, EmailSender
from entrypoints.container import build_container
from entrypoints.settings import Settings
from entrypoints.testing.harness import overriding
from tests.http.conftest import Api, fixed_clock_provider, running_api
from tests.support.mail import RecordingSender, token_of


@dataclass
class Mailroom:
    """``jobs`` is a container of its own, as the worker process has, on the app's database,
    clock and mail."""

    api: Api
    jobs: AsyncContainer
    sender: RecordingSender
    handled: set[UUID] = field(default_factory=set)

    @property
    def sent(self) -> list[EmailMessage]:
        return self.sender.sent

    async def run_jobs(self) -> list[EmailMessage]:
        """Handle every committed event not handled yet; the messages that sent."""
        before = len(self.sent)
        for event in await all_events(await self.jobs.get(AsyncEngine)):
            if event.event_id in self.handled:
                continue
            self.handled.add(event.event_id)
            async with self.jobs(scope=Scope.REQUEST) as job:
                for handler in (await job.get(EventHandlers)).of(event.name):
                    await handler(event)
        return self.sent[before:]

    async def one_token(self, subject: str) -> str:
        """Run the jobs; the token of the one message they sent, which has ``subject``."""
        [message] = await self.run_jobs()
        assert message.subject == subject, message
        return token_of(message)


@asynccontextmanager
async def api_with_mailroom(
    settings: Settings, clock: FixedClock | None = None, *, record: bool = True
) -> AsyncIterator[tuple[Api, Mailroom]]:
    """The app on ``settings``, its mail recorded (``record``) or sent by the sender the
    settings choose (the log, without SMTP)."""
    recorder = RecordingSender()
    overrides = [overriding(EmailSender, recorder)] if record else []
    async with running_api(settings, clock, *overrides) as api:
        jobs = build_container(settings, fixed_clock_provider(api.clock), *overrides)
        try:
            yield api, Mailroom(api, jobs, recorder)
        finally:
            await jobs.close()
