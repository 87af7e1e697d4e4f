"""``/api/v1/posts``: public reading, author writing, cached."""

from __future__ import annotations

from uuid import UUID

from dishka.integrations.litestar import FromDishka, inject
from litestar import Controller, Response, delete, get, patch, post, put
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import Stream
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT, HTTP_304_NOT_MODIFIED
from msgspec import UNSET

from application.posts.attach_image import AttachImage, AttachImageCommand
from application.posts.create_post import CreatePost, CreatePostCommand
from application.posts.delete_post import DeletePost, DeletePostCommand
from application.posts.edit_post import ReplacePost, ReplacePostCommand, UpdatePost, UpdatePostCommand
from application.posts.export_posts import ExportPosts, ExportPostsCommand
from application.posts.get_post import GetPost, GetPostBySlug
from application.posts.list_posts import ListPosts, ListPostsCommand
from application.posts.ports import PostSort
from application.shared.actor import Actor
from domain.posts.post import Post, PostId
from domain.shared.ids import UserId
from entrypoints.http.auth import BEARER_SECURITY, OPTIONAL_BEARER_SECURITY, authenticated_first
from entrypoints.http.conditional import IfMatch, IfNoneMatch, etag, expected_version, none_match
from entrypoints.http.openapi import STREAMS
from entrypoints.http.pages import PageNumber, PageSize
from entrypoints.http.posts.export import ExportFormat, export_stream
from entrypoints.http.posts.schemas import (
    ImageView,
    PostCreate,
    PostPage,
    PostPatch,
    PostReplace,
    PostView,
    SearchText,
    TagFilter,
)
from entrypoints.http.problems import problem_responses
from entrypoints.http.uploads import UPLOAD_MAX_BODY, ImageForm

__all__ = ["PostController"]

NOT_MODIFIED = {304: ResponseSpec(data_container=None, description="Not modified")}


def _with_etag(post: Post, status_code: int = 200) -> Response[PostView]:
    return Response(PostView.of(post), status_code=status_code, headers={"ETag": etag(post.version)})


def _read(post: Post, if_none_match: str | None) -> Response[PostView | None]:
    if none_match(if_none_match, post.version):
        return Response(None, status_code=HTTP_304_NOT_MODIFIED, headers={"ETag": etag(post.version)})
    return _with_etag(post)  # type: ignore[return-value]


