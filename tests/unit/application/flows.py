"""Short steps shared by the use-case tests: register, log in, read what was committed."""

from __future__ import annotations

from datetime import datetime, timedelta

from adapters.memory.identity import IdentityTables
from application.identity.log_in import LogInCommand
from application.identity.register_user import RegisterUserCommand
from application.identity.session_tokens import TokenPair
from application.shared.actor import Actor
from domain.identity.session import Session
from domain.identity.user import User
from domain.shared.ids import UserId
from tests.support.builders import IdentityApp

EMAIL = "ada@example.com"
OTHER_EMAIL = "grace@example.com"
PASSWORD = "a-sturdy-passphrase-42"
NEW_PASSWORD = "another-sturdy-passphrase-7"
WRONG_PASSWORD = "not-the-passphrase-at-all"
ACCESS_TTL = timedelta(minutes=15)
JWT_LEEWAY = timedelta(seconds=5)


async def register(app: IdentityApp, email: str = EMAIL, password: str = PASSWORD) -> User:
    return await app.register(RegisterUserCommand(email=email, password=password))


async def log_in(app: IdentityApp, email: str = EMAIL, password: str = PASSWORD) -> TokenPair:
    return await app.log_in(LogInCommand(email=email, password=password))


async def signed_in(app: IdentityApp, email: str = EMAIL, password: str = PASSWORD) -> tuple[TokenPair, Actor]:
    """Register (when new) and log in; the token pair and the actor its access token proves."""
    if all(u.email.value != email for u in app.database.tables(IdentityTables).users.values()):
        await register(app, email, password)
    pair = await log_in(app, email, password)
    return pair, await app.authenticate(pair.access_token)


def stored_user(app: IdentityApp, user_id: UserId) -> User:
    return app.database.tables(IdentityTables).users[user_id]


def stored_session(app: IdentityApp, pair: TokenPair) -> Session:
    return app.database.tables(IdentityTables).sessions[pair.session_id]


def outbox_names(app: IdentityApp) -> list[str]:
    return [event.name for event in app.database.events()]


async def deactivate(app: IdentityApp, user_id: UserId) -> None:
    async with app.uow() as uow:
        user = await uow.users.get(user_id)
        assert user is not None
        user.is_active = False
        await uow.users.save(user)
        await uow.commit()


def failures(app: IdentityApp) -> dict[str, list[datetime]]:
    """The committed lockout attempts (failed or in flight), per e-mail, in the order they were made."""
    return {
        email: [a.at for a in attempts.values()]
        for email, attempts in app.database.tables(IdentityTables).login_failures.items()
    }
