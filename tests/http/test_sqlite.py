"""The embedded profile: the identity flow end to end on SQLite instead of PostgreSQL."""

from __future__ import annotations

import asyncio

from tests.http.conftest import API, running_api
from tests.http.helpers import assert_unauthorized, me, refresh
from tests.support.settings import test_settings


async def test_register_login_me_refresh_logout_on_sqlite(sqlite_url: str) -> None:
    async with running_api(test_settings(sqlite_url)) as api:
        registered = await api.register("  Ada@Example.com ")
        assert registered.status_code == 201, registered.text
        assert (await api.register("ADA@example.com")).status_code == 409
        assert_unauthorized(await api.login(password="not-the-passphrase"))

        tokens = (await api.login()).json()
        user = await me(api, tokens["access_token"])
        assert user.status_code == 200, user.text
        assert user.json() == registered.json()

        renewed = await refresh(api, tokens["refresh_token"])
        assert renewed.status_code == 200, renewed.text
        assert_unauthorized(await refresh(api, tokens["refresh_token"]))  # reuse revokes the session
        assert_unauthorized(await me(api, renewed.json()["access_token"]))

        fresh = (await api.login()).json()
        replays = await asyncio.gather(*(refresh(api, fresh["refresh_token"]) for _ in range(3)))
        # SQLite serializes the writers: the first rotates, the other two are replays.
        assert sorted(r.status_code for r in replays) == [200, 401, 401]

        last = (await api.login()).json()
        logout = await api.client.post(f"{API}/auth/logout", headers=api.bearer(last["access_token"]))
        assert logout.status_code == 204
        assert_unauthorized(await me(api, last["access_token"]))
        assert (await api.client.get("/health/ready")).json()["checks"]["database"] == "ok"
