"""Slugs and tags (API.md, "Posts"): derived, normalized, and always valid."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.posts.slug import SLUG_MAX, Slug, slugify
from domain.posts.tags import MAX_TAGS, Tags
from domain.shared.errors import InvalidValueError

SLUG_SHAPE = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Crème Brûlée", "creme-brulee"),
        ("Hello, World!", "hello-world"),
        ("  --Hello--  ", "hello"),
        ("Ünïcödé ÅÉÎ", "unicode-aei"),
        ("ﬁnal ½ draft", "final-1-2-draft"),  # NFKD: the ligature and the fraction decompose
        ("日本語", "post"),
        ("!!!", "post"),
        ("Straße", "stra-e"),  # ß has no decomposition: it separates
        ("a" * 100, "a" * 80),
        ("word " * 30, ("word-" * 16)[:80].rstrip("-")),
    ],
)
def test_slugify_examples(title: str, slug: str) -> None:
    assert slugify(title).value == slug


@given(st.text())
def test_slugify_is_ascii_hyphenated_bounded_and_never_empty(title: str) -> None:
    slug = slugify(title).value
    assert slug.isascii() and slug == slug.lower()
    assert SLUG_SHAPE.fullmatch(slug), slug  # no leading, trailing or double "-"
    assert 1 <= len(slug) <= SLUG_MAX


@given(st.text())
def test_slugify_is_idempotent(title: str) -> None:
    once = slugify(title).value
    assert slugify(once).value == once


@given(st.text(), st.integers(min_value=2, max_value=10**9))
def test_numbered_slugs_are_valid_distinct_and_bounded(title: str, n: int) -> None:
    base = slugify(title)
    numbered = base.numbered(n)
    assert numbered.value.endswith(f"-{n}") and len(numbered.value) <= SLUG_MAX
    assert numbered != base and SLUG_SHAPE.fullmatch(numbered.value)


def test_a_long_slug_is_shortened_to_make_room_for_its_number() -> None:
    base = slugify("x" * 80)
    assert base.numbered(12).value == "x" * 77 + "-12"


@pytest.mark.parametrize("bad", ["", "-a", "a-", "a--b", "A", "a b", "é", "a" * 81])
def test_slug_refuses_malformed_values(bad: str) -> None:
    with pytest.raises(InvalidValueError):
        Slug(bad)


def test_tags_are_trimmed_lowercased_deduplicated_and_sorted() -> None:
    assert Tags.parse([" Python ", "news", "PYTHON", "a-b-1"]).names == ("a-b-1", "news", "python")


@pytest.mark.parametrize("bad", ["", "   ", "a" * 33, "c++", "naïve", "two words", "under_score"])
def test_a_bad_tag_is_refused(bad: str) -> None:
    with pytest.raises(InvalidValueError) as raised:
        Tags.parse([bad])
    assert raised.value.field == "tags"


def test_ten_tags_pass_and_eleven_do_not_but_duplicates_count_once() -> None:
    assert len(Tags.parse([f"t{n}" for n in range(MAX_TAGS)]).names) == MAX_TAGS
    assert len(Tags.parse([f"t{n % MAX_TAGS}" for n in range(50)]).names) == MAX_TAGS
    with pytest.raises(InvalidValueError):
        Tags.parse([f"t{n}" for n in range(MAX_TAGS + 1)])


@given(st.lists(st.from_regex(r"\s{0,2}[A-Za-z0-9-]{1,32}\s{0,2}", fullmatch=True), max_size=10))
def test_parsed_tags_are_a_normal_form(raw: list[str]) -> None:
    tags = Tags.parse(raw)
    assert tags == Tags.parse(tags.names) == Tags.parse(reversed(raw))
    assert set(tags.names) == {name.strip().lower() for name in raw}