class PostController(Controller):
    path = "/posts"
    tags = ["posts"]

    @get(
        "/",
        summary="List posts",
        description=ListPosts.__doc__,
        security=OPTIONAL_BEARER_SECURITY,
        responses=problem_responses(401, 422),
    )
    @inject
    async def list_posts(
        self,
        actor: FromDishka[Actor | None],
        list_posts: FromDishka[ListPosts],
        tag: TagFilter = None,
        author_id: FromQuery[UUID | None] = None,
        published: FromQuery[bool | None] = None,
        q: SearchText = None,
        sort: FromQuery[PostSort] = PostSort.CREATED_DESC,
        page: PageNumber = 1,
        size: PageSize = 20,
    ) -> PostPage:
        result = await list_posts(
            ListPostsCommand(
                actor=actor,
                tag=tag,
                author_id=None if author_id is None else UserId(author_id),
                published=published,
                q=q,
                sort=sort,
                page=page,
                size=size,
            )
        )
        return PostPage.of(result)

    @get(
        "/export",
        summary="Export the posts you can see",
        description=f"{ExportPosts.__doc__}\n\n`format=ndjson` (default, `application/x-ndjson`, one post "
        "per line) or `csv` (`text/csv`, a header row, tags joined with `;`, cells starting with "
        "`=`, `+`, `-` or `@` prefixed with `'`). Streamed: no `Content-Length`.",
        security=BEARER_SECURITY,
        responses=problem_responses(401, 422),
        opt={STREAMS: {"application/x-ndjson": "one post per line", "text/csv": "a header row, one post per row"}},
    )
    @inject
    async def export_posts(
        self,
        actor: FromDishka[Actor],
        export: FromDishka[ExportPosts],
        format: FromQuery[ExportFormat] = ExportFormat.NDJSON,
        tag: TagFilter = None,
        author_id: FromQuery[UUID | None] = None,
        published: FromQuery[bool | None] = None,
        q: SearchText = None,
    ) -> Stream:
        batches = export(
            ExportPostsCommand(
                actor=actor,
                tag=tag,
                author_id=None if author_id is None else UserId(author_id),
                published=published,
                q=q,
            )
        )
        return export_stream(batches, format)

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        summary="Write a post",
        description=CreatePost.__doc__,
        security=BEARER_SECURITY,
        responses=problem_responses(400, 401, 422),
    )
    @inject
    async def create_post(
        self, data: JSONBody[PostCreate], actor: FromDishka[Actor], create: FromDishka[CreatePost]
    ) -> Response[PostView]:
        created = await create(
            CreatePostCommand(
                actor=actor, title=data.title, content=data.content, tags=data.tags, published=data.published
            )
        )
        response = _with_etag(created, HTTP_201_CREATED)
        response.headers["Location"] = f"/api/v1/posts/{created.id}"
        return response

    @get(
        "/{post_id:uuid}",
        summary="Read a post",
        description="200 with a strong ETag; 304 when `If-None-Match` names the current version. "
        "A draft is found by its author and by admins only.",
        security=OPTIONAL_BEARER_SECURITY,
        responses={**NOT_MODIFIED, **problem_responses(401, 404)},
    )
    @inject
    async def get_post(
        self,
        post_id: FromPath[UUID],
        actor: FromDishka[Actor | None],
        get_post: FromDishka[GetPost],
        if_none_match: IfNoneMatch = None,
    ) -> Response[PostView | None]:
        return _read(await get_post(actor, PostId(post_id)), if_none_match)

    @get(
        "/by-slug/{slug:str}",
        summary="Read a post by its slug",
        description="As `GET /posts/{id}`.",
        security=OPTIONAL_BEARER_SECURITY,
        responses={**NOT_MODIFIED, **problem_responses(401, 404)},
    )
    @inject
    async def get_post_by_slug(
        self,
        slug: FromPath[str],
        actor: FromDishka[Actor | None],
        get_post: FromDishka[GetPostBySlug],
        if_none_match: IfNoneMatch = None,
    ) -> Response[PostView | None]:
        return _read(await get_post(actor, slug), if_none_match)

    @put(
        "/{post_id:uuid}",
        summary="Replace a post",
        description=ReplacePost.__doc__,
        security=BEARER_SECURITY,
        responses=problem_responses(400, 401, 403, 404, 412, 422, 428),
    )
    @inject
    async def replace_post(
        self,
        post_id: FromPath[UUID],
        data: JSONBody[PostReplace],
        actor: FromDishka[Actor],
        replace: FromDishka[ReplacePost],
        if_match: IfMatch = None,
    ) -> Response[PostView]:
        changed = await replace(
            ReplacePostCommand(
                actor=actor,
                post_id=PostId(post_id),
                expected_version=expected_version(if_match, data.version),
                title=data.title,
                content=data.content,
                tags=data.tags,
                published=data.published,
            )
        )
        return _with_etag(changed)

    @patch(
        "/{post_id:uuid}",
        summary="Edit a post",
        description=UpdatePost.__doc__,
        security=BEARER_SECURITY,
        responses=problem_responses(400, 401, 403, 404, 412, 422, 428),
    )
    @inject
    async def update_post(
        self,
        post_id: FromPath[UUID],
        data: JSONBody[PostPatch],
        actor: FromDishka[Actor],
        update: FromDishka[UpdatePost],
        if_match: IfMatch = None,
    ) -> Response[PostView]:
        changed = await update(
            UpdatePostCommand(
                actor=actor,
                post_id=PostId(post_id),
                expected_version=expected_version(if_match, data.version),
                title=None if data.title is UNSET else data.title,
                content=None if data.content is UNSET else data.content,
                tags=None if data.tags is UNSET else data.tags,
                published=None if data.published is UNSET else data.published,
            )
        )
        return _with_etag(changed)

    @delete(
        "/{post_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        summary="Delete a post",
        description=DeletePost.__doc__,
        security=BEARER_SECURITY,
        responses=problem_responses(401, 403, 404, 412),
    )
    @inject
    async def delete_post(
        self,
        post_id: FromPath[UUID],
        actor: FromDishka[Actor],
        delete_post: FromDishka[DeletePost],
        if_match: IfMatch = None,
    ) -> None:
        await delete_post(
            DeletePostCommand(actor=actor, post_id=PostId(post_id), expected_version=expected_version(if_match, None))
        )

    @post(
        "/{post_id:uuid}/image",
        status_code=HTTP_201_CREATED,
        summary="Attach an image",
        description=f"{AttachImage.__doc__}\n\nMultipart field `file`: PNG, JPEG, WebP or GIF by content, "
        "at most 5 MiB (413), recognised by its bytes, never the part's Content-Type (415); empty: 422. "
        "The response's `ETag` is the post's new version.",
        security=BEARER_SECURITY,
        guards=[authenticated_first],
        request_max_body_size=UPLOAD_MAX_BODY,
        responses=problem_responses(400, 401, 403, 404, 412, 413, 415, 422),
    )
    @inject
    async def attach_image(
        self,
        post_id: FromPath[UUID],
        data: ImageForm,
        actor: FromDishka[Actor],
        attach: FromDishka[AttachImage],
        if_match: IfMatch = None,
    ) -> Response[ImageView]:
        changed, image = await attach(
            AttachImageCommand(
                actor=actor,
                post_id=PostId(post_id),
                data=await data.file.read(),
                expected_version=expected_version(if_match, None),
            )
        )
        view = ImageView.of(image)
        return Response(
            view, status_code=HTTP_201_CREATED, headers={"ETag": etag(changed.version), "Location": view.url}
        )
