"""Schemathesis over every operation of the OpenAPI document, in process, authenticated:
no server error, and every response as documented."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from litestar import Litestar
from litestar.serialization import decode_json, encode_json
from schemathesis import Case
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import positive_data_acceptance
from schemathesis.specs.openapi.schemas import OpenApiSchema

from entrypoints.http.app import create_app
from tests.http.conftest import API, PASSWORD
from tests.support.services import ServiceDownError, create_pg_database, drop_pg_database, sqlalchemy_url
from tests.support.settings import test_settings

EMAIL = "fuzz@example.com"
MAX_EXAMPLES = 12
EXCLUDED_CHECKS = [
    # The document cannot state every domain rule (blank-after-trimming titles, common
    # passwords, a password equal to the e-mail), so some schema-valid bodies are 422s.
    positive_data_acceptance,
]

# `@schema.parametrize()` needs the schema when the module is collected, so the apps are built
# now, on databases that `fresh_databases` creates (a SQLite file from the migrated template, a
# PostgreSQL database migrated anew) before the first request. Building an app touches no
# database and creates nothing. (`schemathesis.pytest.from_fixture` would avoid this, but 4.32
# reads `Node._nodeid`, which pytest 9 no longer has.)
_LABEL = uuid.uuid4().hex[:8]
_DIRECTORY = Path(tempfile.gettempdir()) / f"portside-schemathesis-{_LABEL}"
_SQLITE = _DIRECTORY / "api.db"
_PG_NAME = f"portside_fuzz_{_LABEL}"
# Random `current_password`s count as failed logins: no lockout may stop the fresh log-ins.
_SETTINGS = {"lockout_threshold": 1_000_000}
APPS = {
    "sqlite": create_app(test_settings(f"sqlite+aiosqlite:///{_SQLITE}", **_SETTINGS)),
    "postgres": create_app(test_settings(sqlalchemy_url(_PG_NAME), **_SETTINGS)),
}


def _schema(app: Litestar) -> OpenApiSchema:
    # The document exactly as `/openapi.json` serves it (its examples hold Structs until encoded).
    loaded = schemathesis.openapi.from_dict(decode_json(encode_json(app.openapi_schema.to_schema())))
    loaded.app = app
    return loaded


sqlite_schema, postgres_schema = _schema(APPS["sqlite"]), _schema(APPS["postgres"])


def _register(app: Litestar) -> None:
    with asgi.get_client(app) as client:
        registered = client.post(f"{API}/auth/register", json={"email": EMAIL, "password": PASSWORD})
        assert registered.status_code == 201, registered.text


@pytest.fixture(scope="module", autouse=True)
def fresh_databases(sqlite_template: Path) -> Iterator[None]:
    """Migrated, empty databases with one registered user each. Schemathesis runs the apps on
    its own event loop (lifespan included), so every request, set-up included, goes through it."""
    _DIRECTORY.mkdir(parents=True)
    shutil.copyfile(sqlite_template, _SQLITE)
    try:
        postgres_url = create_pg_database(_PG_NAME, exact_name=True)
    except ServiceDownError as error:
        pytest.fail(str(error), pytrace=False)
    try:
        for app in APPS.values():
            _register(app)
        yield
        asgi.shutdown_lifespans()
    finally:
        drop_pg_database(postgres_url)
        shutil.rmtree(_DIRECTORY, ignore_errors=True)


def fresh_bearer(app: Litestar) -> dict[str, str]:
    """A new session per case: a fuzzed logout or session revocation must not end the next case's."""
    with asgi.get_client(app) as client:
        response = client.post(f"{API}/auth/login", json={"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@sqlite_schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented_on_sqlite(case: Case) -> None:
    case.call_and_validate(headers=fresh_bearer(APPS["sqlite"]), excluded_checks=EXCLUDED_CHECKS)


@postgres_schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented_on_postgres(case: Case) -> None:
    case.call_and_validate(headers=fresh_bearer(APPS["postgres"]), excluded_checks=EXCLUDED_CHECKS)
