"""Which client address ``portside serve`` believes: the socket's peer, unless the peer is a
proxy named in ``PORTSIDE_TRUSTED_PROXIES``, whose ``X-Forwarded-For`` is then taken."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.server import portside_serve

API = "/api/v1"
PASSWORD = "a-sturdy-passphrase-42"
SPOOFED = {"X-Forwarded-For": "198.51.100.9"}


async def _session_ip(base: str) -> str | None:
    async with httpx.AsyncClient(base_url=base, timeout=10, headers=SPOOFED) as client:
        await client.post(f"{API}/auth/register", json={"email": "ada@example.com", "password": PASSWORD})
        login = await client.post(f"{API}/auth/login", json={"email": "ada@example.com", "password": PASSWORD})
        assert login.status_code == 200, login.text
        bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
        sessions = (await client.get(f"{API}/auth/sessions", headers=bearer)).json()
    ip: str | None = sessions[0]["ip"]
    return ip


@pytest.mark.parametrize(
    ("trusted", "seen"),
    [
        pytest.param(None, "127.0.0.1", id="nobody-trusted-the-header-changes-nothing"),
        pytest.param("10.0.0.0/8", "127.0.0.1", id="another-proxy-trusted-the-header-changes-nothing"),
        pytest.param("127.0.0.1", "198.51.100.9", id="the-peer-is-a-trusted-proxy"),
    ],
)
async def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(
    tmp_path: Path, trusted: str | None, seen: str
) -> None:
    extra = {"PORTSIDE_RATE_LIMITS": "off"} | ({"PORTSIDE_TRUSTED_PROXIES": trusted} if trusted else {})
    with portside_serve("memory://", tmp_path, **extra) as base:
        assert await _session_ip(base) == seen
