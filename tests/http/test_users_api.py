"""``/api/v1/users``: listing, public and private views, profile and admin edits, deletion,
and the last active admin."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from dishka import Scope
from litestar import Request

from application.identity.create_admin import CreateAdmin, CreateAdminCommand
from tests.http.conftest import API, PASSWORD, Api
from tests.http.helpers import PRIVATE_VIEW_KEYS, RFC3339_UTC, assert_problem, assert_unauthorized, field_errors, me

ADMIN = "root@example.com"
PUBLIC_VIEW_KEYS = {"id", "display_name", "created_at"}


async def admin_token(api: Api, email: str = ADMIN) -> str:
    async with api.container(scope=Scope.REQUEST, context={Request: None}) as request:
        await (await request.get(CreateAdmin))(CreateAdminCommand(email=email, password=PASSWORD))
    return str((await api.tokens(email))["access_token"])


async def user_token(api: Api, email: str = "ada@example.com", **extra: Any) -> tuple[str, str]:
    """Register and log in; the access token and the account's id."""
    registered = await api.register(email, **extra)
    assert registered.status_code == 201, registered.text
    return str((await api.tokens(email))["access_token"]), str(registered.json()["id"])


async def my_id(api: Api, token: str) -> str:
    return str((await me(api, token)).json()["id"])


def users_url(suffix: str = "") -> str:
    return f"{API}/users{suffix}"


async def test_admins_list_private_views_newest_first(api: Api) -> None:
    token = await admin_token(api)
    await user_token(api, "ada@example.com")
    await user_token(api, "grace@example.com")
    response = await api.client.get(users_url(), headers=api.bearer(token))
    assert response.status_code == 200, response.text
    body = response.json()
    assert [u["email"] for u in body["items"]] == ["grace@example.com", "ada@example.com", ADMIN]
    assert (body["page"], body["size"], body["total"], body["pages"]) == (1, 20, 3, 1)
    assert set(body["items"][0]) == PRIVATE_VIEW_KEYS
    assert RFC3339_UTC.match(body["items"][0]["created_at"])
    second = (await api.client.get(users_url(), params={"page": 2, "size": 2}, headers=api.bearer(token))).json()
    assert ([u["email"] for u in second["items"]], second["pages"]) == ([ADMIN], 2)


async def test_search_matches_email_or_name_ignoring_case_and_wildcards(api: Api) -> None:
    token = await admin_token(api)
    await user_token(api, "a_b@example.com", display_name="Ada 100%")
    await user_token(api, "axb@example.com", display_name="Bob")

    async def search(q: str) -> list[str]:
        response = await api.client.get(users_url(), params={"q": q}, headers=api.bearer(token))
        assert response.status_code == 200, response.text
        return [u["email"] for u in response.json()["items"]]

    assert await search("A_B") == ["a_b@example.com"]
    assert await search("%") == ["a_b@example.com"]
    assert await search("ada 1") == ["a_b@example.com"]
    assert await search("bOB") == ["axb@example.com"]
    assert await search("a%b") == []
    assert await search("") == ["axb@example.com", "a_b@example.com", ADMIN]
    bad = await api.client.get(users_url(), params={"q": "a\x00b"}, headers=api.bearer(token))
    assert field_errors(assert_problem(bad, 422)) == {"q": "must not contain control characters"}


async def test_only_admins_list_accounts(api: Api) -> None:
    token, _ = await user_token(api)
    assert_problem(await api.client.get(users_url(), headers=api.bearer(token)), 403)
    assert_unauthorized(await api.client.get(users_url()))
    admin = await admin_token(api)
    for params in ({"page": "0"}, {"size": "101"}):
        assert_problem(await api.client.get(users_url(), params=params, headers=api.bearer(admin)), 422)


async def test_reading_an_account_gives_the_view_the_caller_may_see(api: Api) -> None:
    admin = await admin_token(api)
    ada, ada_id = await user_token(api)
    grace, _ = await user_token(api, "grace@example.com")
    public = await api.client.get(users_url(f"/{ada_id}"), headers=api.bearer(grace))
    assert public.status_code == 200, public.text
    assert set(public.json()) == PUBLIC_VIEW_KEYS
    for token in (ada, admin):
        private = await api.client.get(users_url(f"/{ada_id}"), headers=api.bearer(token))
        assert set(private.json()) == PRIVATE_VIEW_KEYS
        assert private.json()["email"] == "ada@example.com"
    assert_problem(await api.client.get(users_url(f"/{uuid4()}"), headers=api.bearer(grace)), 404)
    assert_unauthorized(await api.client.get(users_url(f"/{ada_id}")))


async def test_profile_update_changes_the_display_name_only(api: Api) -> None:
    ada, ada_id = await user_token(api)
    response = await api.client.patch(users_url("/me"), json={"display_name": "  Ada L. "}, headers=api.bearer(ada))
    assert response.status_code == 200, response.text
    assert set(response.json()) == PRIVATE_VIEW_KEYS
    assert (response.json()["id"], response.json()["display_name"]) == (ada_id, "Ada L.")
    assert field_errors(assert_problem(await api.client.patch(users_url("/me"), json={}, headers=api.bearer(ada)), 422))


