"""POST /auth/password-reset does the same database work for every address (API.md: "about
the same time"). Timing is never asserted; the statements are: the same kinds, in the same
order, in one transaction, whether an active account has the address or not."""

from __future__ import annotations

import asyncio
import re

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.http.conftest import API, Api
from tests.support.statements import log_statements

RESET = f"{API}/auth/password-reset"


def statement_kind(sql: str) -> str:
    """``BEGIN``, ``COMMIT``, or a data statement and the table it names first
    (``INSERT outbox``, ``SELECT users``): what a statement does, without its details."""
    words = re.findall(r"[A-Za-z_]+", sql)
    verb = words[0].upper()
    if verb == "UPDATE":
        return f"UPDATE {words[1]}"
    marker = {"INSERT": "INTO", "DELETE": "FROM", "SELECT": "FROM"}.get(verb)
    if marker is None:
        return verb
    upper = [word.upper() for word in words]
    return f"{verb} {words[upper.index(marker) + 1]}" if marker in upper else verb


class StatementLog:
    """Every statement the app's PostgreSQL connections run from now on, as asyncpg saw it
    (the repositories' prepared statements go straight to the driver, past SQLAlchemy)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.statements = log_statements(engine)

    async def kinds_during(self, api: Api, email: str) -> list[str]:
        self.statements.clear()
        response = await api.client.post(RESET, json={"email": email})
        assert response.status_code == 202, response.text
        for _ in range(3):  # asyncpg calls loggers with call_soon
            await asyncio.sleep(0)
        return [statement_kind(sql) for sql in self.statements]


async def test_known_and_unknown_addresses_run_the_same_statements_in_one_transaction(api: Api) -> None:
    assert (await api.register()).status_code == 201
    log = StatementLog(await api.container.get(AsyncEngine))

    known = await log.kinds_during(api, "ada@example.com")
    unknown = await log.kinds_during(api, "nobody@example.com")
    known_again = await log.kinds_during(api, " ADA@example.com ")

    assert known == unknown == known_again
    assert known.count("BEGIN") == known.count("COMMIT") == 1
    assert "INSERT password_reset_requests" in known
    assert "INSERT outbox" in known
    assert not [kind for kind in known if kind.endswith(" users")]  # no account is looked up
