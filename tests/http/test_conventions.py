"""Conventions every response follows: problem details, X-Request-ID, strict bodies, no secrets."""

from __future__ import annotations

from typing import Any

import httpx

from tests.http.conftest import API, PASSWORD, Api
from tests.http.helpers import SANE_REQUEST_ID, assert_problem, claims_of, field_errors

JSON = {"content-type": "application/json"}
NEW_PASSWORD = "n3w-pass-phrase"


async def test_unknown_route_is_a_404_problem(api: Api) -> None:
    for path in ("/nope", f"{API}/nope", f"{API}/auth/nope"):
        assert_problem(await api.client.get(path), 404)


async def test_wrong_method_is_a_405_problem_with_allow(api: Api) -> None:
    response = await api.client.get(f"{API}/auth/login")
    assert_problem(response, 405)
    assert "POST" in response.headers["allow"]
    assert_problem(await api.client.put(f"{API}/auth/me"), 405)


async def test_a_body_over_the_limit_is_a_413_problem(api: Api) -> None:
    response = await api.client.post(f"{API}/auth/register", content=b" " * 1_100_000, headers=JSON)
    assert_problem(response, 413)


UNKNOWN_FIELDS: dict[str, dict[str, Any]] = {
    "/auth/register": {"email": "eve@example.com", "password": PASSWORD, "is_admin": True},
    "/auth/login": {"email": "ada@example.com", "password": PASSWORD, "remember_me": True},
    "/auth/refresh": {"refresh_token": "t", "grant_type": "refresh_token"},
    "/auth/logout": {"all_sessions": True, "force": True},
    "/auth/password": {"current_password": PASSWORD, "new_password": "a-brand-new-one-42", "x": 1},
}


async def test_unknown_json_fields_are_rejected_with_422_on_every_json_endpoint(api: Api) -> None:
    tokens = await api.tokens()
    for path, body in UNKNOWN_FIELDS.items():
        response = await api.client.post(f"{API}{path}", json=body, headers=api.bearer(tokens["access_token"]))
        problem = assert_problem(response, 422)
        assert field_errors(problem), path
        assert problem["type"] != "about:blank", path
    # None of them did anything.
    assert (await api.client.get(f"{API}/auth/me", headers=api.bearer(tokens["access_token"]))).status_code == 200
    assert (await api.login("eve@example.com")).status_code == 401


async def test_validation_problems_list_field_errors_with_messages(api: Api) -> None:
    body = assert_problem(await api.register(password="short"), 422)
    assert body["errors"] == [{"field": "password", "message": body["errors"][0]["message"]}]
    assert body["errors"][0]["message"]
    assert body["detail"]


async def test_non_validation_problems_carry_no_errors_member(api: Api) -> None:
    for response in (await api.client.get(f"{API}/auth/me"), await api.client.get("/nope")):
        assert "errors" not in response.json()


async def test_a_sane_client_request_id_is_echoed_on_success_and_error(api: Api) -> None:
    for request_id in ("abc", "req-123_4.5:6", "A" * 128, "0f8fad5b-d9cb-469f-a165-70867728950e"):
        headers = {"X-Request-ID": request_id}
        for response in (
            await api.client.get("/health", headers=headers),
            await api.client.get(f"{API}/auth/me", headers=headers),
            await api.client.get("/nope", headers=headers),
            await api.client.post(f"{API}/auth/register", json={}, headers=headers),
        ):
            assert response.headers["x-request-id"] == request_id, response.request.url


async def test_an_insane_client_request_id_is_replaced(api: Api) -> None:
    for request_id in ("a" * 129, "has space", "semi;colon", "<script>", "slash/ed", "", 'quote"d'):
        for path in ("/health", "/nope"):
            response = await api.client.get(path, headers={"X-Request-ID": request_id})
            echoed = response.headers["x-request-id"]
            assert echoed != request_id
            assert SANE_REQUEST_ID.match(echoed), request_id


