from __future__ import annotations

from tests.http.conftest import API, Api


async def test_register_login_me_round_trip(api: Api) -> None:
    tokens = await api.tokens()
    response = await api.client.get(f"{API}/auth/me", headers=api.bearer(tokens["access_token"]))
    assert response.status_code == 200
    assert response.json()["email"] == "ada@example.com"
