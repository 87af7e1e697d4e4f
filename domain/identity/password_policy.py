"""Which passwords a user may choose (OWASP ASVS 5.0, V6.2)."""

from __future__ import annotations

import gzip
from functools import cache
from importlib.resources import files

from domain.identity.email import normalize_email
from domain.shared.errors import InvalidValueError

MIN_LENGTH = 8
MAX_LENGTH = 128


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (19,640 entries, lower-cased).

    The list is the one Django ships (Royce Williams' compilation, BSD licensed); it is read
    once, on first use, from package data.
    """
    raw = files("domain.identity").joinpath("common_passwords.txt.gz").read_bytes()
    return frozenset(line.strip().lower() for line in gzip.decompress(raw).decode().splitlines())


def check_password(password: str, *, email: str, field: str = "password") -> None:
    """Raise ``InvalidValueError`` naming ``field`` unless ``password`` may be used.

    Rules: 8..128 characters (counted as Unicode code points, so passphrases in any script
    work); not one of the shipped common passwords (case-insensitive); not the e-mail address
    itself, nor its local part.
    """
    if len(password) < MIN_LENGTH:
        raise InvalidValueError(field, f"must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise InvalidValueError(field, f"must be at most {MAX_LENGTH} characters")
    folded = password.strip().lower()
    address = normalize_email(email)
    if folded in (address, address.partition("@")[0]):
        raise InvalidValueError(field, "must not be your e-mail address")
    if folded in common_passwords():
        raise InvalidValueError(field, "is too common; choose a less guessable password")
