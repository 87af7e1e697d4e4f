"""The SQL of the post listing and export: one statement per sort and filter shape, built
and compiled once per process (the filter's values are parameters)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Uuid,
    and_,
    bindparam,
    false,
    func,
    or_,
    select,
    true,
    tuple_,
    union_all,
)

from adapters.shared.search_words import is_word
from adapters.sql.search import search_condition, search_parameters, sqlite_prefilters
from adapters.sql.statements import Query
from adapters.sql.tables import post_tags, posts, tags
from adapters.sql.types import UtcDateTime
from application.posts.ports import PostFilter, PostSort

__all__ = ["Matching", "Shape", "export", "listing", "matching"]

# Each sort's column and whether it descends; ties go by id in the same direction. Titles need
# no COLLATE: on PostgreSQL the column is in the "C" collation (tables.py).
_SORTS = {sort: (sort.value.lstrip("-"), sort.value.startswith("-")) for sort in PostSort}


class Shape(NamedTuple):
    """What a filter's SQL depends on (its values are parameters): the key of the cache."""

    visibility: str  # "everything", "drafts", "published"
    tag: bool
    author: bool
    published: bool
    prefilters: int | None  # None: no search; else how many LIKE prefilters (SQLite)


_LISTINGS: dict[tuple[str, PostSort, Shape], tuple[Query, Query]] = {}
_EXPORTS: dict[tuple[str, bool, Shape], Query] = {}


class Matching(NamedTuple):
    shape: Shape
    parameters: dict[str, Any]


def matching(dialect: str, post_filter: PostFilter) -> Matching | None:
    """The shape and parameters of ``post_filter``; None when it can match nothing."""
    visibility = post_filter.visibility
    parameters: dict[str, Any] = {
        "drafts_of": visibility.drafts_of,
        "tag": post_filter.tag,
        "author_id": post_filter.author_id,
        "published": post_filter.published,
    }
    prefilters = None
    if (words := post_filter.words) is not None:
        if not words or not all(is_word(w) for w in words):
            return None  # a word that is no single word is no word of any text
        like = sqlite_prefilters(words) if dialect == "sqlite" else []
        prefilters = len(like)
        parameters.update(search_parameters(words, like))
    kind = "everything" if visibility.everything else "published" if visibility.drafts_of is None else "drafts"
    shape = Shape(
        kind,
        post_filter.tag is not None,
        post_filter.author_id is not None,
        post_filter.published is not None,
        prefilters,
    )
    return Matching(shape, parameters)


def _filters(dialect: str, shape: Shape) -> list[ColumnElement[bool]]:
    """The conditions of the filter itself (tag, author, published, words): all but visibility."""
    c = posts.c
    conditions: list[ColumnElement[bool]] = []
    if shape.tag:
        tagged = (
            select(post_tags.c.post_id)
            .join(tags, tags.c.id == post_tags.c.tag_id)
            .where(tags.c.name == bindparam("tag"))
        )
        conditions.append(c.id.in_(tagged))
    if shape.author:
        conditions.append(c.author_id == bindparam("author_id"))
    if shape.published:
        conditions.append(c.published == bindparam("published"))
    if shape.prefilters is not None:
        conditions.append(search_condition(dialect, shape.prefilters))
    return conditions


def _visible(shape: Shape) -> list[ColumnElement[bool]]:
    """The posts the caller may see, as one condition (or none: everything)."""
    c = posts.c
    if shape.visibility == "published":
        return [c.published == true()]
    if shape.visibility == "drafts":
        return [or_(c.published == true(), c.author_id == bindparam("drafts_of", type_=Uuid))]
    return []


def _branches(shape: Shape) -> list[list[ColumnElement[bool]]]:
    """The posts the caller may see as disjoint parts, each the range of one index.

    A signed-in author sees the published posts and their own drafts. As one condition
    (``published OR author_id = :me``) no index yields the sort's order, so the database
    would sort every published post for each page; as two parts, the published ones walk
    ``ix_posts_published_*`` (or ``ix_posts_*``, skipping drafts, when most posts are
    published) and the drafts ``ix_posts_author_published_*``, each stopping after a page.
    """
    c = posts.c
    if shape.visibility == "drafts":
        drafts_of = bindparam("drafts_of", type_=Uuid)
        return [[c.published == true()], [c.author_id == drafts_of, c.published == false()]]
    return [_visible(shape)]


