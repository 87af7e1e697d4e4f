"""Opening sessions and minting their tokens: shared by login and refresh."""

from __future__ import annotations

from dataclasses import dataclass

from application.identity.ports import AccessClaims, SessionRepository, TokenIssuer
from application.identity.rules import IdentityRules
from application.shared.client_addresses import canonical_ip
from application.shared.ports import Clock, IdGenerator
from domain.identity.ids import SessionId
from domain.identity.session import Session
from domain.identity.user import User


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    session_id: SessionId


USER_AGENT_MAX_LENGTH = 512


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """Where a login comes from, kept on the session so the user can recognise it.

    Whatever a client sends, what is kept fits: ``ip`` is a canonical IP address or
    ``None`` (a forwarded value that is not an address is dropped), and ``user_agent`` is
    cut to 512 characters without NULs.
    """

    user_agent: str | None = None
    ip: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "ip", canonical_ip(self.ip))
        if self.user_agent is not None:
            object.__setattr__(self, "user_agent", self.user_agent.replace("\x00", "")[:USER_AGENT_MAX_LENGTH])


class SessionTokens:
    def __init__(self, issuer: TokenIssuer, ids: IdGenerator, clock: Clock, rules: IdentityRules) -> None:
        self._issuer = issuer
        self._ids = ids
        self._clock = clock
        self._rules = rules

    async def open(self, sessions: SessionRepository, user: User, client: ClientInfo) -> TokenPair:
        """Start a session for ``user`` (stored through ``sessions``) and mint its first tokens."""
        refresh_token = self._issuer.new_refresh_token()
        session = Session.start(
            session_id=SessionId(self._ids.new_id()),
            user_id=user.id,
            token_hash=self._issuer.hash_refresh_token(refresh_token),
            now=self._clock.now(),
            lifetime=self._rules.session_lifetime,
            user_agent=client.user_agent,
            ip=client.ip,
        )
        await sessions.add(session)
        return self.pair(session, user, refresh_token)

    def rotate(self, session: Session, presented_token: str) -> str:
        """Rotate ``session`` to a new refresh token (domain rules apply) and return it."""
        refresh_token = self._issuer.new_refresh_token()
        session.rotate(
            presented_hash=self._issuer.hash_refresh_token(presented_token),
            new_hash=self._issuer.hash_refresh_token(refresh_token),
            now=self._clock.now(),
            lifetime=self._rules.session_lifetime,
        )
        return refresh_token

    def pair(self, session: Session, user: User, refresh_token: str) -> TokenPair:
        access = self._issuer.issue_access_token(AccessClaims(user_id=user.id, session_id=session.id, role=user.role))
        return TokenPair(
            access_token=access.token,
            refresh_token=refresh_token,
            expires_in=access.expires_in,
            session_id=session.id,
        )

    def hash(self, refresh_token: str) -> str:
        return self._issuer.hash_refresh_token(refresh_token)
