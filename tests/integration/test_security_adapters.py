"""argon2id hashing and JWT access tokens, with the real libraries."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import threading
from datetime import timedelta
from uuid import uuid4

import jwt
import pytest

from adapters.security.argon2_hasher import Argon2Parameters, Argon2PasswordHasher
from adapters.security.jwt_issuer import JwtSettings, JwtTokenIssuer
from adapters.system.clock import FixedClock
from application.errors import UnauthenticatedError
from application.identity.ports import AccessClaims
from domain.identity.ids import SessionId
from domain.identity.user import Role
from domain.shared.ids import UserId
from tests.support.builders import FAST_ARGON2, T0
from tests.support.settings import TEST_SECRET


async def test_hash_verifies_only_the_same_password() -> None:
    hasher = Argon2PasswordHasher(FAST_ARGON2)
    stored = await hasher.hash("correct horse")
    assert stored.startswith("$argon2id$")
    assert await hasher.verify(stored, "correct horse")
    assert not await hasher.verify(stored, "correct horsE")
    assert not await hasher.verify("not-a-hash", "correct horse")


async def test_unknown_account_check_never_matches() -> None:
    hasher = Argon2PasswordHasher(FAST_ARGON2)
    assert not await hasher.verify(None, "portside dummy password, never matches a real one")


async def test_default_parameters_are_owasp_argon2id() -> None:
    stored = await Argon2PasswordHasher().hash("x" * 12)
    assert "$argon2id$v=19$m=19456,t=2,p=1$" in stored


async def test_rehash_is_needed_exactly_when_parameters_differ() -> None:
    old = Argon2PasswordHasher(FAST_ARGON2)
    new = Argon2PasswordHasher(Argon2Parameters(memory_kib=2048, iterations=1, lanes=1))
    stored = await old.hash("pw-123456")
    assert not old.needs_rehash(stored)
    assert new.needs_rehash(stored)
    assert await new.verify(stored, "pw-123456")


async def test_hashing_runs_off_the_event_loop_thread() -> None:
    hasher = Argon2PasswordHasher(FAST_ARGON2, max_concurrency=2)
    threads: set[int] = set()
    real = hasher._argon2

    class Recording:
        def hash(self, password: str) -> str:
            threads.add(threading.get_ident())
            return real.hash(password)

        def verify(self, stored: str, password: str) -> bool:
            threads.add(threading.get_ident())
            return real.verify(stored, password)

    hasher._argon2 = Recording()  # type: ignore[assignment]
    stored = await hasher.hash("password-1")
    assert await hasher.verify(stored, "password-1")
    assert threads and threading.get_ident() not in threads
    hasher.close()


async def test_hashing_threads_yield_the_cpu_to_the_event_loop() -> None:
    hasher = Argon2PasswordHasher(FAST_ARGON2, max_concurrency=1)
    await hasher.hash("warm the pool up")
    workers = [t for t in threading.enumerate() if t.name.startswith("argon2")]
    assert workers
    assert all(os.getpriority(os.PRIO_PROCESS, t.native_id) > os.getpriority(os.PRIO_PROCESS, 0) for t in workers)  # type: ignore[arg-type]
    hasher.close()


def issuer(clock: FixedClock, **overrides: object) -> JwtTokenIssuer:
    return JwtTokenIssuer(JwtSettings(secret=TEST_SECRET, **overrides), clock)  # type: ignore[arg-type]


CLAIMS = AccessClaims(user_id=UserId(uuid4()), session_id=SessionId(uuid4()), role=Role.ADMIN)


def test_issued_token_reads_back_with_every_claim() -> None:
    clock = FixedClock(T0)
    token = issuer(clock).issue_access_token(CLAIMS)
    payload = jwt.decode(token.token, options={"verify_signature": False})
    assert set(payload) == {"sub", "sid", "role", "iat", "exp", "iss", "aud", "jti"}
    assert payload["exp"] - payload["iat"] == 900 == token.expires_in
    expires_at = T0 + timedelta(seconds=900)
    assert issuer(clock).read_access_token(token.token) == dataclasses.replace(CLAIMS, expires_at=expires_at)


def _unsigned(payload: dict[str, object]) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."


def _forged(clock: FixedClock, **changes: object) -> str:
    good = issuer(clock).issue_access_token(CLAIMS).token
    payload = jwt.decode(good, options={"verify_signature": False})
    payload.update(changes)
    return jwt.encode(payload, TEST_SECRET, algorithm="HS256")


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(
            lambda c: _unsigned(
                jwt.decode(issuer(c).issue_access_token(CLAIMS).token, options={"verify_signature": False})
            ),
            id="alg-none",
        ),
        pytest.param(lambda c: issuer(c).issue_access_token(CLAIMS).token[:-3] + "abc", id="tampered-signature"),
        pytest.param(
            lambda c: jwt.encode({"sub": "x"}, "another-secret-another-secret-123456", "HS256"), id="other-key"
        ),
        pytest.param(lambda c: _forged(c, aud="someone-else"), id="wrong-audience"),
        pytest.param(lambda c: _forged(c, iss="someone-else"), id="wrong-issuer"),
        pytest.param(lambda c: _forged(c, role="root"), id="unknown-role"),
        pytest.param(lambda c: _forged(c, sid="not-a-uuid"), id="bad-session-id"),
        pytest.param(
            lambda c: jwt.encode(
                {
                    k: v
                    for k, v in jwt.decode(
                        issuer(c).issue_access_token(CLAIMS).token, options={"verify_signature": False}
                    ).items()
                    if k != "jti"
                },
                TEST_SECRET,
                "HS256",
            ),
            id="missing-jti",
        ),
        pytest.param(lambda c: jwt.encode({"sub": "x"}, TEST_SECRET * 2, "HS512"), id="algorithm-not-allowed"),
        pytest.param(lambda c: "not.a.jwt", id="garbage"),
    ],
)
def test_bad_tokens_are_rejected(make_token: object) -> None:
    clock = FixedClock(T0)
    token = make_token(clock)  # type: ignore[operator]
    with pytest.raises(UnauthenticatedError):
        issuer(clock).read_access_token(token)


def test_expired_token_is_rejected_by_the_clock_not_the_wall() -> None:
    clock = FixedClock(T0)
    token = issuer(clock).issue_access_token(CLAIMS).token
    clock.advance(timedelta(seconds=900 - 10))
    assert issuer(clock).read_access_token(token).user_id == CLAIMS.user_id
    clock.advance(timedelta(seconds=20))  # past exp + 5 s leeway
    with pytest.raises(UnauthenticatedError):
        issuer(clock).read_access_token(token)


def test_refresh_tokens_are_unguessable_and_stored_only_as_a_digest() -> None:
    tokens = issuer(FixedClock(T0))
    minted = {tokens.new_refresh_token() for _ in range(200)}
    assert len(minted) == 200 and all(len(t) >= 43 for t in minted)
    token = next(iter(minted))
    digest = tokens.hash_refresh_token(token)
    assert digest == tokens.hash_refresh_token(token) and token not in digest and len(digest) == 64
