"""``PostMachine``: the post use-cases against a dict model, for two users, an admin and anonymous callers."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, multiple, precondition, rule

from application.errors import ForbiddenError, NotFoundError, VersionRequiredError
from application.identity.create_admin import CreateAdminCommand
from application.identity.log_in import LogInCommand
from application.posts.create_post import CreatePost, CreatePostCommand
from application.posts.delete_post import DeletePost, DeletePostCommand
from application.posts.edit_post import ReplacePost, ReplacePostCommand, UpdatePost, UpdatePostCommand
from application.posts.get_post import GetPost, GetPostBySlug
from application.posts.list_posts import ListPosts, ListPostsCommand
from application.posts.list_tags import ListTags
from application.posts.ports import TagCount
from application.shared.actor import Actor
from domain.posts.post import Post, PostId
from domain.posts.search import words
from domain.posts.slug import slugify
from domain.shared.errors import InvalidValueError, VersionMismatchError
from domain.shared.pagination import MAX_PAGE_SIZE
from domain.shared.versioning import ExpectedVersion
from entrypoints.testing.machines.base import PASSWORD, HarnessMachine

__all__ = ["PostMachine"]

_T = TypeVar("_T")
_U = TypeVar("_U")

ADMIN = 2
"""The admin's index among the machine's actors (0 and 1 are the users who write posts)."""

# Few words: slugs collide often (``apple``, ``apple-2``, ...), searches often match, and a
# failing run reads easily. Accents check the slug's NFKD and the search's lowercasing; a
# title may spell a numbered slug itself ("apple 2"), have no letter at all (slug ``post``)
# or a slug cut at 80 characters, whose numbered forms are cut shorter still.
_WORDS = ["apple", "Apple", "pear", "fig", "Crème", "ÉTÉ"]
_LONG = "x" * 85
_good_titles = st.sampled_from(
    [
        "apple",
        " Apple ",
        "apple!",
        "apple 2",
        "Apple-Pear",
        "apple, pear",
        "pear fig",
        "Crème fig",
        "ÉTÉ",
        "été apple",
        "!!!",
        _LONG,
        f"{_LONG} apple",
    ]
)
_bad_titles = st.sampled_from(["", "   ", "ab", " x  "])  # under 3 characters once trimmed
_good_contents = st.lists(st.sampled_from([*_WORDS, "x"]), min_size=1, max_size=3).map(" ".join)
# Now and then a value the domain refuses: the call raises InvalidValueError, nothing changes.
_titles = st.sampled_from([True] * 5 + [False]).flatmap(lambda good: _good_titles if good else _bad_titles)
_contents = st.sampled_from([True] * 5 + [False]).flatmap(lambda good: _good_contents if good else st.just("  "))
# Spelled as clients do: padded, in capitals, repeated; each normalizes to one of a, b, c.
_tag_lists = st.lists(st.sampled_from(["a", "b", "c", " B", "C "]), max_size=3)
_tag_filters = st.none() | st.sampled_from(["a", "b", "c", "d"])
# A blank search is no search; one with no word in it ("?!") matches nothing.
_searches = st.none() | st.sampled_from(["apple", "APPLE", "pear fig", "crème", "été", "creme", "apple!", " ", "?!"])
_authors = st.integers(0, 1)
# A writer: the post's author (half the time, lest most writes be refusals) or anyone signed in.
_writers: st.SearchStrategy[int | None] = st.none() | st.integers(0, ADMIN)
_anyone = st.sampled_from([0, 1, ADMIN, None])
# How the writer names the version: the current one, a stale one, "*", or none at all.
_version_choices = st.sampled_from(["current", "stale", "any", "none"])


@dataclasses.dataclass
class Row:
    author: int
    title: str
    content: str
    tags: frozenset[str]
    published: bool
    version: int
    slug: str


def _valid(title: str | None, text: str | None) -> bool:
    """Whether the title and the content (``None``: not sent) are accepted."""
    return (title is None or 3 <= len(title.strip()) <= 200) and (text is None or bool(text.strip()))


def _tags(raw: list[str]) -> frozenset[str]:
    return frozenset(name.strip().lower() for name in raw)


class PostMachine(HarnessMachine):
    """Two users write posts (drafts or published, titles that collide), patch, replace and
    delete them; an admin and an anonymous caller read, and the admin deletes. Each outcome
    (and each refusal: invalid value, not found, forbidden, version required, version
    mismatch) is the one the model predicts; every read by id or slug, every listing (for
    each caller, with filters on published, tag, author and words) and the tag counts are
    exactly the model's, with titles, contents, tags, states, versions and slugs, so a read
    served from the cache is never older than a write that returned. Override
    ``open_harness`` giving each example a store with no post of its own (on a shared
    database: empty it) and a cache holding nothing of another example."""

    posts = Bundle("posts")

    def __init__(self) -> None:
        super().__init__()
        self.actors: list[Actor] = self.run(self._sign_up_two_users_and_an_admin())
        self.author_of = {actor.user_id: who for who, actor in enumerate(self.actors)}
        self.model: dict[PostId, Row] = {}
        self.written: dict[PostId, Row] = {}
        """Every post as created, deleted ones included: its author and slug never change
        (another post may have the slug once it is deleted)."""

    async def _sign_up_two_users_and_an_admin(self) -> list[Actor]:
        users = [await self.harness.sign_up(self.email(f"user{n}"), PASSWORD) for n in (0, 1)]
        email = self.email("admin")
        await self.harness.create_admin(CreateAdminCommand(email=email, password=PASSWORD))
        pair = await self.harness.log_in(LogInCommand(email=email, password=PASSWORD))
        admin = await self.harness.authenticate(pair.access_token)
        assert admin.is_admin
        return [*users, admin]

    # ------------------------------------------------------------------ helpers

    async def _use(self, kind: type[_U], call: Callable[[_U], Awaitable[_T]]) -> _T:
        """``call`` on the use-case ``kind``, in a request scope of its own."""
        async with self.harness.use(kind) as use_case:
            return await call(use_case)

    def _actor(self, who: int | None) -> Actor | None:
        return None if who is None else self.actors[who]

    def _writer(self, post_id: PostId, who: int | None) -> int:
        """``who``, or the post's author for None."""
        return self.written[post_id].author if who is None else who

    def _visible(self, row: Row, who: int | None) -> bool:
        return row.published or who == row.author or who == ADMIN

    def _expected(self, post_id: PostId, choice: str) -> ExpectedVersion:
        row = self.model.get(post_id)
        current = row.version if row else 1
        versions: dict[str, ExpectedVersion] = {"current": current, "stale": current - 1, "any": "*", "none": None}
        return versions[choice]

    def _seen(self, post: Post) -> Row:
        return Row(
            author=self.author_of[post.author_id],
            title=post.title.value,
            content=post.content,
            tags=frozenset(post.tags.names),
            published=post.published,
            version=post.version,
            slug=post.slug.value,
        )

    def _refusal(self, post_id: PostId, who: int, choice: str, *, deleting: bool = False) -> type[Exception] | None:
        """The error the model predicts for ``who`` writing the post; None for success."""
        row = self.model.get(post_id)
        if row is None or not self._visible(row, who):
            return NotFoundError
        if who != row.author and not (deleting and who == ADMIN):
            return ForbiddenError
        if choice == "none" and not deleting:
            return VersionRequiredError
        if choice == "stale":
            return VersionMismatchError
        return None

    def _attempt(self, what: str, refusal: type[Exception] | None, call: Coroutine[Any, Any, _T]) -> _T | None:
        """Run ``call``: the predicted refusal, or success; None when refused."""
        event(f"{what}: {'done' if refusal is None else refusal.__name__}")
        if refusal is not None:
            self.refused(refusal, call)
            return None
        return self.run(call)

    def _first_free_slug(self, title: str) -> str:
        wanted, used = slugify(title.strip()), {row.slug for row in self.model.values()}
        candidate, n = wanted, 2
        while candidate.value in used:
            candidate, n = wanted.numbered(n), n + 1
        return candidate.value

    # ------------------------------------------------------------------ writes

    @rule(target=posts, who=_authors, title=_titles, text=_contents, tags=_tag_lists, published=st.booleans())
    def create(self, who: int, title: str, text: str, tags: list[str], published: bool) -> Any:
        command = CreatePostCommand(actor=self.actors[who], title=title, content=text, tags=tags, published=published)
        call = self._use(CreatePost, lambda create: create(command))
        if not _valid(title, text):
            self.refused(InvalidValueError, call)
            event("create: InvalidValueError")
            return multiple()
        slug = self._first_free_slug(title)
        event("create: a numbered slug" if slug != slugify(title.strip()).value else "create: the title's slug")
        post = self.run(call)
        row = Row(who, title.strip(), text, _tags(tags), published, version=1, slug=slug)
        assert self._seen(post) == row, f"created {self._seen(post)}, the model expects {row}"
        assert post.id not in self.written
        self.model[post.id] = row
        self.written[post.id] = dataclasses.replace(row)
        return post.id

    @rule(
        post_id=posts,
        writer=_writers,
        choice=_version_choices,
        title=st.none() | _titles,
        text=st.none() | _contents,
        tags=st.none() | _tag_lists,
        published=st.none() | st.booleans(),
    )
    def update(
        self,
        post_id: PostId,
        writer: int | None,
        choice: str,
        title: str | None,
        text: str | None,
        tags: list[str] | None,
        published: bool | None,
    ) -> None:
        who = self._writer(post_id, writer)
        command = UpdatePostCommand(
            actor=self.actors[who],
            post_id=post_id,
            expected_version=self._expected(post_id, choice),
            title=title,
            content=text,
            tags=tags,
            published=published,
        )
        refusal = InvalidValueError if not _valid(title, text) else self._refusal(post_id, who, choice)
        post = self._attempt("update", refusal, self._use(UpdatePost, lambda update: update(command)))
        if post is not None:
            row = self.model[post_id]
            row.title = row.title if title is None else title.strip()
            row.content = row.content if text is None else text
            row.tags = row.tags if tags is None else _tags(tags)
            row.published = row.published if published is None else published
            row.version += 1
            assert self._seen(post) == row, f"updated to {self._seen(post)}, the model expects {row}"

    @rule(
        post_id=posts,
        writer=_writers,
        choice=_version_choices,
        title=_titles,
        text=_contents,
        tags=_tag_lists,
        published=st.booleans(),
    )
    def replace(
        self,
        post_id: PostId,
        writer: int | None,
        choice: str,
        title: str,
        text: str,
        tags: list[str],
        published: bool,
    ) -> None:
        who = self._writer(post_id, writer)
        command = ReplacePostCommand(
            actor=self.actors[who],
            post_id=post_id,
            expected_version=self._expected(post_id, choice),
            title=title,
            content=text,
            tags=tags,
            published=published,
        )
        refusal = InvalidValueError if not _valid(title, text) else self._refusal(post_id, who, choice)
        post = self._attempt("replace", refusal, self._use(ReplacePost, lambda replace: replace(command)))
        if post is not None:
            row = self.model[post_id]
            row.title, row.content, row.tags, row.published = title.strip(), text, _tags(tags), published
            row.version += 1
            assert self._seen(post) == row, f"replaced by {self._seen(post)}, the model expects {row}"

    @rule(post_id=posts, writer=_writers, choice=_version_choices)
    def delete(self, post_id: PostId, writer: int | None, choice: str) -> None:
        # Not consumed: reads of a deleted post must find nothing (a cached copy included).
        who = self._writer(post_id, writer)
        command = DeletePostCommand(
            actor=self.actors[who], post_id=post_id, expected_version=self._expected(post_id, choice)
        )

        async def deleted() -> bool:  # delete returns nothing: say whether it went through
            await self._use(DeletePost, lambda delete: delete(command))
            return True

        if self._attempt("delete", self._refusal(post_id, who, choice, deleting=True), deleted()):
            del self.model[post_id]

    # ------------------------------------------------------------------ reads

    @rule(post_id=posts, who=_anyone)
    def get(self, post_id: PostId, who: int | None) -> None:
        row = self.model.get(post_id)
        call = self._use(GetPost, lambda get: get(self._actor(who), post_id))
        if row is None or not self._visible(row, who):
            self.refused(NotFoundError, call)
            event("get: NotFoundError")
            return
        event("get: found")
        post = self.run(call)
        assert (post.id, self._seen(post)) == (post_id, row), f"read {self._seen(post)}, the model holds {row}"

    @rule(post_id=posts, who=_anyone)
    def get_by_slug(self, post_id: PostId, who: int | None) -> None:
        slug = self.written[post_id].slug
        holders = [(pid, row) for pid, row in self.model.items() if row.slug == slug]
        assert len(holders) <= 1, f"the model gave {slug!r} to two posts"
        call = self._use(GetPostBySlug, lambda get: get(self._actor(who), slug))
        if not holders or not self._visible(holders[0][1], who):
            self.refused(NotFoundError, call)
            event("get_by_slug: NotFoundError")
            return
        event("get_by_slug: found" if holders[0][0] == post_id else "get_by_slug: found another post")
        post = self.run(call)
        assert (post.id, self._seen(post)) == holders[0], f"read {self._seen(post)}, the model holds {holders[0]}"

    @precondition(lambda self: bool(self.written))  # some post was written (perhaps deleted since)
    @rule(
        who=_anyone,
        published=st.none() | st.booleans(),
        tag=_tag_filters,
        author=st.none() | _authors,
        q=_searches,
    )
    def list_posts(
        self, who: int | None, published: bool | None, tag: str | None, author: int | None, q: str | None
    ) -> None:
        command = ListPostsCommand(
            actor=self._actor(who),
            tag=tag,
            author_id=None if author is None else self.actors[author].user_id,
            published=published,
            q=q,
            size=MAX_PAGE_SIZE,
        )
        page = self.run(self._use(ListPosts, lambda list_posts: list_posts(command)))
        searched = None if q is None or not q.strip() else words(q)
        expected = {
            post_id: row
            for post_id, row in self.model.items()
            if self._visible(row, who)
            and (published is None or row.published == published)
            and (tag is None or tag in row.tags)
            and (author is None or row.author == author)
            and (searched is None or (bool(searched) and set(searched) <= set(words(f"{row.title} {row.content}"))))
        }
        event(f"list_posts: {'some' if expected else 'nothing'}" + ("" if searched is None else " (searched)"))
        seen = {post.id: self._seen(post) for post in page.items}
        assert seen == expected, f"listed {seen}, the model expects {expected}"
        assert page.total == len(expected)

    @precondition(lambda self: bool(self.written))
    @rule()
    def list_tags(self) -> None:
        counts = self.run(self._use(ListTags, lambda list_tags: list_tags()))
        published = Counter(name for row in self.model.values() if row.published for name in row.tags)
        expected = [TagCount(name, n) for name, n in sorted(published.items(), key=lambda item: (-item[1], item[0]))]
        assert counts == expected, f"tags {counts}, the model expects {expected}"