async def test_generated_request_ids_differ_per_request(api: Api) -> None:
    ids = {(await api.client.get("/health")).headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5
    assert all(SANE_REQUEST_ID.match(request_id) for request_id in ids)


async def walk_every_identity_endpoint(api: Api) -> list[httpx.Response]:
    """One of each identity response, success and failure; the responses, in order."""
    c = api.client
    seen = [
        await api.register(display_name="Ada"),
        await api.register(),
        await api.register(email="b@example.com", password="short"),
        await api.login(password="not-the-passphrase"),
        await api.login(),
        await c.post(f"{API}/auth/token", data={"username": "ada@example.com", "password": PASSWORD}),
    ]
    tokens, other = seen[-2].json(), seen[-1].json()
    auth = api.bearer(tokens["access_token"])

    async def change_password(current: str, new: str) -> httpx.Response:
        return await c.post(
            f"{API}/auth/password", headers=auth, json={"current_password": current, "new_password": new}
        )

    seen += [
        await c.get(f"{API}/auth/me", headers=auth),
        await c.get(f"{API}/auth/sessions", headers=auth),
        await change_password("nope-nope", "x"),
        await change_password(PASSWORD, "short"),
        await change_password(PASSWORD, NEW_PASSWORD),
        await c.delete(f"{API}/auth/sessions/{claims_of(other['access_token'])['sid']}", headers=auth),
        await c.post(f"{API}/auth/refresh", json={"refresh_token": tokens["refresh_token"]}),
        await c.post(f"{API}/auth/refresh", json={"refresh_token": tokens["refresh_token"]}),
        await c.post(f"{API}/auth/logout", headers=auth),
        await c.get(f"{API}/auth/me", headers=auth),
    ]
    return seen


def keys_of(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {key for item in value.values() for key in keys_of(item)}
    if isinstance(value, list):
        return {key for item in value for key in keys_of(item)}
    return set()


async def test_every_response_carries_a_request_id_and_errors_are_problems(api: Api) -> None:
    responses = await walk_every_identity_endpoint(api)

    assert {response.status_code for response in responses} >= {200, 201, 204, 401, 409, 422}
    for response in responses:
        assert SANE_REQUEST_ID.match(response.headers["x-request-id"])
        if response.status_code >= 400:
            assert_problem(response, response.status_code)


async def test_no_response_ever_carries_a_password_or_a_hash(api: Api) -> None:
    responses = await walk_every_identity_endpoint(api)

    for response in responses:
        text = response.text
        assert PASSWORD not in text
        assert NEW_PASSWORD not in text
        assert "$argon2" not in text
        if text:
            assert not {key for key in keys_of(response.json()) if "password" in key or "hash" in key}


async def test_a_json_body_is_decoded_once_by_the_strict_decoder(api: Api, monkeypatch: Any) -> None:
    """The strict decode's result is what the handler gets: Litestar's own (lenient)
    ``decode_json`` of the body never runs for a JSON body, and the handler still sees
    every field."""
    from litestar.serialization import decode_json

    lenient_decodes: list[bytes] = []

    def counted(value: Any, *args: Any, **kwargs: Any) -> Any:
        lenient_decodes.append(value)
        return decode_json(value, *args, **kwargs)

    monkeypatch.setattr("litestar.connection.request.decode_json", counted)
    auth = api.bearer((await api.tokens())["access_token"])
    body = {"title": "Decoded once", "description": "oat", "due_at": "2026-12-01T10:00:00Z"}
    created = await api.client.post(f"{API}/todos", json=body, headers=auth)
    assert created.status_code == 201, created.text
    assert {key: created.json()[key] for key in body} == body
    patched = await api.client.patch(
        created.headers["Location"], json={"completed": True}, headers=auth | {"if-match": created.headers["etag"]}
    )
    assert patched.status_code == 200 and patched.json()["completed"] is True
    assert lenient_decodes == []
