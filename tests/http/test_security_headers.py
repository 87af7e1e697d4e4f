"""Headers every response carries, and the JSON body limit (``PORTSIDE_MAX_BODY_BYTES``)."""

from __future__ import annotations

import json

import pytest

from tests.http.conftest import API, Api, running_api
from tests.http.helpers import assert_problem
from tests.support.settings import test_settings


@pytest.mark.parametrize("path", ["/health", f"{API}/todos", "/openapi.json", "/nowhere"])
async def test_every_response_forbids_sniffing_and_referrers_and_development_sends_no_hsts(api: Api, path: str) -> None:
    response = await api.client.get(path)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "strict-transport-security" not in response.headers


async def test_production_sends_strict_transport_security(pg_url: str) -> None:
    async with running_api(test_settings(pg_url, env="production")) as api:
        for path in ("/health", f"{API}/todos"):
            response = await api.client.get(path)
            assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
            assert response.headers["x-content-type-options"] == "nosniff"


async def test_a_json_body_over_max_body_bytes_is_413_and_creates_nothing(pg_url: str) -> None:
    async with running_api(test_settings(pg_url, max_body_bytes=2048)) as api:
        tokens = await api.tokens()
        bearer = api.bearer(tokens["access_token"])
        fits = json.dumps({"title": "t", "description": "d" * 1900})
        too_big = json.dumps({"title": "t", "description": "d" * 2100})
        headers = {**bearer, "Content-Type": "application/json"}
        assert (await api.client.post(f"{API}/todos", content=fits, headers=headers)).status_code == 201
        refused = await api.client.post(f"{API}/todos", content=too_big, headers=headers)
        assert_problem(refused, 413)
        listed = await api.client.get(f"{API}/todos", headers=bearer)
        assert listed.json()["total"] == 1
