"""The OpenAPI document of the campaign, bot and chat operations: the values a field can
carry are listed (``enum``) and are exactly what the API emits, the reads are described,
and the limits of a create body are documented."""

from __future__ import annotations

from typing import Any

from application.telegram.client import Rejection
from domain.broadcast.campaign import Audience, CampaignStatus
from domain.broadcast.delivery import DeliveryError, DeliveryStatus
from domain.chat.chat import Direction, MessageStatus
from tests.http.campaigns import CAMPAIGNS
from tests.http.conftest import API, Api

CAMPAIGN = f"{CAMPAIGNS}/{{campaign_id}}"
DELIVERIES = f"{CAMPAIGN}/deliveries"
MESSAGE = f"{API}/chat/messages/{{message_id}}"
BOT_STATUS = f"{API}/bot/status"


def resolved(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        found: dict[str, Any] = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        return found
    return schema


def fields(document: dict[str, Any], path: str, *, page: bool = False) -> dict[str, Any]:
    """The properties of what GET ``path`` answers with (of one item, for a ``page``)."""
    ok = document["paths"][path]["get"]["responses"]["200"]
    schema = resolved(document, ok["content"]["application/json"]["schema"])
    if page:
        schema = resolved(document, schema["properties"]["items"]["items"])
    properties: dict[str, Any] = schema["properties"]
    return properties


def values(field: dict[str, Any]) -> set[str | None]:
    return set(field["enum"])


def shown(statuses: type[DeliveryStatus] | type[MessageStatus]) -> set[str | None]:
    """What readers see: a row being sent (``sending``) shows as ``pending``."""
    return {status.value for status in statuses} - {"sending"}


async def test_the_campaign_and_delivery_values_are_enums_of_what_the_api_emits(openapi: dict[str, Any]) -> None:
    campaign = fields(openapi, CAMPAIGN)
    assert values(campaign["status"]) == {status.value for status in CampaignStatus}
    assert values(campaign["audience"]) == {audience.value for audience in Audience}
    delivery = fields(openapi, DELIVERIES, page=True)
    assert values(delivery["status"]) == shown(DeliveryStatus) == {"pending", "sent", "failed"}
    assert values(delivery["error"]) == {error.value for error in DeliveryError} | {None}
    assert "pending" in delivery["status"]["description"]


async def test_the_message_values_are_enums_of_what_the_api_emits(openapi: dict[str, Any]) -> None:
    message = fields(openapi, MESSAGE)
    assert values(message["direction"]) == {direction.value for direction in Direction}
    assert values(message["status"]) == shown(MessageStatus) == {"received", "pending", "sent", "failed"}
    assert values(message["error"]) == {rejection.value for rejection in Rejection} | {"unknown_outcome", None}


async def test_reading_a_campaign_the_bot_status_and_a_message_are_described(openapi: dict[str, Any]) -> None:
    for path in (CAMPAIGN, BOT_STATUS, MESSAGE):
        operation = openapi["paths"][path]["get"]
        assert operation.get("description", "").strip(), path
        assert operation["description"] != operation["summary"], path


async def test_the_recipients_limit_is_documented_as_distinct_chats(openapi: dict[str, Any]) -> None:
    body = openapi["paths"][CAMPAIGNS]["post"]["requestBody"]["content"]["application/json"]["schema"]
    recipients = resolved(openapi, body)["properties"]["recipients"]
    assert recipients["maxItems"] == 200_000
    assert "100,000 distinct" in recipients["description"]
    assert "200,000" in recipients["description"]


async def test_the_create_body_limit_is_documented(api: Api) -> None:
    response = await api.client.get("/openapi.json")
    assert response.status_code == 200, response.text
    operation = response.json()["paths"][CAMPAIGNS]["post"]
    assert "3 MiB" in operation["description"] and "413" in operation["responses"]
