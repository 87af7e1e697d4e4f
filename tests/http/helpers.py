"""Assertions and shortcuts shared by the HTTP tests (problem bodies, tokens, direct SQL)."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import httpx
import jwt
from sqlalchemy.sql import Executable

from adapters.sql.engine import create_engine
from tests.http.conftest import API, Api
from tests.support.settings import TEST_SECRET

RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
PRIVATE_VIEW_KEYS = {
    "id",
    "email",
    "display_name",
    "role",
    "is_active",
    "email_verified",
    "created_at",
    "updated_at",
}
TOKEN_PAIR_KEYS = {"access_token", "refresh_token", "token_type", "expires_in"}
OTHER_SECRET = "another-secret-that-is-long-enough-for-hs256-9876543210"


def assert_token_pair(response: httpx.Response) -> dict[str, Any]:
    """A 200 token pair that no cache may keep; its body."""
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    assert set(body) == TOKEN_PAIR_KEYS
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    return body


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """``response`` is an RFC 9457 problem with ``status``, about this request, leaking nothing."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert isinstance(body["type"], str)
    assert body["type"]
    assert isinstance(body["title"], str)
    assert body["title"]
    assert body["instance"] == response.request.url.path
    assert set(body) <= {"type", "title", "status", "detail", "instance", "errors", "current_version"}
    for marker in ("Traceback", 'File "', "sqlalchemy", "asyncpg", "SELECT ", "INSERT "):
        assert marker not in response.text
    assert response.headers.get("x-request-id")
    return body


def assert_unauthorized(response: httpx.Response) -> dict[str, Any]:
    body = assert_problem(response, 401)
    assert response.headers["www-authenticate"].lower().startswith("bearer")
    return body


def field_errors(body: dict[str, Any]) -> dict[str, str]:
    """``{field: message}`` of a validation problem."""
    errors = body.get("errors")
    assert errors, body
    return {error["field"]: error["message"] for error in errors}


def claims_of(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def sign(claims: dict[str, Any], *, secret: str = TEST_SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=algorithm)


def _b64url(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def unsigned(claims: dict[str, Any]) -> str:
    """A token with ``alg: none`` and an empty signature."""
    return f"{_b64url({'alg': 'none', 'typ': 'JWT'})}.{_b64url(claims)}."


async def me(api: Api, access_token: str) -> httpx.Response:
    return await api.client.get(f"{API}/auth/me", headers=api.bearer(access_token))


async def refresh(api: Api, refresh_token: str) -> httpx.Response:
    return await api.client.post(f"{API}/auth/refresh", json={"refresh_token": refresh_token})


async def logout(api: Api, access_token: str, body: dict[str, Any] | None = None) -> httpx.Response:
    return await api.client.post(f"{API}/auth/logout", headers=api.bearer(access_token), json=body)


async def sessions(api: Api, access_token: str) -> list[dict[str, Any]]:
    response = await api.client.get(f"{API}/auth/sessions", headers=api.bearer(access_token))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()
    return items


async def run_sql(api: Api, *statements: Executable) -> list[Any]:
    """Run ``statements`` in one committed transaction on the app's database; their rows (if any)."""
    engine = create_engine(api.settings.database_url)
    results: list[Any] = []
    try:
        async with engine.begin() as connection:
            for statement in statements:
                result = await connection.execute(statement)
                results.append(result.all() if result.returns_rows else None)
    finally:
        await engine.dispose()
    return results
