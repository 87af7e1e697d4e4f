"""Turn a bearer token into an ``Actor``."""

from __future__ import annotations

from datetime import datetime

from application.errors import UnauthenticatedError
from application.identity.ports import IdentityUnitOfWork, Principal, TokenIssuer
from application.shared.actor import Actor
from application.shared.ports import Clock


class AuthenticateAccessToken:
    """Verify an access token and check, in the store, that its session still counts.

    - The token must verify (signature, algorithm, issuer, audience, expiry).
    - Its session must be live, and its user present and active: logout, revocation,
      password change and deactivation take effect on the next request, in every process.
    - The role is the store's: a token claiming another one is refused. Every role change
      the application makes ends the account's sessions, so this only meets a change made
      behind its back (SQL), which a fresh login then picks up.
    """

    def __init__(self, uow: IdentityUnitOfWork, issuer: TokenIssuer, clock: Clock) -> None:
        self._uow = uow
        self._issuer = issuer
        self._clock = clock

    async def __call__(self, token: str) -> Actor:
        return (await self.until_expiry(token))[0]

    async def until_expiry(self, token: str) -> tuple[Actor, datetime]:
        """The actor, and when the token expires: a caller that keeps the actor (a
        WebSocket) must stop trusting it then."""
        claims = self._issuer.read_access_token(token)
        async with self._uow as uow:
            principal = await uow.sessions.find_principal(claims.session_id, self._clock.now())
        if principal != Principal(user_id=claims.user_id, role=claims.role) or claims.expires_at is None:
            raise UnauthenticatedError()
        actor = Actor(user_id=principal.user_id, session_id=claims.session_id, role=principal.role)
        return actor, claims.expires_at

    async def with_next_read(self, token: str) -> Actor:
        """The actor the token names, with the store's check left to the unit of work, which
        may fold it into the caller's next read: one round trip for both (README,
        Performance). The same rules hold, the role included. Only for a caller whose next step is a use-case that goes
        through this request's unit of work before it does anything else: until then the
        actor is unconfirmed."""
        claims = self._issuer.read_access_token(token)
        if claims.expires_at is None:
            raise UnauthenticatedError()
        actor = Actor(user_id=claims.user_id, session_id=claims.session_id, role=claims.role)
        await self._uow.require_live_session(actor, self._clock.now())
        return actor
