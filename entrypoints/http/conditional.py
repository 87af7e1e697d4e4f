"""Conditional requests (RFC 9110 §13): strong ETags from versions, If-Match, If-None-Match.

Litestar has none of this, so every versioned resource (todos now, posts later) uses these.
"""

from __future__ import annotations

import re
from typing import Annotated

from litestar.params import HeaderParameter

from domain.shared.versioning import ExpectedVersion

__all__ = ["IfMatch", "IfNoneMatch", "etag", "expected_version", "none_match", "weakly_matches"]

IfMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match",
        required=False,
        description='The ETag (`"<version>"`) this change expects, or `*`. Takes precedence over `version`.',
    ),
]
IfNoneMatch = Annotated[
    str | None,
    HeaderParameter(name="If-None-Match", required=False, description="An ETag you hold; 304 when it is current."),
]


_TAG = re.compile(r'\s*(W/)?"([^"]*)"\s*(?:,|$)')
# A version is a positive 64-bit integer: at most 19 ASCII digits. str.isdigit() would also
# take "²" or Arabic-Indic digits, and int() refuses texts over 4,300 digits.
_VERSION = re.compile(r"[0-9]{1,19}")


def etag(version: int) -> str:
    """The strong entity tag of a version: ``"<version>"``."""
    return f'"{version}"'


def _tags(header: str) -> list[tuple[bool, str]]:
    """(weak, opaque-tag) pairs of a comma-separated list; malformed parts are skipped."""
    return [(bool(m.group(1)), m.group(2)) for m in _TAG.finditer(header)]


def expected_version(if_match: str | None, body_version: int | None) -> ExpectedVersion:
    """What an update expects to replace: from ``If-Match`` when sent, else the body's ``version``.

    ``If-Match: *`` expects any current version. Weak tags never match (strong comparison),
    and a header with no usable tag matches nothing, so both give a 412 — never a silent
    overwrite. With several tags the first strong numeric one (1..19 ASCII digits) counts.
    """
    if if_match is None:
        return body_version
    if if_match.strip() == "*":
        return "*"
    for weak, tag in _tags(if_match):
        if not weak and _VERSION.fullmatch(tag):
            return int(tag)
    return -1  # no version is -1: a guaranteed mismatch


def none_match(if_none_match: str | None, version: int) -> bool:
    """True when ``If-None-Match`` names the current version (weak comparison) or is ``*``:
    a GET then answers 304."""
    return weakly_matches(if_none_match, str(version))


def weakly_matches(if_none_match: str | None, opaque_tag: str) -> bool:
    """True when ``If-None-Match`` names ``opaque_tag``, weak or strong, or is ``*``."""
    if if_none_match is None:
        return False
    if if_none_match.strip() == "*":
        return True
    return any(tag == opaque_tag for _, tag in _tags(if_none_match))
