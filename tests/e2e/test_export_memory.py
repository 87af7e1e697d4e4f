"""``GET /api/v1/posts/export`` of 10,000 posts from a real ``portside serve`` process, with
the server's peak RSS measured (API.md, "Posts": "Streamed in constant memory").

The figures are printed (``-s``) and attached to the test report (``record_property``); the
only memory assertion is a generous sanity bound on how much the peak grew, never a timing."""

from __future__ import annotations

import csv
import io
import json
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import asyncpg  # type: ignore[import-untyped]  # no stubs
import httpx
import pytest

from entrypoints.http.posts.export import CSV_COLUMNS
from tests.support.server import portside_serve

API = "/api/v1"
EMAIL = "exporter@example.com"
PASSWORD = "a-sturdy-passphrase-42"
POSTS = 10_000
SAME_INSTANT = 7  # posts sharing one created_at: batch boundaries (500) fall inside such groups
MIB = 1024 * 1024
PEAK_GROWTH_BOUND = 60 * MIB
# ~2 KiB of content each (about 21 MiB of export: an export held whole would pass the bound
# several times over), with a comma and quotes for the CSV quoting
CONTENT = 'Said "hello", then left. ' + "lorem ipsum dolor sit amet " * 75

SEED = """
INSERT INTO posts (id, author_id, slug, title, content, tags, published, image_key, version, created_at, updated_at)
SELECT gen_random_uuid(), $1, 'seeded-post-' || n, 'Seeded post number ' || n, $2 || n, 'alpha beta',
       n % 2 = 0, NULL, 1, $3::timestamptz + make_interval(secs => n / $4), $3::timestamptz
FROM generate_series(1, $5) AS n
"""


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def rss(pid: int) -> int:
    """The current resident set size, bytes."""
    return _status_kib(pid, "VmRSS") * 1024


def peak_rss(pid: int) -> int:
    """The peak resident set size since start (or the last reset), bytes."""
    return _status_kib(pid, "VmHWM") * 1024


