"""``HmacLinkTokens``: the same event mints the same token, anything else another one, under
a key of its own derived from the server secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.security.link_tokens import HmacLinkTokens
from domain.identity.link_token import LinkPurpose

SECRET = "a-server-secret-that-is-long-enough-0123456789"
EVENT = UUID("0196f2a4-8f3e-7c11-9a40-1b2c3d4e5f60")
URL_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")


def test_the_same_event_and_purpose_mint_the_same_token_in_any_process() -> None:
    assert HmacLinkTokens(SECRET).mint(LinkPurpose.PASSWORD_RESET, EVENT) == HmacLinkTokens(SECRET).mint(
        LinkPurpose.PASSWORD_RESET, EVENT
    )


@given(events=st.lists(st.uuids(), min_size=2, max_size=5, unique=True))
def test_another_event_purpose_or_secret_mints_another_token(events: list[UUID]) -> None:
    minted = {
        HmacLinkTokens(secret).mint(purpose, event)
        for secret in (SECRET, SECRET + "x")
        for purpose in LinkPurpose
        for event in events
    }
    assert len(minted) == 2 * len(LinkPurpose) * len(events)


def test_a_token_is_256_url_safe_bits() -> None:
    token = HmacLinkTokens(SECRET).mint(LinkPurpose.EMAIL_VERIFICATION, EVENT)
    assert URL_SAFE.match(token)
    assert len(base64.urlsafe_b64decode(token + "=")) * 8 == 256


def test_the_key_is_derived_for_links_alone() -> None:
    """A token is not a MAC under the server secret itself (which signs access tokens)."""
    message = f"{LinkPurpose.PASSWORD_RESET.value}:{EVENT}".encode()
    under_the_secret = base64.urlsafe_b64encode(hmac.new(SECRET.encode(), message, hashlib.sha256).digest())
    assert HmacLinkTokens(SECRET).mint(LinkPurpose.PASSWORD_RESET, EVENT) != under_the_secret.rstrip(b"=").decode()


def test_the_digest_is_the_sha256_of_the_token() -> None:
    tokens = HmacLinkTokens(SECRET)
    token = tokens.mint(LinkPurpose.PASSWORD_RESET, EVENT)
    assert tokens.digest(token) == hashlib.sha256(token.encode()).hexdigest()
    assert token not in tokens.digest(token)


def test_no_secret_no_tokens() -> None:
    with pytest.raises(ValueError, match="secret"):
        HmacLinkTokens("")
