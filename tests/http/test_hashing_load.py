"""Password hashing under load: registration throttles, a bounded queue that sheds, no connection held."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import httpx
from dishka import Provider, Scope
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.security.argon2_hasher import Argon2PasswordHasher
from adapters.sql.checkout import in_use
from adapters.sql.tables import login_failures, sessions
from application.identity.ports import PasswordHasher
from tests.http.conftest import API, PASSWORD, Api, running_api
from tests.http.helpers import assert_problem
from tests.support.builders import FAST_ARGON2
from tests.support.hashers import RecordingHasher
from tests.support.settings import test_settings


def hasher_provider(make: Callable[[], PasswordHasher]) -> Provider:
    provider = Provider(scope=Scope.APP)
    provider.provide(make, provides=PasswordHasher, override=True)
    return provider


async def count(api: Api, table: object) -> int:
    engine = await api.container.get(AsyncEngine)
    async with engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(table))).scalar_one())  # type: ignore[arg-type]


class GatedHasher(Argon2PasswordHasher):
    """One hashing thread and a queue of one, and every password check held until the
    test opens ``gate``: the pool and its queue are full for certain, however slow the
    machine, instead of for as long as a slow hash happens to last."""

    def __init__(self) -> None:
        super().__init__(FAST_ARGON2, max_concurrency=1, max_queue=1)
        self.gate = threading.Event()

    def _verify(self, password_hash: str | None, password: str) -> bool:
        self.gate.wait(timeout=30)
        return super()._verify(password_hash, password)


async def test_a_full_hashing_queue_sheds_logins_with_503_and_does_not_count_them(pg_url: str) -> None:
    hasher = GatedHasher()
    async with running_api(test_settings(pg_url), None, hasher_provider(lambda: hasher)) as api:
        assert (await api.register()).status_code == 201
        wrong = {"email": "ada@example.com", "password": "not-the-passphrase"}
        logins = [asyncio.create_task(api.client.post(f"{API}/auth/login", json=wrong)) for _ in range(4)]
        try:
            # Two checks hold the pool and its queue; the other two are refused at once.
            shed: set[asyncio.Task[httpx.Response]] = set()
            while len(shed) < 2:
                done, _ = await asyncio.wait(set(logins) - shed, timeout=10, return_when=asyncio.FIRST_COMPLETED)
                assert done, "no login was refused while the hashing queue was full"
                shed |= done
            assert len(shed) == 2
            for refused in (task.result() for task in shed):
                assert_problem(refused, 503)
                assert refused.headers["retry-after"] == "1"
            hasher.gate.set()
            checked = await asyncio.gather(*(task for task in logins if task not in shed))
            assert [response.status_code for response in checked] == [401, 401]
        finally:
            hasher.gate.set()  # a failed assertion must not leave checks blocked for 30 s
        assert await count(api, login_failures) == 2  # only the attempts that were checked
        assert (await api.login()).status_code == 200


async def test_registration_is_throttled_per_client_address(pg_url: str) -> None:
    settings = test_settings(pg_url, rate_limits=True, register_throttle=2, login_throttle=100)
    async with running_api(settings) as api:
        assert [(await api.register(f"u{i}@example.com")).status_code for i in range(2)] == [201, 201]
        refused = await api.register("u2@example.com")
        assert_problem(refused, 429)
        assert 0 < int(refused.headers["retry-after"]) <= 60
    async with running_api(settings, None, client=("198.51.100.9", 1)) as other:
        assert (await other.register("u3@example.com")).status_code == 201


async def test_registration_is_throttled_overall_whatever_the_address(pg_url: str) -> None:
    settings = test_settings(pg_url, rate_limits=True, register_throttle=100, register_global_throttle=3)
    for i in range(3):
        async with running_api(settings, None, client=(f"198.51.100.{i}", 1)) as api:
            assert (await api.register(f"u{i}@example.com")).status_code == 201
    async with running_api(settings, None, client=("198.51.100.200", 1)) as api:
        assert (await api.register("late@example.com")).status_code == 201  # a new process: its own counters
    # One process: the fourth registration from a fourth address is refused.
    async with running_api(settings, None) as api:
        for i in range(3):
            assert (await api.register(f"v{i}@example.com")).status_code in (201, 429)
        assert_problem(await api.register("v3@example.com"), 429)


async def test_no_password_is_hashed_while_a_connection_is_checked_out(any_database_url: str) -> None:
    url = any_database_url
    engines: list[AsyncEngine] = []
    recording = RecordingHasher(Argon2PasswordHasher(FAST_ARGON2), probe=lambda: in_use(engines[0]))
    async with running_api(test_settings(url), None, hasher_provider(lambda: recording)) as api:
        engines.append(await api.container.get(AsyncEngine))
        assert (await api.register()).status_code == 201
        tokens = (await api.login()).json()
        assert (
            await api.client.post(f"{API}/auth/login", json={"email": "ada@example.com", "password": "nope"})
        ).status_code == 401
        changed = await api.client.post(
            f"{API}/auth/password",
            json={"current_password": PASSWORD, "new_password": "another-sturdy-passphrase-7"},
            headers=api.bearer(tokens["access_token"]),
        )
        assert changed.status_code == 204, changed.text
    assert len(recording.probed) >= 5  # register, two logins, the check and the new hash
    assert set(recording.probed) == {0}, recording.probed


async def test_a_client_address_that_is_not_an_ip_is_neither_stored_nor_unthrottled(pg_url: str) -> None:
    settings = test_settings(pg_url, rate_limits=True, login_throttle=2)
    async with running_api(settings, None, client=("x" * 300, 1)) as api:
        await api.register()
        long_agent = {"User-Agent": "agent/" + "y" * 2000}
        logins = [
            await api.client.post(
                f"{API}/auth/login", json={"email": "ada@example.com", "password": PASSWORD}, headers=long_agent
            )
            for _ in range(3)
        ]
        assert [r.status_code for r in logins] == [200, 200, 429]
        listed = await api.client.get(f"{API}/auth/sessions", headers=api.bearer(logins[0].json()["access_token"]))
        assert listed.status_code == 200
        assert {(s["ip"], len(s["user_agent"])) for s in listed.json()} == {(None, 512)}
        assert await count(api, sessions) == 2
