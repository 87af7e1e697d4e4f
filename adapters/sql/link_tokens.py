"""SQL repository of the identity context's link tokens (password reset, e-mail verification)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update

from adapters.sql.errors import ConstraintErrors
from adapters.sql.session import SqlSession
from adapters.sql.statements import Query
from adapters.sql.tables import link_tokens
from application.errors import AlreadyExistsError, NotFoundError
from application.identity.ports import LinkTokenRepository
from domain.identity.link_token import LinkPurpose, LinkToken
from domain.shared.ids import UserId

__all__ = ["SqlLinkTokenRepository"]

_LINK_TOKEN_ERRORS = ConstraintErrors(
    link_tokens,
    {
        "pk_link_tokens": lambda: AlreadyExistsError("link token", "token_hash"),
        "fk_link_tokens_user_id_users": lambda: NotFoundError("user", "id"),
    },
)
_INSERT_LINK_TOKEN = Query(insert(link_tokens).values({c.name: bindparam(c.name) for c in link_tokens.c}))
_LINK_TOKEN = Query(
    select(link_tokens).where(
        link_tokens.c.token_hash == bindparam("token_hash"), link_tokens.c.purpose == bindparam("purpose")
    )
)
# The compare-and-set that makes a token single use: of concurrent transactions, the first
# marks the row; the others wait for its row lock and then find ``used_at`` set.
_CONSUME_LINK_TOKEN = Query(
    update(link_tokens)
    .where(
        link_tokens.c.token_hash == bindparam("digest"),
        link_tokens.c.purpose == bindparam("kind"),
        link_tokens.c.used_at.is_(None),
        link_tokens.c.expires_at > bindparam("now"),
    )
    # Bind names differ from the columns': an UPDATE reserves those for its SET clause.
    .values(used_at=bindparam("at"))
    .returning(link_tokens.c.user_id)
)


def _link_token(row: Any) -> LinkToken:
    return LinkToken(
        token_hash=row["token_hash"],
        purpose=LinkPurpose(row["purpose"]),
        user_id=UserId(row["user_id"]),
        event_id=row["event_id"],
        expires_at=row["expires_at"],
        used_at=row["used_at"],
    )


class SqlLinkTokenRepository(LinkTokenRepository):
    def __init__(self, session: SqlSession) -> None:
        self._db = session

    async def add(self, token: LinkToken) -> bool:
        row = {
            "token_hash": token.token_hash,
            "purpose": token.purpose.value,
            "user_id": token.user_id,
            "event_id": token.event_id,
            "expires_at": token.expires_at,
            "used_at": token.used_at,
        }
        try:
            # Under a savepoint: a digest stored already leaves the transaction usable.
            await self._db.attempt(_INSERT_LINK_TOKEN, row, errors=_LINK_TOKEN_ERRORS)
        except AlreadyExistsError:
            return False
        return True

    async def find(self, token_hash: str, purpose: LinkPurpose) -> LinkToken | None:
        row = (await self._db.read(_LINK_TOKEN, {"token_hash": token_hash, "purpose": purpose.value})).first()
        return None if row is None else _link_token(row)

    async def consume(self, token_hash: str, purpose: LinkPurpose, now: datetime) -> UserId | None:
        parameters = {"digest": token_hash, "kind": purpose.value, "now": now, "at": now}
        row = (await self._db.write(_CONSUME_LINK_TOKEN, parameters)).first()
        return None if row is None else UserId(row["user_id"])

    async def consume_all(self, user_id: UserId, purpose: LinkPurpose, now: datetime) -> int:
        result = await self._db.write(
            update(link_tokens)
            .where(
                link_tokens.c.user_id == user_id,
                link_tokens.c.purpose == purpose.value,
                link_tokens.c.used_at.is_(None),
            )
            .values(used_at=now)
        )
        return result.rowcount