def _where(statement: Select[Any], dialect: str, shape: Shape) -> Select[Any]:
    """``statement`` restricted to the posts a filter of ``shape`` matches."""
    conditions = [*_visible(shape), *_filters(dialect, shape)]
    return statement.where(and_(*conditions)) if conditions else statement


def _merged(
    dialect: str, shape: Shape, order: Callable[[Any], tuple[ColumnElement[Any], ...]], extra: list[Any], window: Any
) -> Select[Any]:
    """The matching posts in ``order``, the first ``window`` of them at least: each of
    ``_branches`` ordered and cut to ``window`` on its own index, then merged (UNION ALL:
    the parts are disjoint) and ordered again; the caller cuts the merged rows. The first
    ``window`` rows of the whole are among the first ``window`` of each part."""
    filters = _filters(dialect, shape) + extra
    parts = [
        select(posts).where(and_(*branch, *filters)).order_by(*order(posts.c)).limit(window).subquery(f"part{n}")
        for n, branch in enumerate(_branches(shape))
    ]
    # Each part through a subquery: SQLite takes no ORDER BY or LIMIT on a bare UNION member.
    visible = union_all(*(select(part) for part in parts)).subquery("visible")
    return select(visible).order_by(*order(visible.c))


def _order(columns: Any, sort: PostSort) -> tuple[ColumnElement[Any], ...]:
    name, descending = _SORTS[sort]
    return tuple(c.desc() if descending else c.asc() for c in (columns[name], columns.id))


def listing(dialect: str, sort: PostSort, shape: Shape) -> tuple[Query, Query]:
    """The page and count queries for a sort and filter shape, built once per process.

    Two index scans (the page, then a count) cost PostgreSQL far less than one query with
    count(*) OVER (), which must read every matching row before the LIMIT. A search on
    PostgreSQL first collects its matches from the GIN index (a MATERIALIZED CTE, which
    the planner cannot merge): PostgreSQL estimates any rare word at 0.5% of the rows and
    would otherwise walk the sort's index, filtering, through every post for a word that
    few have. Collecting costs as much as the count, which a full page needs anyway.
    Otherwise each part of what the caller may see walks an index in the sort's order
    (``_merged``) and stops after the page.
    """
    key = (dialect, sort, shape)
    if key not in _LISTINGS:
        limit, offset = bindparam("limit", type_=Integer), bindparam("offset", type_=Integer)

        def order(columns: Any) -> tuple[ColumnElement[Any], ...]:
            return _order(columns, sort)

        if dialect == "postgresql" and shape.prefilters is not None:
            hits = _where(select(posts), dialect, shape).cte("hits").prefix_with("MATERIALIZED")
            page = select(hits).order_by(*order(hits.c))
        elif len(_branches(shape)) > 1:
            page = _merged(dialect, shape, order, [], offset + limit)
        else:
            page = _where(select(posts), dialect, shape).order_by(*order(posts.c))
        page = page.limit(limit).offset(offset)
        count = _where(select(func.count().label("total")).select_from(posts), dialect, shape)
        _LISTINGS[key] = (Query(page), Query(count))
    return _LISTINGS[key]


def _export_order(columns: Any) -> tuple[ColumnElement[Any], ...]:
    return _order(columns, PostSort.CREATED)


def export(dialect: str, after: bool, shape: Shape) -> Query:
    """A batch of the export: the next ``limit`` matching posts by ``(created_at, id)``."""
    key = (dialect, after, shape)
    if key not in _EXPORTS:
        extra: list[Any] = []
        if after:
            cursor = tuple_(bindparam("after_created_at", type_=UtcDateTime), bindparam("after_id", type_=Uuid))
            extra.append(tuple_(posts.c.created_at, posts.c.id) > cursor)
        limit = bindparam("limit", type_=Integer)
        if len(_branches(shape)) > 1:
            statement = _merged(dialect, shape, _export_order, extra, limit)
        else:
            statement = _where(select(posts), dialect, shape).where(*extra).order_by(*_export_order(posts.c))
        _EXPORTS[key] = Query(statement.limit(limit))
    return _EXPORTS[key]
