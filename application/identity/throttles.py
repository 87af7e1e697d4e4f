"""The per-client and overall throttles in front of every password hash."""

from __future__ import annotations

import hashlib

from application.identity.rules import IdentityRules
from application.identity.session_tokens import ClientInfo
from application.shared.client_addresses import client_bucket
from application.shared.rate_limits import Throttle
from domain.shared.ids import UserId


class IdentityThrottles:
    """Limits how often clients may make the server hash a password (``RateLimitedError``
    past a limit). Each hash costs a core and memory for tens of milliseconds, so these
    are what keeps a flood of logins or registrations from starving everything else. The
    same goes for requests that make the server send mail (reset and verification links):
    they are limited per client and per recipient, so nobody can flood a mailbox.

    A ``client`` of ``None`` is code in this process (a service embedding the use-cases),
    not a network client: it is not throttled. A network client whose address is unknown
    is a ``ClientInfo`` with no ``ip``, and shares one bucket with every other such client.
    """

    def __init__(self, throttle: Throttle, rules: IdentityRules) -> None:
        self._throttle = throttle
        self._rules = rules

    async def login(self, client: ClientInfo | None) -> None:
        if client is not None:
            await self._throttle.check(f"login:{client_bucket(client.ip)}", self._rules.login_throttle)

    async def registration(self, client: ClientInfo | None) -> None:
        if client is not None:
            await self._throttle.check(f"register:{client_bucket(client.ip)}", self._rules.register_throttle)
            await self._throttle.check("register:all", self._rules.register_global_throttle)

    async def password_reset(self, client: ClientInfo | None, email_key: str) -> None:
        """Per client address, then per e-mail (``email_key``, normalized), known or not: a
        429 says nothing about whether an account has the address."""
        if client is not None:
            await self._throttle.check(f"reset:{client_bucket(client.ip)}", self._rules.reset_throttle)
            # The limiter's store (Redis) sees a digest, not the address.
            digest = hashlib.sha256(email_key.encode()).hexdigest()[:32]
            await self._throttle.check(f"reset-email:{digest}", self._rules.reset_email_throttle)

    async def verification_resend(self, user_id: UserId) -> None:
        await self._throttle.check(f"verify-resend:{user_id}", self._rules.verification_resend_throttle)
