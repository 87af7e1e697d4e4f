"""The development JWT secret file: created once, private from its first byte, never torn."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

__all__ = ["create_secret_file"]


def create_secret_file(path: Path) -> None:
    """Write a new secret readable by the owner only from its first byte on.

    The secret goes to a private temporary file (created 0600, never chmod-ed later), which is
    then hard-linked into place: readers never see a half-written file, and when another
    process got there first the link fails and its secret is kept.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    _write_private(temporary)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass  # another process created it first: use theirs
    except OSError:  # a file system without hard links: create it in place, still never 0644
        with contextlib.suppress(FileExistsError):
            _write_private(path)
    finally:
        temporary.unlink(missing_ok=True)


def _write_private(path: Path) -> None:
    """A new file (``FileExistsError`` if there is one) holding a fresh secret, mode 0600 from the start."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(secrets.token_urlsafe(48))
        file.flush()
        os.fsync(file.fileno())
