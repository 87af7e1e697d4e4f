"""One access line per request, with the route template and never a secret."""

from __future__ import annotations

import structlog

from tests.http.conftest import API, PASSWORD, running_api
from tests.support.settings import test_settings


async def test_access_lines_carry_request_facts_and_no_secrets(sqlite_url: str) -> None:
    async with running_api(test_settings(sqlite_url, access_log=True)) as api:
        with structlog.testing.capture_logs() as logs:
            tokens = await api.tokens()
            await api.client.get(
                f"{API}/auth/sessions", headers={**api.bearer(tokens["access_token"]), "X-Request-ID": "req-42"}
            )
            await api.client.delete(f"{API}/auth/sessions/{tokens['access_token'][:8]}")
    lines = [entry for entry in logs if entry["event"] == "request"]
    assert [(line["method"], line["path"], line["status"]) for line in lines] == [
        ("POST", "/api/v1/auth/register", 201),
        ("POST", "/api/v1/auth/login", 200),
        ("GET", "/api/v1/auth/sessions", 200),
        ("DELETE", "<unmatched>", 404),
    ]
    assert all(isinstance(line["duration_ms"], float) for line in lines)
    everything = repr(logs)
    for secret in (PASSWORD, tokens["access_token"], tokens["refresh_token"], "Bearer"):
        assert secret not in everything
