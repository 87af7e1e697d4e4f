"""Every post the caller may see, in batches, for a streamed export."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from application.posts.list_posts import post_filter
from application.posts.ports import ExportCursor, PostFilter, PostUnitOfWork
from application.shared.actor import Actor
from domain.posts.post import Post
from domain.shared.ids import UserId

__all__ = ["BATCH_SIZE", "ExportPosts", "ExportPostsCommand"]

BATCH_SIZE = 500


@dataclass(frozen=True, slots=True)
class ExportPostsCommand:
    actor: Actor
    tag: str | None = None
    author_id: UserId | None = None
    published: bool | None = None
    q: str | None = None


class ExportPosts:
    """The posts ``ListPosts`` would show the actor, with the same filters, oldest first
    (``created_at``, then id), in batches of 500.

    Each batch is one keyset query in its own short unit of work, so an export of any size
    holds one batch in memory and no transaction open between batches. The filters are checked
    when the command is given (``InvalidValueError``), before anything is streamed.
    """

    def __init__(self, uow: PostUnitOfWork) -> None:
        self._uow = uow

    def __call__(self, cmd: ExportPostsCommand) -> AsyncIterator[list[Post]]:
        return self._batches(post_filter(cmd.actor, cmd.tag, cmd.author_id, cmd.published, cmd.q))

    async def _batches(self, post_filter_: PostFilter) -> AsyncIterator[list[Post]]:
        after: ExportCursor | None = None
        while True:
            async with self._uow as uow:
                batch = await uow.posts.export_batch(post_filter_, after, BATCH_SIZE)
            if batch:
                yield batch
            if len(batch) < BATCH_SIZE:
                return
            last = batch[-1]
            after = ExportCursor(created_at=last.created_at, post_id=last.id)
