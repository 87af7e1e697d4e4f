"""Write a post (a draft unless it says ``published``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from application.posts.ports import PostRepository, PostUnitOfWork, SlugTakenError
from application.shared.actor import Actor
from application.shared.cache import PUBLIC_CONTENT, Cache
from application.shared.ports import Clock, IdGenerator
from domain.posts.post import Post, PostId, PostTitle, content
from domain.posts.slug import Slug, slugify
from domain.posts.tags import Tags

__all__ = ["MAX_SLUG_ATTEMPTS", "CreatePost", "CreatePostCommand"]

MAX_SLUG_ATTEMPTS = 1000


@dataclass(frozen=True, slots=True)
class CreatePostCommand:
    actor: Actor
    title: str
    content: str
    tags: Sequence[str] = ()
    published: bool = False


class CreatePost:
    """Create a post by the actor, version 1, with a slug derived from its title.

    - The slug is unique: when ``hello-world`` is taken the post gets the first free one of
      ``hello-world-2``, ``hello-world-3``, ... Concurrent creates with one title each get
      their own: the database's unique index decides, and a loser takes the next free one.
    - Raises ``InvalidValueError`` for a bad title, content or tag.
    """

    def __init__(self, uow: PostUnitOfWork, clock: Clock, ids: IdGenerator, cache: Cache) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._cache = cache

    async def __call__(self, cmd: CreatePostCommand) -> Post:
        title = PostTitle.parse(cmd.title)
        post = Post.create(
            post_id=PostId(self._ids.new_id()),
            author_id=cmd.actor.user_id,
            slug=slugify(title.value),
            title=title,
            content=content(cmd.content),
            tags=Tags.parse(cmd.tags),
            published=cmd.published,
            now=self._clock.now(),
        )
        async with self._uow as uow:
            await _add_with_free_slug(uow.posts, post)
            await uow.commit()
        await self._cache.bump(PUBLIC_CONTENT)
        return post


async def _add_with_free_slug(posts: PostRepository, post: Post) -> None:
    """Store ``post`` under the first free numbered form of its slug. Each lost race means
    another post took the candidate meanwhile, so the loop always progresses."""
    wanted, taken = post.slug, set[str]()
    for _ in range(MAX_SLUG_ATTEMPTS):
        try:
            await posts.add(post)
            return
        except SlugTakenError:
            # A long slug's numbered forms are shortened, so ``used_slugs`` may not list
            # them: remember what failed too.
            taken.add(post.slug.value)
            post.renamed_slug(_first_free(wanted, taken | await posts.used_slugs(wanted)))
    raise RuntimeError(f"no free slug for {wanted.value!r} after {MAX_SLUG_ATTEMPTS} attempts")


def _first_free(wanted: Slug, used: set[str]) -> Slug:
    if wanted.value not in used:
        return wanted
    n = 2
    while (candidate := wanted.numbered(n)).value in used:
        n += 1
    return candidate
