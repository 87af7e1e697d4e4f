"""The audit log over HTTP on PostgreSQL: every type appears exactly when its action happens,
with the request's address and user agent; no secret reaches a stored row; the admin
listing filters and pages; a user reads only the entries about themselves."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select, text

from adapters.sql.tables import audit_log, refresh_tokens, users
from adapters.sql.tables import sessions as sessions_table
from tests.http.conftest import API, PASSWORD, Api, running_api
from tests.http.helpers import assert_problem, assert_unauthorized, logout, me, refresh, run_sql, sessions
from tests.http.test_users_api import admin_token
from tests.support.settings import test_settings

AGENT = "audit-test/1.0 (portside)"
PEER = "203.0.113.7"  # running_api's peer address
NEW_PASSWORD = "another-sturdy-passphrase-7"
WRONG_PASSWORD = "not-the-password-at-all-9"


class Log:
    """Reads the stored rows and hands out those added since the last call."""

    def __init__(self, api: Api) -> None:
        self._api = api
        self._seen = 0

    async def rows(self) -> list[dict[str, Any]]:
        query = select(audit_log).order_by(audit_log.c.at, audit_log.c.id)
        return [dict(row._mapping) for row in (await run_sql(self._api, query))[0]]

    async def new(self) -> list[dict[str, Any]]:
        rows = await self.rows()
        fresh, self._seen = rows[self._seen :], len(rows)
        return fresh


def _shape(rows: list[dict[str, Any]]) -> list[tuple[str, str | None, str | None]]:
    """(type, actor, subject) of each row, ids as text."""
    return [(r["type"], _id(r["actor_id"]), _id(r["subject_id"])) for r in rows]


def _id(value: Any) -> str | None:
    return None if value is None else str(value)


async def _scenario(api: Api) -> tuple[Log, set[str], dict[str, str]]:
    """Run the identity scenario, checking the entries of each step; the secrets it used
    and the ids of its accounts."""
    api.client.headers["User-Agent"] = AGENT
    log, secrets = Log(api), {PASSWORD, NEW_PASSWORD, WRONG_PASSWORD}

    registered = await api.register("ada@example.com")
    assert registered.status_code == 201, registered.text
    ada = str(registered.json()["id"])
    assert _shape(await log.new()) == [("user.registered", ada, ada)]

    assert_unauthorized(await api.login("ada@example.com", WRONG_PASSWORD))
    assert_unauthorized(await api.login("nobody@example.com", WRONG_PASSWORD))
    assert _shape(await log.new()) == [("login.failed", None, ada), ("login.failed", None, None)]

    first = (await api.login()).json()
    assert _shape(await log.new()) == [("login.succeeded", ada, ada)]

    rotated = (await refresh(api, first["refresh_token"])).json()
    assert _shape(await log.new()) == [("session.refreshed", ada, ada)]
    assert_unauthorized(await refresh(api, first["refresh_token"]))  # a replay
    assert _shape(await log.new()) == [("session.reuse_detected", None, ada)]
    secrets |= {first["access_token"], first["refresh_token"], rotated["access_token"], rotated["refresh_token"]}

    second = (await api.login()).json()
    secrets |= {second["access_token"], second["refresh_token"]}
    changed = await api.client.post(
        f"{API}/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=api.bearer(second["access_token"]),
    )
    assert changed.status_code == 204, changed.text
    assert _shape(await log.new()) == [("login.succeeded", ada, ada), ("password.changed", ada, ada)]

    assert (await logout(api, second["access_token"])).status_code == 204
    assert _shape(await log.new()) == [("logout", ada, ada)]

    third = (await api.login("ada@example.com", NEW_PASSWORD)).json()
    secrets |= {third["access_token"], third["refresh_token"]}
    await log.new()

    token = await admin_token(api)  # admin.created (in-process: no address), then a login
    secrets.add(token)
    root = str((await me(api, token)).json()["id"])
    created, root_login = await log.new()
    assert _shape([created, root_login]) == [("admin.created", None, root), ("login.succeeded", root, root)]
    assert (created["ip"], created["user_agent"]) == (None, None)

    promoted = await api.client.patch(f"{API}/users/{ada}", json={"role": "admin"}, headers=api.bearer(token))
    assert promoted.status_code == 200, promoted.text
    deactivated = await api.client.patch(f"{API}/users/{ada}", json={"is_active": False}, headers=api.bearer(token))
    assert deactivated.status_code == 200, deactivated.text
    entries = await log.new()
    assert _shape(entries) == [("user.updated", root, ada), ("user.updated", root, ada)]
    assert [json.loads(e["detail"]) for e in entries] == [{"role": "admin"}, {"is_active": False}]

    # Every digest and hash the scenario stored, before the deletion takes them away.
    for table, column in ((refresh_tokens, "token_hash"), (sessions_table, "token_hash"), (users, "password_hash")):
        secrets |= {str(row[0]) for row in (await run_sql(api, select(table.c[column])))[0]}

    assert (await api.client.delete(f"{API}/users/{ada}", headers=api.bearer(token))).status_code == 204
    assert _shape(await log.new()) == [("user.deleted", root, ada)]
    return log, secrets, {"ada": ada, "root": root}


async def test_each_type_is_written_when_its_action_happens_with_the_client(api: Api) -> None:
    log, _, _ = await _scenario(api)
    rows = await log.rows()
    from_requests = [r for r in rows if r["type"] != "admin.created"]
    assert {(r["ip"], r["user_agent"]) for r in from_requests} == {(PEER, AGENT)}
    assert {r["type"] for r in rows} == {
        "user.registered",
        "login.failed",
        "login.succeeded",
        "session.refreshed",
        "session.reuse_detected",
        "password.changed",
        "logout",
        "admin.created",
        "user.updated",
        "user.deleted",
    }


async def test_no_stored_row_holds_a_password_token_hash_or_digest(api: Api) -> None:
    _, secrets, _ = await _scenario(api)
    secrets = {s for s in secrets if len(s) >= 8}
    assert len(secrets) > 15
    rows = (await run_sql(api, text("SELECT * FROM audit_log")))[0]
    assert rows
    stored = [str(value) for row in rows for value in row]
    leaks = {secret[:12] + "..." for secret in secrets for value in stored if secret in value}
    assert not leaks


async def test_the_admin_listing_filters_and_pages_newest_first(api: Api) -> None:
    token = await admin_token(api)
    root = str((await me(api, token)).json()["id"])
    api.clock.advance(timedelta(minutes=1))
    t1 = api.clock.now()
    ada = str((await api.register("ada@example.com")).json()["id"])
    api.clock.advance(timedelta(minutes=1))
    t2 = api.clock.now()
    assert_unauthorized(await api.login("ada@example.com", WRONG_PASSWORD))
    api.clock.advance(timedelta(minutes=1))
    t3 = api.clock.now()
    await api.client.patch(f"{API}/users/{ada}", json={"display_name": "Ada L."}, headers=api.bearer(token))

    async def listing(**params: Any) -> dict[str, Any]:
        response = await api.client.get(f"{API}/audit", params=params, headers=api.bearer(token))
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    everything = await listing()
    assert [e["type"] for e in everything["items"]] == [
        "user.updated",
        "login.failed",
        "user.registered",
        "login.succeeded",
        "admin.created",
    ]
    assert set(everything["items"][0]) == {"id", "at", "type", "actor_id", "subject_id", "ip", "user_agent", "detail"}
    assert everything["items"][0]["detail"] == {"display_name": True}
    assert [e["type"] for e in (await listing(type="login.failed"))["items"]] == ["login.failed"]
    # user_id matches the actor (root renamed ada) or the subject (root's own login)
    assert [e["type"] for e in (await listing(user_id=root))["items"]] == [
        "user.updated",
        "login.succeeded",
        "admin.created",
    ]
    assert [e["type"] for e in (await listing(user_id=ada))["items"]] == [
        "user.updated",
        "login.failed",
        "user.registered",
    ]
    window = await listing(since=t2.isoformat(), until=t3.isoformat())  # since inclusive, until exclusive
    assert [e["type"] for e in window["items"]] == ["login.failed"]
    assert [e["type"] for e in (await listing(since=t1.isoformat()))["items"]][-1] == "user.registered"
    assert [e["type"] for e in (await listing(until=t1.isoformat()))["items"]] == ["login.succeeded", "admin.created"]
    paged = await listing(page=2, size=2)
    assert ([e["type"] for e in paged["items"]], paged["total"], paged["pages"]) == (
        ["user.registered", "login.succeeded"],
        5,
        3,
    )
    for bad in ({"since": "yesterday"}, {"until": "2026-01-01T00:00:00"}, {"user_id": "x"}, {"size": 0}):
        assert_problem(await api.client.get(f"{API}/audit", params=bad, headers=api.bearer(token)), 422)


async def test_users_read_only_their_own_entries(api: Api) -> None:
    await admin_token(api)
    ada = str((await api.register("ada@example.com")).json()["id"])
    ada_token = (await api.tokens("ada@example.com"))["access_token"]
    await api.register("bob@example.com")
    assert_unauthorized(await api.login("bob@example.com", WRONG_PASSWORD))
    assert_problem(await api.client.get(f"{API}/audit", headers=api.bearer(ada_token)), 403)
    assert_unauthorized(await api.client.get(f"{API}/users/me/audit"))
    mine = await api.client.get(f"{API}/users/me/audit", headers=api.bearer(ada_token))
    assert mine.status_code == 200, mine.text
    items = mine.json()["items"]
    assert [e["type"] for e in items] == ["login.succeeded", "user.registered"]
    assert {e["subject_id"] for e in items} == {ada}


async def test_a_locked_login_and_a_revoked_session_are_written(pg_url: str) -> None:
    async with running_api(test_settings(pg_url, lockout_threshold=2)) as api:
        api.client.headers["User-Agent"] = AGENT
        log = Log(api)
        ada = str((await api.register("ada@example.com")).json()["id"])
        first = (await api.login()).json()
        await api.login()
        await log.new()
        other = next(item["id"] for item in await sessions(api, first["access_token"]) if not item["current"])
        revoked = await api.client.delete(f"{API}/auth/sessions/{other}", headers=api.bearer(first["access_token"]))
        assert revoked.status_code == 204, revoked.text
        entries = await log.new()
        assert _shape(entries) == [("session.revoked", ada, ada)]
        assert json.loads(entries[0]["detail"]) == {"session_id": other}
        for _ in range(2):
            assert_unauthorized(await api.login("ada@example.com", WRONG_PASSWORD))
        assert_problem(await api.login(), 429)  # locked, even with the right password
        assert_problem(await api.login("nobody@example.com", WRONG_PASSWORD), 401)
        entries = await log.new()
        assert _shape(entries) == [
            ("login.failed", None, ada),
            ("login.failed", None, ada),
            ("login.locked", None, ada),
            ("login.failed", None, None),
        ]
        assert {(e["ip"], e["user_agent"]) for e in entries} == {(PEER, AGENT)}
        assert set(json.loads(entries[2]["detail"])) == {"retry_after"}
