"""``JwtTokenIssuer``: signed access tokens (PyJWT) and opaque refresh tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
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
    and algorithm confusion fail), and requires every claim above.
    """

    def __init__(self, settings: JwtSettings, clock: Clock) -> None:
        self._s = settings
        self._clock = clock

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
            # Expiry is checked against the Clock port rather than PyJWT's wall clock, so
            # tests and simulations decide what "now" is.
            if float(payload["exp"]) + self._s.leeway.total_seconds() <= self._clock.now().timestamp():
                raise UnauthenticatedError()
            return AccessClaims(
                user_id=UserId(UUID(payload["sub"])),
                session_id=SessionId(UUID(payload["sid"])),
                role=Role(payload["role"]),
            )
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            raise UnauthenticatedError() from None

    def new_refresh_token(self) -> str:
        return secrets.token_urlsafe(32)

    def hash_refresh_token(self, token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()