def reset_peak(pid: int) -> bool:
    """Reset the peak to the current RSS (Linux ``clear_refs`` 5); False when not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def server_pid() -> int:
    """The ``portside serve`` child of this process (one worker: uvicorn serves in it)."""
    me = os.getpid()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\x00", b" ")
        except OSError:
            continue
        parent = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("PPid:"))
        if parent == me and b"main(['serve'])" in command:
            found.append(int(entry.name))
    assert len(found) == 1, found
    return found[0]


@pytest.fixture
def server(pg_url: str, tmp_path: Path) -> Iterator[str]:
    with portside_serve(
        pg_url,
        tmp_path,
        PORTSIDE_WORKERS="1",
        PORTSIDE_RATE_LIMITS="off",
        PORTSIDE_UPLOAD_DIR=str(tmp_path / "uploads"),
    ) as base:
        yield base


async def seed(pg_url: str, author_id: UUID) -> set[str]:
    """``POSTS`` posts of ``author_id`` in one statement; their ids."""
    connection = await asyncpg.connect(pg_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        start = datetime(2026, 1, 1, tzinfo=UTC)
        await connection.execute(SEED, author_id, CONTENT, start, SAME_INSTANT, POSTS)
        rows = await connection.fetch("SELECT id FROM posts WHERE author_id = $1", author_id)
    finally:
        await connection.close()
    return {str(row["id"]) for row in rows}


async def stream_lines(
    client: httpx.AsyncClient,
    fmt: str,
    headers: dict[str, str],
    on_line: Callable[[str], None],
    sample: Callable[[], None],
) -> tuple[httpx.Response, int]:
    """Stream the export in ``fmt``, calling ``on_line`` per line and ``sample`` now and then."""
    count = 0
    async with client.stream("GET", f"{API}/posts/export", params={"format": fmt}, headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        async for line in response.aiter_lines():
            if not line:
                continue
            on_line(line)
            count += 1
            if count % 500 == 0:
                sample()
    return response, count


async def test_exporting_ten_thousand_posts_streams_in_bounded_memory(
    server: str, pg_url: str, record_property: Callable[[str, object], None]
) -> None:
    began = time.monotonic()
    pid = server_pid()
    figures: dict[str, object] = {"posts": POSTS}
    try:
        async with httpx.AsyncClient(base_url=server, timeout=60) as client:
            account = {"email": EMAIL, "password": PASSWORD}
            registered = await client.post(f"{API}/auth/register", json=account)
            assert registered.status_code == 201, registered.text
            login = await client.post(f"{API}/auth/login", json=account)
            assert login.status_code == 200, login.text
            auth = {"Authorization": f"Bearer {login.json()['access_token']}"}

            seeded_at = time.monotonic()
            ids = await seed(pg_url, UUID(registered.json()["id"]))
            seeding = time.monotonic() - seeded_at
            assert len(ids) == POSTS

            # warm up the export path (imports, prepared statements, pools) on an empty selection
            for fmt in ("ndjson", "csv"):
                warm = await client.get(f"{API}/posts/export", params={"format": fmt, "tag": "nothing"}, headers=auth)
                assert warm.status_code == 200, warm.text
            figures["seeding_s"] = round(seeding, 2)
            figures["rss_start_mib"] = round(rss(pid) / MIB, 1)
            figures["peak_since_start_mib"] = round(peak_rss(pid) / MIB, 1)

            for fmt in ("ndjson", "csv"):
                resettable = reset_peak(pid)
                before_rss, before_peak = rss(pid), peak_rss(pid)
                highest = [before_rss]
                seen: list[str] = []
                header: list[list[str]] = []

                def on_line(
                    line: str, fmt: str = fmt, seen: list[str] = seen, header: list[list[str]] = header
                ) -> None:
                    if fmt == "ndjson":
                        seen.append(json.loads(line)["id"])
                        return
                    [row] = list(csv.reader(io.StringIO(line)))
                    if not header:
                        header.append(row)
                        return
                    assert len(row) == len(CSV_COLUMNS), row
                    assert row[3].startswith(CONTENT), row[3][:80]
                    seen.append(row[0])

                def sample(highest: list[int] = highest) -> None:
                    highest.append(rss(pid))

                started = time.monotonic()
                response, lines = await stream_lines(client, fmt, auth, on_line, sample)
                elapsed = time.monotonic() - started
                after_rss, after_peak = rss(pid), peak_rss(pid)
                # without clear_refs the peak may predate this export (an overestimate, on the safe side)
                # (VmHWM is updated lazily, so a sample may read above it: take the higher)
                growth = max(after_peak, *highest) - (before_peak if resettable else before_rss)
                figures.update(
                    {
                        f"{fmt}_seconds": round(elapsed, 2),
                        f"{fmt}_peak_reset": resettable,
                        f"{fmt}_rss_before_mib": round(before_rss / MIB, 1),
                        f"{fmt}_peak_before_mib": round(before_peak / MIB, 1),
                        f"{fmt}_rss_highest_sampled_mib": round(max(highest) / MIB, 1),
                        f"{fmt}_rss_after_mib": round(after_rss / MIB, 1),
                        f"{fmt}_peak_after_mib": round(after_peak / MIB, 1),
                        f"{fmt}_peak_growth_mib": round(growth / MIB, 1),
                    }
                )

                assert "content-length" not in response.headers
                expected_type = "application/x-ndjson" if fmt == "ndjson" else "text/csv"
                assert response.headers["content-type"].split(";")[0] == expected_type
                if fmt == "csv":
                    assert header == [list(CSV_COLUMNS)]
                    assert lines == POSTS + 1
                else:
                    assert lines == POSTS
                assert len(seen) == POSTS  # every post exactly once, and nothing else
                assert set(seen) == ids

                assert growth < PEAK_GROWTH_BOUND, figures

    finally:
        figures["total_s"] = round(time.monotonic() - began, 2)
        for name, value in figures.items():
            record_property(name, value)
        print("\nexport memory:", json.dumps(figures, indent=2))
