"""Steps shared by the password-reset and verification tests: a recording mailer, running an
event's handlers as its job would, and reading the link out of a message."""

from __future__ import annotations

import hashlib

from adapters.memory.identity import IdentityTables
from application.identity.confirm_password_reset import ConfirmPasswordReset, ConfirmPasswordResetCommand
from application.identity.request_password_reset import RequestPasswordReset, RequestPasswordResetCommand
from application.identity.resend_verification import ResendVerification
from application.identity.session_tokens import ClientInfo
from application.identity.verify_email import VerifyEmail, VerifyEmailCommand
from application.jobs.handle_event import EventHandlers
from application.shared.actor import Actor
from application.shared.events import Envelope
from domain.identity.link_token import LinkToken
from entrypoints.testing.harness import Harness
from tests.support.mail import RecordingSender, token_of
from tests.unit.application.flows import EMAIL


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def stored_tokens(app: Harness) -> dict[str, LinkToken]:
    return dict(app.database.tables(IdentityTables).link_tokens)


async def handle(app: Harness, event: Envelope) -> None:
    """Run every handler of ``event`` in one job's scope, as ``HandleEvent`` would."""
    async with app.use(EventHandlers) as handlers:
        for handler in handlers.of(event.name):
            await handler(event)


async def handle_all(app: Harness, name: str) -> list[Envelope]:
    """Run the handlers of every committed event called ``name``; those events."""
    events = [event for event in await app.events() if event.name == name]
    for event in events:
        await handle(app, event)
    return events


async def request_reset(app: Harness, email: str = EMAIL, client: ClientInfo | None = None) -> None:
    async with app.use(RequestPasswordReset) as request:
        await request(RequestPasswordResetCommand(email=email, client=client))


async def confirm_reset(app: Harness, token: str, new_password: str) -> None:
    async with app.use(ConfirmPasswordReset) as confirm:
        await confirm(ConfirmPasswordResetCommand(token=token, new_password=new_password))


async def verify(app: Harness, token: str) -> None:
    async with app.use(VerifyEmail) as verify_email:
        await verify_email(VerifyEmailCommand(token=token))


async def resend(app: Harness, actor: Actor) -> None:
    async with app.use(ResendVerification) as resend_verification:
        await resend_verification(actor)


async def mailed_reset_token(app: Harness, sender: RecordingSender, email: str = EMAIL) -> str:
    """Ask for a reset of ``email``, run the job, and return the token it mailed."""
    await request_reset(app, email)
    event = [e for e in await app.events() if e.name == "password_reset.requested"][-1]
    before = len(sender.sent)
    await handle(app, event)
    [message] = sender.sent[before:]
    return token_of(message)
