"""Schemathesis over every operation of the OpenAPI document, in process, authenticated:
no server error, and every response as documented."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from litestar.serialization import decode_json, encode_json
from schemathesis import Case
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import positive_data_acceptance

from entrypoints.http.app import create_app
from tests.http.conftest import API, PASSWORD
from tests.support.settings import test_settings

EMAIL = "fuzz@example.com"
MAX_EXAMPLES = 12
EXCLUDED_CHECKS = [
    # The document cannot state every domain rule (blank-after-trimming titles, common
    # passwords, a password equal to the e-mail), so some schema-valid bodies are 422s.
    positive_data_acceptance,
]

# `@schema.parametrize()` needs the schema when the module is collected, so the app is built
# now, on a database file that `fresh_database` fills (from the migrated template) before the
# first request. Building it touches no database. (`schemathesis.pytest.from_fixture` would
# avoid this, but 4.32 reads `Node._nodeid`, which pytest 9 no longer has.)
_DIRECTORY = Path(tempfile.mkdtemp(prefix="portside-schemathesis-"))
_DATABASE = _DIRECTORY / "api.db"
# Random `current_password`s count as failed logins: no lockout may stop the fresh log-ins.
APP = create_app(test_settings(f"sqlite+aiosqlite:///{_DATABASE}", lockout_threshold=1_000_000))
# The document exactly as `/openapi.json` serves it (its examples hold Structs until encoded).
schema = schemathesis.openapi.from_dict(decode_json(encode_json(APP.openapi_schema.to_schema())))
schema.app = APP


@pytest.fixture(scope="module", autouse=True)
def fresh_database(sqlite_template: Path) -> Iterator[None]:
    """A migrated, empty SQLite database with one registered user. Schemathesis runs the app on
    its own event loop (lifespan included), so every request, set-up included, goes through it."""
    shutil.copyfile(sqlite_template, _DATABASE)
    try:
        with asgi.get_client(APP) as client:
            registered = client.post(f"{API}/auth/register", json={"email": EMAIL, "password": PASSWORD})
            assert registered.status_code == 201, registered.text
            yield
        asgi.shutdown_lifespans()
    finally:
        shutil.rmtree(_DIRECTORY, ignore_errors=True)


def fresh_bearer() -> dict[str, str]:
    """A new session per case: a fuzzed logout or session revocation must not end the next case's."""
    with asgi.get_client(APP) as client:
        response = client.post(f"{API}/auth/login", json={"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case: Case) -> None:
    case.call_and_validate(headers=fresh_bearer(), excluded_checks=EXCLUDED_CHECKS)
