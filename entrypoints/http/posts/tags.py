"""``/api/v1/tags``: the tags of published posts."""

from __future__ import annotations

from dishka.integrations.litestar import FromDishka, inject
from litestar import Controller, get

from application.posts.list_tags import ListTags
from application.shared.actor import Actor
from entrypoints.http.auth import OPTIONAL_BEARER_SECURITY
from entrypoints.http.posts.schemas import TagCountView
from entrypoints.http.problems import problem_responses

__all__ = ["TagController"]


class TagController(Controller):
    path = "/tags"
    tags = ["posts"]

    @get(
        "/",
        summary="Tags of published posts",
        description=ListTags.__doc__,
        security=OPTIONAL_BEARER_SECURITY,
        responses=problem_responses(401),
    )
    @inject
    async def list_tags(self, actor: FromDishka[Actor | None], list_tags: FromDishka[ListTags]) -> list[TagCountView]:
        del actor  # a token, when sent, must still be valid
        return [TagCountView.of(tag) for tag in await list_tags()]