async def test_profile_update_refuses_non_profile_fields_for_everyone(api: Api) -> None:
    ada, _ = await user_token(api)
    admin = await admin_token(api)
    bodies = [
        {"role": "admin"},
        {"is_active": False},
        {"email": "eve@example.com"},
        {"email_verified": True},
        {"display_name": "X", "role": "admin"},
        {"nickname": "x"},
        {"display_name": None},
    ]
    for token in (ada, admin):
        for body in bodies:
            assert_problem(await api.client.patch(users_url("/me"), json=body, headers=api.bearer(token)), 422)
        view = (await me(api, token)).json()
        assert view["display_name"] != "X"
    assert (await me(api, ada)).json()["role"] == "user"


async def test_admin_changes_role_activity_and_name(api: Api) -> None:
    admin = await admin_token(api)
    _, ada_id = await user_token(api)
    body = {"role": "admin", "display_name": "Countess"}
    response = await api.client.patch(users_url(f"/{ada_id}"), json=body, headers=api.bearer(admin))
    assert response.status_code == 200, response.text
    view = response.json()
    assert set(view) == PRIVATE_VIEW_KEYS
    assert (view["role"], view["display_name"], view["is_active"]) == ("admin", "Countess", True)
    response = await api.client.patch(users_url(f"/{ada_id}"), json={"is_active": False}, headers=api.bearer(admin))
    assert response.json()["is_active"] is False
    assert (await api.login("ada@example.com")).status_code == 401


async def test_admin_patch_refuses_bad_bodies(api: Api) -> None:
    admin = await admin_token(api)
    _, ada_id = await user_token(api)
    for body in ({}, {"role": "owner"}, {"email": "eve@example.com"}, {"email_verified": True}, {"is_active": None}):
        assert_problem(await api.client.patch(users_url(f"/{ada_id}"), json=body, headers=api.bearer(admin)), 422)
    missing = await api.client.patch(users_url(f"/{uuid4()}"), json={"role": "admin"}, headers=api.bearer(admin))
    assert_problem(missing, 404)


async def test_role_change_deactivation_and_deletion_end_sessions_at_once(api: Api) -> None:
    admin = await admin_token(api)
    for change in ({"role": "admin"}, {"is_active": False}, None):
        email = f"{uuid4().hex[:8]}@example.com"
        token, user_id = await user_token(api, email)
        assert (await me(api, token)).status_code == 200
        if change is None:
            done = await api.client.delete(users_url(f"/{user_id}"), headers=api.bearer(admin))
            assert done.status_code == 204, done.text
        else:
            done = await api.client.patch(users_url(f"/{user_id}"), json=change, headers=api.bearer(admin))
            assert done.status_code == 200, done.text
        assert_unauthorized(await me(api, token))


async def test_non_admins_may_not_administer_or_delete_others(api: Api) -> None:
    await admin_token(api)
    ada, ada_id = await user_token(api)
    _, grace_id = await user_token(api, "grace@example.com")
    for target in (grace_id, ada_id):
        patched = await api.client.patch(users_url(f"/{target}"), json={"role": "admin"}, headers=api.bearer(ada))
        assert_problem(patched, 403)
    assert_problem(await api.client.delete(users_url(f"/{grace_id}"), headers=api.bearer(ada)), 403)
    assert (await me(api, ada)).json()["role"] == "user"
    assert_unauthorized(await api.client.patch(users_url(f"/{grace_id}"), json={"role": "admin"}))
    assert_unauthorized(await api.client.delete(users_url(f"/{grace_id}")))


async def test_users_delete_their_own_account(api: Api) -> None:
    ada, ada_id = await user_token(api)
    grace, _ = await user_token(api, "grace@example.com")
    assert (await api.client.delete(users_url(f"/{ada_id}"), headers=api.bearer(ada))).status_code == 204
    assert_unauthorized(await me(api, ada))
    assert (await api.login("ada@example.com")).status_code == 401
    assert_problem(await api.client.get(users_url(f"/{ada_id}"), headers=api.bearer(grace)), 404)
    assert_problem(await api.client.delete(users_url(f"/{ada_id}"), headers=api.bearer(grace)), 404)


async def test_the_last_active_admin_stays(api: Api) -> None:
    admin = await admin_token(api)
    admin_id = await my_id(api, admin)
    for change in ({"role": "user"}, {"is_active": False}, {"role": "user", "display_name": "Renamed"}):
        refused = await api.client.patch(users_url(f"/{admin_id}"), json=change, headers=api.bearer(admin))
        assert assert_problem(refused, 409)["type"].endswith("last-active-admin")
    refused = await api.client.delete(users_url(f"/{admin_id}"), headers=api.bearer(admin))
    assert_problem(refused, 409)
    view = (await me(api, admin)).json()
    assert (view["role"], view["is_active"], view["display_name"]) == ("admin", True, "root")


async def test_an_admin_may_step_down_while_another_remains(api: Api) -> None:
    first = await admin_token(api)
    second = await admin_token(api, "second@example.com")
    first_id = await my_id(api, first)
    response = await api.client.patch(users_url(f"/{first_id}"), json={"role": "user"}, headers=api.bearer(first))
    assert response.status_code == 200, response.text
    assert_unauthorized(await me(api, first))  # the demotion ended the caller's own session
    assert (await api.client.get(users_url(), headers=api.bearer(second))).status_code == 200
    second_id = await my_id(api, second)
    last = await api.client.patch(users_url(f"/{second_id}"), json={"role": "user"}, headers=api.bearer(second))
    assert_problem(last, 409)
