"""Health, readiness, the OpenAPI document and the docs page."""

from __future__ import annotations

from typing import Any

from tests.http.conftest import API, Api
from tests.http.helpers import PRIVATE_VIEW_KEYS, TOKEN_PAIR_KEYS

IDENTITY_OPERATIONS = {
    ("post", "/auth/register"),
    ("post", "/auth/login"),
    ("post", "/auth/token"),
    ("post", "/auth/refresh"),
    ("post", "/auth/logout"),
    ("get", "/auth/me"),
    ("post", "/auth/password"),
    ("get", "/auth/sessions"),
    ("delete", "/auth/sessions/{session_id}"),
}
PROTECTED = {("post", "/auth/logout"), ("get", "/auth/me"), ("post", "/auth/password"), ("get", "/auth/sessions")}
PROTECTED |= {("delete", "/auth/sessions/{session_id}")}
USER_OPERATIONS = {
    ("get", "/users"),
    ("get", "/users/{user_id}"),
    ("patch", "/users/me"),
    ("patch", "/users/{user_id}"),
    ("delete", "/users/{user_id}"),
}
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path.removeprefix(API)): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }


def schema_of(document: dict[str, Any], operation: dict[str, Any], status: str) -> dict[str, Any]:
    schema: dict[str, Any] = operation["responses"][status]["content"]["application/json"]["schema"]
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


async def test_liveness_is_200_ok(api: Api) -> None:
    """Answered without Litestar's response machinery: still JSON, with its length, and with
    what every response gets (request id, security headers)."""
    response = await api.client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-length"] == str(len(response.content))
    assert response.headers["x-request-id"] and response.headers["x-content-type-options"] == "nosniff"


async def test_readiness_reports_the_database_ok(api: Api) -> None:
    response = await api.client.get("/health/ready")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"


async def test_openapi_is_version_3_1_and_has_every_identity_operation(openapi: dict[str, Any]) -> None:
    assert openapi["openapi"].startswith("3.1")
    assert set(operations(openapi)) >= IDENTITY_OPERATIONS


async def test_openapi_declares_bearer_auth_on_the_protected_operations(openapi: dict[str, Any]) -> None:
    scheme = openapi["components"]["securitySchemes"]["BearerAuth"]
    assert scheme["type"] == "http"
    assert scheme["scheme"].lower() == "bearer"
    ops = operations(openapi)
    for key in PROTECTED:
        assert {"BearerAuth": []} in ops[key]["security"], key
    for key in IDENTITY_OPERATIONS - PROTECTED:
        assert not ops[key].get("security"), key


async def test_login_failures_are_documented_as_problem_json(openapi: dict[str, Any]) -> None:
    login = operations(openapi)[("post", "/auth/login")]
    for status in ("401", "422", "429"):
        assert "application/problem+json" in login["responses"][status]["content"], status


async def test_every_documented_error_response_is_problem_json(openapi: dict[str, Any]) -> None:
    wrong = [
        (method, path, status, sorted(response.get("content", {})))
        for (method, path), operation in operations(openapi).items()
        for status, response in operation["responses"].items()
        if status.startswith(("4", "5"))
        and path.startswith("/auth")
        and set(response.get("content", {})) != {"application/problem+json"}
    ]
    assert wrong == []


async def test_the_token_endpoint_is_documented_as_a_form(openapi: dict[str, Any]) -> None:
    token = operations(openapi)[("post", "/auth/token")]
    assert "application/x-www-form-urlencoded" in token["requestBody"]["content"]
    flows = openapi["components"]["securitySchemes"]["OAuth2Password"]["flows"]
    assert flows["password"]["tokenUrl"] == f"{API}/auth/token"


async def test_documented_views_match_the_contract_and_hide_passwords(openapi: dict[str, Any]) -> None:
    ops = operations(openapi)
    assert set(schema_of(openapi, ops[("post", "/auth/register")], "201")["properties"]) == PRIVATE_VIEW_KEYS
    assert set(schema_of(openapi, ops[("get", "/auth/me")], "200")["properties"]) == PRIVATE_VIEW_KEYS
    assert set(schema_of(openapi, ops[("post", "/auth/login")], "200")["properties"]) == TOKEN_PAIR_KEYS
    for name, schema in openapi["components"]["schemas"].items():
        if "password" not in name.lower() and name not in ("LoginBody", "RegisterBody", "TokenForm"):
            assert not [key for key in schema.get("properties", {}) if "password" in key or "hash" in key], name


async def test_docs_page_serves_html(api: Api) -> None:
    response = await api.client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "swagger" in response.text.lower()


async def test_the_users_operations_are_documented_as_bearer_protected(openapi: dict[str, Any]) -> None:
    ops = operations(openapi)
    assert set(ops) >= USER_OPERATIONS
    for key in USER_OPERATIONS:
        assert {"BearerAuth": []} in ops[key]["security"], key
        for status, response in ops[key]["responses"].items():
            if status.startswith(("4", "5")):
                assert set(response.get("content", {})) == {"application/problem+json"}, (key, status)
    assert set(schema_of(openapi, ops[("patch", "/users/me")], "200")["properties"]) == PRIVATE_VIEW_KEYS
