"""The streamed body of ``GET /posts/export``: NDJSON or CSV, one batch at a time."""

from __future__ import annotations

import csv
import enum
import io
from collections.abc import AsyncIterator
from datetime import datetime

import msgspec
from litestar.response import Stream

from domain.posts.post import Post
from entrypoints.http.posts.schemas import PostView

__all__ = ["CSV_COLUMNS", "ExportFormat", "export_stream", "neutralized"]

CSV_COLUMNS = ("id", "slug", "title", "content", "tags", "published", "author_id", "created_at", "updated_at")
# API.md's four, and tab and carriage return, which OWASP lists too: a spreadsheet skips
# them and reads the formula after them.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_encoder = msgspec.json.Encoder()


class ExportFormat(enum.StrEnum):
    NDJSON = "ndjson"
    CSV = "csv"


def neutralized(cell: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula: one starting with ``= + - @``
    (or a tab or carriage return) gets a leading ``'`` (CSV injection)."""
    return f"'{cell}" if cell.startswith(_FORMULA_STARTS) else cell


def _instant(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _csv_row(post: Post) -> list[str]:
    cells = [
        str(post.id),
        post.slug.value,
        post.title.value,
        post.content,
        ";".join(post.tags.names),
        "true" if post.published else "false",
        str(post.author_id),
        _instant(post.created_at),
        _instant(post.updated_at),
    ]
    return [neutralized(cell) for cell in cells]


async def _ndjson(batches: AsyncIterator[list[Post]]) -> AsyncIterator[bytes]:
    async for batch in batches:
        yield b"".join(_encoder.encode(PostView.of(post)) + b"\n" for post in batch)


async def _csv(batches: AsyncIterator[list[Post]]) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue().encode()
    async for batch in batches:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(_csv_row(post) for post in batch)
        yield buffer.getvalue().encode()


def export_stream(batches: AsyncIterator[list[Post]], export_format: ExportFormat) -> Stream:
    """The response: chunked, one chunk per batch, so memory stays one batch deep."""
    if export_format is ExportFormat.CSV:
        body, media_type, extension = _csv(batches), "text/csv", "csv"
    else:
        body, media_type, extension = _ndjson(batches), "application/x-ndjson", "ndjson"
    return Stream(
        body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="posts.{extension}"'}
    )
