"""``POST /api/v1/files`` (upload an image) and ``GET /files/{key}`` (serve it, publicly)."""

from __future__ import annotations

from dishka.integrations.litestar import FromDishka, inject
from litestar import Controller, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath
from litestar.response import Stream
from litestar.status_codes import HTTP_201_CREATED, HTTP_304_NOT_MODIFIED

from application.files.open_file import OpenFile
from application.files.upload_image import UploadImage, UploadImageCommand
from application.shared.actor import Actor
from domain.files.images import ImageType
from entrypoints.http.auth import BEARER_SECURITY, authenticated_first
from entrypoints.http.conditional import IfNoneMatch
from entrypoints.http.files.schemas import FileView
from entrypoints.http.openapi import STREAMS
from entrypoints.http.problems import problem_responses
from entrypoints.http.uploads import UPLOAD_MAX_BODY, ImageForm

__all__ = ["FileController", "UploadController"]

# Stored files never change under their key, so caches may keep them for good. The policy
# stops a browser from running anything in one even if a client is tricked into opening it.
_FILE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "public, max-age=31536000, immutable",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "cross-origin",
}


class UploadController(Controller):
    path = "/files"
    tags = ["files"]
    security = BEARER_SECURITY

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        summary="Upload an image",
        description=f"{UploadImage.__doc__}\n\nMultipart field `file`; at most 5 MiB (413); PNG, JPEG, "
        "WebP or GIF by content (415 otherwise); an empty file is 422. `Location` is the file's URL.",
        guards=[authenticated_first],
        request_max_body_size=UPLOAD_MAX_BODY,
        responses=problem_responses(400, 401, 413, 415, 422),
    )
    @inject
    async def upload(
        self, data: ImageForm, actor: FromDishka[Actor], upload: FromDishka[UploadImage]
    ) -> Response[FileView]:
        stored = await upload(UploadImageCommand(actor=actor, data=await data.file.read()))
        view = FileView.of(stored)
        return Response(view, status_code=HTTP_201_CREATED, headers={"Location": view.url})


class FileController(Controller):
    path = "/files"
    tags = ["files"]
    security = [{}]

    @get(
        "/{key:str}",
        summary="Download a file",
        description="The stored bytes with their `Content-Type`, `X-Content-Type-Options: nosniff`, a "
        "year-long immutable cache lifetime and a strong ETag (the key: a file never changes under it); "
        "304 on a matching `If-None-Match`. Public by design: keys hold 128 random bits.",
        responses={
            304: ResponseSpec(data_container=None, description="Not modified"),
            **problem_responses(404),
        },
        opt={STREAMS: {kind.content_type: "the stored bytes" for kind in ImageType}},
    )
    @inject
    async def download(
        self, key: FromPath[str], open_file: FromDishka[OpenFile], if_none_match: IfNoneMatch = None
    ) -> Response[bytes]:
        opened = await open_file(key)
        tag = f'"{opened.key.value}"'
        if if_none_match is not None and (if_none_match.strip() == "*" or tag in if_none_match):
            return Response(b"", status_code=HTTP_304_NOT_MODIFIED, headers={"ETag": tag, **_FILE_HEADERS})
        headers = {"ETag": tag, "Content-Length": str(opened.size), **_FILE_HEADERS}
        return Stream(opened.chunks, media_type=opened.content_type, headers=headers)  # type: ignore[return-value]
