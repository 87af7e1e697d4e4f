"""``JwtTokenIssuer``: signed access tokens (PyJWT) and opaque refresh tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import jwt

from application.errors import UnauthenticatedError
from application.identity.ports import AccessClaims, IssuedToken, TokenIssuer
from application.shared.ports import Clock
from domain.identity.ids import SessionId
from domain.identity.user import Role
from domain.shared.ids import UserId

__all__ = ["JwtSettings", "JwtTokenIssuer"]

_REQUIRED = ["sub", "sid", "role", "iat", "exp", "iss", "aud", "jti"]
# A client sends the same access token with every request for its lifetime; verifying the
# signature once per process and token saves most of the cost of authentication. Only
# tokens that verified are kept, and expiry is still checked on every use.
_VERIFIED_CACHE_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class JwtSettings:
    secret: str
    issuer: str = "portside"
    audience: str = "portside-api"
    algorithm: str = "HS256"
    access_ttl: timedelta = timedelta(minutes=15)
    leeway: timedelta = timedelta(seconds=5)


class JwtTokenIssuer(TokenIssuer):
    """Access tokens carry ``sub``, ``sid``, ``role``, ``iat``, ``exp``, ``iss``, ``aud`` and ``jti``.

    Verification accepts only the configured algorithm (an allow-list of one, so ``alg: none``
    and algorithm confusion fail), and requires every claim above. Verified tokens are
    remembered (up to 10,000 per process) so a token's signature is checked once.
    """

    def __init__(self, settings: JwtSettings, clock: Clock) -> None:
        self._s = settings
        self._clock = clock
        self._verified: dict[str, tuple[AccessClaims, float]] = {}

    def issue_access_token(self, claims: AccessClaims) -> IssuedToken:
        now = self._clock.now()
        payload = {
            "sub": str(claims.user_id),
            "sid": str(claims.session_id),
            "role": claims.role.value,
            "iat": int(now.timestamp()),
            "exp": int((now + self._s.access_ttl).timestamp()),
            "iss": self._s.issuer,
            "aud": self._s.audience,
            "jti": secrets.token_hex(16),
        }
        token = jwt.encode(payload, self._s.secret, algorithm=self._s.algorithm)
        return IssuedToken(token=token, expires_in=int(self._s.access_ttl.total_seconds()))

    def read_access_token(self, token: str) -> AccessClaims:
        verified = self._verified.get(token)
        if verified is None:
            verified = self._verify(token)
            if len(self._verified) >= _VERIFIED_CACHE_SIZE:
                self._verified.pop(next(iter(self._verified)))  # oldest first: insertion order
            self._verified[token] = verified
        claims, expires_at = verified
        # Expiry is checked on every use, against the Clock port rather than the wall clock,
        # so tests and simulations decide what "now" is.
        if expires_at + self._s.leeway.total_seconds() <= self._clock.now().timestamp():
            raise UnauthenticatedError()
        return claims

    def _verify(self, token: str) -> tuple[AccessClaims, float]:
        try:
            payload = jwt.decode(
                token,
                self._s.secret,
                algorithms=[self._s.algorithm],
                audience=self._s.audience,
                issuer=self._s.issuer,
                leeway=self._s.leeway,
                options={"require": _REQUIRED, "verify_exp": False, "verify_iat": False},
            )
            expires = float(payload["exp"])
            claims = AccessClaims(
                user_id=UserId(UUID(payload["sub"])),
                session_id=SessionId(UUID(payload["sid"])),
                role=Role(payload["role"]),
                expires_at=datetime.fromtimestamp(expires, UTC),
            )
            return claims, expires
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            raise UnauthenticatedError() from None

    def new_refresh_token(self) -> str:
        return secrets.token_urlsafe(32)

    def hash_refresh_token(self, token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()
