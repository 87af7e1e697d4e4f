"""``/api/v1/campaigns`` (admins): broadcast campaigns and their deliveries."""

from __future__ import annotations

from uuid import UUID

from dishka.integrations.litestar import FromDishka, inject
from litestar import Controller, Response, delete, get, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from application.broadcast.cancel_campaign import CancelCampaign
from application.broadcast.create_campaign import CreateCampaign, CreateCampaignCommand
from application.broadcast.delete_campaign import DeleteCampaign
from application.broadcast.get_campaign import GetCampaign
from application.broadcast.list_campaigns import ListCampaigns
from application.broadcast.list_deliveries import ListDeliveries
from application.broadcast.start_campaign import StartCampaign
from application.shared.actor import Actor
from domain.broadcast.campaign import CampaignId
from entrypoints.http.auth import BEARER_SECURITY
from entrypoints.http.broadcast.schemas import CampaignBody, CampaignCreate, CampaignPage, DeliveryPage
from entrypoints.http.pages import PageNumber, PageSize
from entrypoints.http.problems import problem_responses

__all__ = ["CREATE_MAX_BODY", "CampaignController"]

CREATE_MAX_BODY = 3 * 1024 * 1024
"""The create body's limit, over the app's 1 MiB: 100,000 chat ids of up to 20 characters
with ", " between them (2.2 MB), a name and a text of 4,296 characters at up to 12 bytes
each (an escaped surrogate pair, 50 KB), and room for whitespace. Larger: 413."""


class CampaignController(Controller):
    path = "/campaigns"
    tags = ["campaigns"]
    security = BEARER_SECURITY

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        summary="Create a campaign",
        description=f"{CreateCampaign.__doc__}\n\nThe body may be up to 3 MiB (room for 100,000 chat ids); "
        "a larger one is refused with 413.",
        request_max_body_size=CREATE_MAX_BODY,
        responses=problem_responses(400, 401, 403, 413, 422),
    )
    @inject
    async def create_campaign(
        self, data: JSONBody[CampaignCreate], actor: FromDishka[Actor], create: FromDishka[CreateCampaign]
    ) -> Response[CampaignBody]:
        view = await create(
            CreateCampaignCommand(
                actor=actor, name=data.name, text=data.text, recipients=data.recipients, audience=data.audience
            )
        )
        headers = {"Location": f"/api/v1/campaigns/{view.campaign.id}"}
        return Response(CampaignBody.of(view), status_code=HTTP_201_CREATED, headers=headers)

    @get("/", summary="List campaigns", description=ListCampaigns.__doc__, responses=problem_responses(401, 403, 422))
    @inject
    async def list_campaigns(
        self,
        actor: FromDishka[Actor],
        list_campaigns: FromDishka[ListCampaigns],
        page: PageNumber = 1,
        size: PageSize = 20,
    ) -> CampaignPage:
        return CampaignPage.of(await list_campaigns(actor, page, size))

    @get(
        "/{campaign_id:uuid}",
        summary="Read a campaign",
        description=GetCampaign.__doc__,
        responses=problem_responses(401, 403, 404),
    )
    @inject
    async def get_campaign(
        self, campaign_id: FromPath[UUID], actor: FromDishka[Actor], get_campaign: FromDishka[GetCampaign]
    ) -> CampaignBody:
        return CampaignBody.of(await get_campaign(actor, CampaignId(campaign_id)))

    @post(
        "/{campaign_id:uuid}/start",
        status_code=HTTP_202_ACCEPTED,
        summary="Start a campaign",
        description=StartCampaign.__doc__,
        responses=problem_responses(401, 403, 404, 409),
    )
    @inject
    async def start_campaign(
        self, campaign_id: FromPath[UUID], actor: FromDishka[Actor], start: FromDishka[StartCampaign]
    ) -> CampaignBody:
        return CampaignBody.of(await start(actor, CampaignId(campaign_id)))

    @post(
        "/{campaign_id:uuid}/cancel",
        status_code=HTTP_202_ACCEPTED,
        summary="Cancel a campaign",
        description=CancelCampaign.__doc__,
        responses=problem_responses(401, 403, 404, 409),
    )
    @inject
    async def cancel_campaign(
        self, campaign_id: FromPath[UUID], actor: FromDishka[Actor], cancel: FromDishka[CancelCampaign]
    ) -> CampaignBody:
        return CampaignBody.of(await cancel(actor, CampaignId(campaign_id)))

    @delete(
        "/{campaign_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        summary="Delete a campaign",
        description=DeleteCampaign.__doc__,
        responses=problem_responses(401, 403, 404, 409),
    )
    @inject
    async def delete_campaign(
        self, campaign_id: FromPath[UUID], actor: FromDishka[Actor], delete_campaign: FromDishka[DeleteCampaign]
    ) -> None:
        await delete_campaign(actor, CampaignId(campaign_id))

    @get(
        "/{campaign_id:uuid}/deliveries",
        summary="A campaign's deliveries",
        description=ListDeliveries.__doc__,
        responses=problem_responses(401, 403, 404, 422),
    )
    @inject
    async def list_deliveries(
        self,
        campaign_id: FromPath[UUID],
        actor: FromDishka[Actor],
        list_deliveries: FromDishka[ListDeliveries],
        page: PageNumber = 1,
        size: PageSize = 20,
    ) -> DeliveryPage:
        return DeliveryPage.of(await list_deliveries(actor, CampaignId(campaign_id), page, size))
