"""Shared by the ``/api/v1/campaigns`` test modules: an admin's requests and the shapes they
answer with."""

from __future__ import annotations

from typing import Any

import httpx

from tests.http.conftest import API, Api
from tests.http.test_bot_webhook import get_json

__all__ = [
    "CAMPAIGNS",
    "CAMPAIGN_KEYS",
    "DELIVERY_KEYS",
    "STATS_KEYS",
    "act",
    "campaign",
    "create",
    "created",
    "deliveries_of",
    "stats",
]

CAMPAIGNS = f"{API}/campaigns"
CAMPAIGN_KEYS = {"id", "name", "text", "status", "stats"}
STATS_KEYS = {"total", "pending", "sent", "failed"}
DELIVERY_KEYS = {"chat_id", "status", "attempts", "error", "sent_at"}


async def create(api: Api, token: str, **body: Any) -> httpx.Response:
    return await api.client.post(CAMPAIGNS, json=body, headers=api.bearer(token))


async def created(api: Api, token: str, **body: Any) -> dict[str, Any]:
    body = {"name": "Launch", "text": "Hello, world!", **body}
    if "audience" not in body and "recipients" not in body:
        body["recipients"] = [1, 2, 3]
    response = await create(api, token, **body)
    assert response.status_code == 201, response.text
    campaign: dict[str, Any] = response.json()
    return campaign


async def act(api: Api, token: str, campaign_id: str, action: str) -> httpx.Response:
    return await api.client.post(f"{CAMPAIGNS}/{campaign_id}/{action}", headers=api.bearer(token))


async def campaign(api: Api, token: str, campaign_id: str) -> dict[str, Any]:
    body: dict[str, Any] = await get_json(api, token, f"{CAMPAIGNS}/{campaign_id}")
    return body


async def deliveries_of(api: Api, token: str, campaign_id: str, **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = await get_json(api, token, f"{CAMPAIGNS}/{campaign_id}/deliveries", **params)
    return body


def stats(total: int, pending: int = 0, sent: int = 0, failed: int = 0) -> dict[str, int]:
    return {"total": total, "pending": pending, "sent": sent, "failed": failed}
