import asyncio
from tests.http.conftest import API, Api


async def test_probe(api: Api) -> None:
    c = api.client

    async def show(label, r):
        print("\n==", label, r.status_code, dict(r.headers), r.text[:400])

    long = "a" * 290 + "@example.com"
    await show("long-login", await api.login(email=long))
    await show("long-token", await c.post(f"{API}/auth/token", data={"username": long, "password": "x"}))
    await show("long-reg", await api.register(email=long))
    rs = await asyncio.gather(*(api.register(email="z@example.com") for _ in range(3)))
    for r in rs:
        await show("conc-reg", r)
    t = await api.tokens()
    rs = await asyncio.gather(
        *(c.post(f"{API}/auth/refresh", json={"refresh_token": t["refresh_token"]}) for _ in range(5))
    )
    for r in rs:
        await show("conc-ref", r)
    await show("me-after", await c.get(f"{API}/auth/me", headers=api.bearer(t["access_token"])))
    await show("me-basic", await c.get(f"{API}/auth/me", headers={"Authorization": "Basic abc"}))
    await show("rid-newline", await c.get("/health", headers={"X-Request-ID": "a" * 129}))
    await show(
        "ua-long",
        await c.post(
            f"{API}/auth/login",
            json={"email": "ada@example.com", "password": "a-sturdy-passphrase-42"},
            headers={"user-agent": "u" * 600},
        ),
    )
    await show(
        "logout-emptyjson",
        await c.post(
            f"{API}/auth/logout", headers={**api.bearer(t["access_token"]), "content-type": "application/json"}
        ),
    )
    assert False
