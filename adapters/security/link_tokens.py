"""``HmacLinkTokens``: link tokens derived from the event that mails them, under a server key."""

from __future__ import annotations

import base64
import hashlib
import hmac
from uuid import UUID

from application.identity.ports import LinkTokens
from domain.identity.link_token import LinkPurpose

__all__ = ["HmacLinkTokens"]

_KEY_LABEL = b"portside link tokens"


class HmacLinkTokens(LinkTokens):
    """A token is HMAC-SHA256(key, purpose + event id), URL-safe base64 (256 bits, 43
    characters). The key is derived from the server secret (``PORTSIDE_JWT_SECRET``) for
    this use alone, so no token is ever a JWT signature. Without the key a token cannot be
    guessed from the event id; with the same key and event the job mints the same token
    again, which is what makes a re-run after a crash mail the same link.

    The stored digest is a plain SHA-256: a token carries 256 unguessable bits, so nothing
    slower is needed to keep a leaked digest from being turned back into it.
    """

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("link tokens need a server secret")
        self._key = hmac.new(secret.encode(), _KEY_LABEL, hashlib.sha256).digest()

    def mint(self, purpose: LinkPurpose, event_id: UUID) -> str:
        message = f"{purpose.value}:{event_id}".encode()
        mac = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def digest(self, token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()
