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


async def test_cors_answers_a_preflight_from_a_listed_origin_only(pg_url: str) -> None:
    listed, other = "https://app.example.com", "https://evil.example.com"
    async with running_api(test_settings(pg_url, cors_origins=(listed,))) as api:
        asks = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}
        allowed = await api.client.options(f"{API}/todos", headers={"Origin": listed, **asks})
        assert allowed.status_code in (200, 204), allowed.text
        assert allowed.headers["access-control-allow-origin"] == listed
        assert "POST" in allowed.headers["access-control-allow-methods"]
        assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
        refused = await api.client.options(f"{API}/todos", headers={"Origin": other, **asks})
        assert "access-control-allow-origin" not in refused.headers
        simple = await api.client.get("/health", headers={"Origin": listed})
        assert simple.headers["access-control-allow-origin"] == listed
        exposed = {name.strip().lower() for name in simple.headers["access-control-expose-headers"].split(",")}
        assert exposed >= {"etag", "location", "retry-after", "ratelimit", "ratelimit-policy", "x-request-id"}
        assert "access-control-allow-origin" not in (await api.client.get("/health", headers={"Origin": other})).headers
