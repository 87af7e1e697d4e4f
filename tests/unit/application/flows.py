"""Short steps shared by the use-case tests: register, log in, read what was committed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from adapters.memory.identity import IdentityTables
from application.identity.log_in import LogInCommand
from application.identity.register_user import RegisterUserCommand
from application.identity.session_tokens import TokenPair
from application.shared.actor import Actor
from domain.identity.session import Session
from domain.identity.user import User
from domain.shared.ids import UserId
from entrypoints.testing.harness import Harness
from tests.support.units import memory_unit

EMAIL = "ada@example.com"
OTHER_EMAIL = "grace@example.com"
PASSWORD = "a-sturdy-passphrase-42"
NEW_PASSWORD = "another-sturdy-passphrase-7"
WRONG_PASSWORD = "not-the-passphrase-at-all"
ACCESS_TTL = timedelta(minutes=15)
JWT_LEEWAY = timedelta(seconds=5)

Recorded = tuple[str, datetime, str, str, dict[str, Any]]
"""An outbox entry without its id and provenance: name, time, aggregate type and id, payload."""


async def register(app: Harness, email: str = EMAIL, password: str = PASSWORD) -> User:
    return await app.register(RegisterUserCommand(email=email, password=password))


async def log_in(app: Harness, email: str = EMAIL, password: str = PASSWORD) -> TokenPair:
    return await app.log_in(LogInCommand(email=email, password=password))


async def signed_in(app: Harness, email: str = EMAIL, password: str = PASSWORD) -> tuple[TokenPair, Actor]:
    """Register (when new) and log in; the token pair and the actor its access token proves."""
    if all(u.email.value != email for u in app.database.tables(IdentityTables).users.values()):
        await register(app, email, password)
    pair = await log_in(app, email, password)
    return pair, await app.authenticate(pair.access_token)


def stored_user(app: Harness, user_id: UserId) -> User:
    return app.database.tables(IdentityTables).users[user_id]


def stored_session(app: Harness, pair: TokenPair) -> Session:
    return app.database.tables(IdentityTables).sessions[pair.session_id]


async def outbox_names(app: Harness) -> list[str]:
    return [event.name for event in await app.events()]


async def recorded(app: Harness, name: str | None = None) -> list[Recorded]:
    """The committed events (those named ``name``, if given), oldest first."""
    return [
        (e.name, e.occurred_at, e.aggregate_type, e.aggregate_id, dict(e.payload))
        for e in await app.events()
        if name is None or e.name == name
    ]


def session_revoked(at: datetime, actor_id: UserId, session_id: object, reason: str) -> Recorded:
    """The outbox entry of one ``session.revoked``."""
    payload = {"session_id": str(session_id), "user_id": str(actor_id), "reason": reason}
    return ("session.revoked", at, "session", str(session_id), payload)


async def deactivate(app: Harness, user_id: UserId) -> None:
    async with memory_unit(app.database) as uow:
        user = await uow.users.get(user_id)
        assert user is not None
        user.is_active = False
        await uow.users.save(user)
        await uow.commit()


def failures(app: Harness) -> dict[str, list[datetime]]:
    """The committed lockout attempts (failed or in flight), per e-mail, in the order they were made."""
    return {
        email: [a.at for a in attempts.values()]
        for email, attempts in app.database.tables(IdentityTables).login_failures.items()
    }
