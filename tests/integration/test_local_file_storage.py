"""``LocalFileStorage`` on a real directory: round trip, atomic replacement, cleanup, containment."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import pytest

from adapters.files.local import LocalFileStorage
from domain.files.images import FileKey, ImageType

KEY = FileKey("ab" + "0" * 30 + ".png")
OTHER = FileKey("cd" + "1" * 30 + ".gif")


async def read_all(storage: LocalFileStorage, key: FileKey, chunk_size: int = 65536) -> bytes:
    return b"".join([chunk async for chunk in storage.read(key, chunk_size)])


def files_under(root: Path) -> list[Path]:
    return sorted(path.relative_to(root) for path in root.rglob("*") if not path.is_dir())


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "files"  # absent: the first save creates it


@pytest.fixture
def storage(root: Path) -> LocalFileStorage:
    return LocalFileStorage(root)


async def test_save_size_read_delete_round_trip(storage: LocalFileStorage, root: Path) -> None:
    data = bytes(range(256)) * 41 + b"tail"

    await storage.save(KEY, data)

    assert await storage.size(KEY) == len(data)
    assert await read_all(storage, KEY) == data
    chunks = [chunk async for chunk in storage.read(KEY, chunk_size=1000)]
    assert b"".join(chunks) == data
    assert [len(chunk) for chunk in chunks[:-1]] == [1000] * (len(chunks) - 1)
    assert files_under(root) == [Path("ab") / KEY.value]

    await storage.delete(KEY)

    assert await storage.size(KEY) is None
    assert files_under(root) == []


async def test_files_and_directories_are_not_world_readable(storage: LocalFileStorage, root: Path) -> None:
    await storage.save(KEY, b"x")
    assert stat.S_IMODE(os.stat(storage.path_of(KEY)).st_mode) & 0o007 == 0
    assert stat.S_IMODE(os.stat(root / "ab").st_mode) & 0o007 == 0


async def test_keys_do_not_disturb_each_other(storage: LocalFileStorage) -> None:
    await storage.save(KEY, b"one")
    await storage.save(OTHER, b"two")
    await storage.delete(KEY)
    assert await storage.size(KEY) is None
    assert await read_all(storage, OTHER) == b"two"


async def test_an_empty_file_round_trips(storage: LocalFileStorage) -> None:
    await storage.save(KEY, b"")
    assert await storage.size(KEY) == 0
    assert await read_all(storage, KEY) == b""


async def test_a_reader_of_a_replaced_file_sees_the_old_one_whole(storage: LocalFileStorage) -> None:
    old, new = b"A" * 10_000, b"B" * 7_000
    await storage.save(KEY, old)
    reader = storage.read(KEY, chunk_size=1024)
    first = await anext(reader)

    await storage.save(KEY, new)

    rest = b"".join([chunk async for chunk in reader])
    assert first + rest == old
    assert await read_all(storage, KEY) == new
    assert await storage.size(KEY) == len(new)


async def test_concurrent_readers_see_one_whole_version(storage: LocalFileStorage, root: Path) -> None:
    versions = [bytes([n]) * (50_000 + n) for n in range(8)]
    await storage.save(KEY, versions[0])

    async def reader() -> list[bytes]:
        return [await read_all(storage, KEY, chunk_size=4096) for _ in range(10)]

    results = await asyncio.gather(
        *(storage.save(KEY, version) for version in versions[1:]),
        *(reader() for _ in range(4)),
    )

    seen = [data for result in results if result is not None for data in result]
    assert seen
    assert all(data in versions for data in seen)
    assert files_under(root) == [Path("ab") / KEY.value]


async def test_a_failed_save_leaves_no_temporary_file(storage: LocalFileStorage, root: Path) -> None:
    await storage.save(OTHER, b"unrelated")
    # A directory in the key's place: the temporary file is written and synced, then the final
    # rename fails (as root too, unlike a read-only directory).
    blocker = storage.path_of(KEY)
    blocker.mkdir(parents=True)
    (blocker / "occupied").write_bytes(b"")

    with pytest.raises(IsADirectoryError):
        await storage.save(KEY, b"new bytes" * 1000)

    assert sorted(path.name for path in (root / "ab").iterdir()) == [KEY.value]
    assert files_under(root) == [Path("ab") / KEY.value / "occupied", Path("cd") / OTHER.value]
    assert await storage.size(KEY) is None


async def test_a_missing_key_has_no_size_cannot_be_read_and_deletes_silently(storage: LocalFileStorage) -> None:
    assert await storage.size(KEY) is None
    with pytest.raises(FileNotFoundError):
        await read_all(storage, KEY)
    await storage.delete(KEY)
    await storage.save(OTHER, b"x")  # the root exists now; the key's directory does not
    assert await storage.size(KEY) is None
    with pytest.raises(FileNotFoundError):
        await read_all(storage, KEY)
    await storage.delete(KEY)


async def test_a_bad_chunk_size_is_refused(storage: LocalFileStorage) -> None:
    await storage.save(KEY, b"x")
    for size in (0, -1):
        with pytest.raises(ValueError, match="chunk_size"):
            await read_all(storage, KEY, chunk_size=size)


@pytest.fixture
def resolved_root(root: Path) -> Path:
    return root.resolve()


@pytest.mark.parametrize("kind", list(ImageType))
async def test_the_path_of_a_key_resolves_inside_the_root(
    storage: LocalFileStorage, resolved_root: Path, kind: ImageType
) -> None:
    key = FileKey.generate(kind)
    await storage.save(key, b"x")
    path = storage.path_of(key)
    assert path == resolved_root / key.value[:2] / key.value
    assert path.parent.parent == resolved_root
    assert files_under(resolved_root) == [Path(key.value[:2]) / key.value]


@pytest.fixture
def outside(root: Path, tmp_path: Path) -> Path:
    """A directory outside the root, which the fan-out directory ``ab`` links to."""
    outside = tmp_path / "outside"
    outside.mkdir()
    root.mkdir()
    (root / "ab").symlink_to(outside, target_is_directory=True)
    return outside


async def test_a_fan_out_directory_leading_out_of_the_root_is_refused(storage: LocalFileStorage, outside: Path) -> None:
    with pytest.raises(ValueError, match="leaves the storage root"):
        await storage.save(KEY, b"x")
    with pytest.raises(ValueError, match="leaves the storage root"):
        await read_all(storage, KEY)

    assert files_under(outside) == []
