"""SQL repository of the identity context's password-reset requests."""

from __future__ import annotations

import hashlib

from sqlalchemy import bindparam, insert

from adapters.sql.session import SqlSession
from adapters.sql.statements import Query
from adapters.sql.tables import password_reset_requests
from application.identity.ports import PasswordResetRequestRepository
from domain.identity.password_reset import PasswordResetRequest

__all__ = ["SqlPasswordResetRequestRepository"]

_INSERT = Query(insert(password_reset_requests).values({c.name: bindparam(c.name) for c in password_reset_requests.c}))


class SqlPasswordResetRequestRepository(PasswordResetRequestRepository):
    """Keeps the SHA-256 digest of the address, never the address (see ``tables.py``)."""

    def __init__(self, session: SqlSession) -> None:
        self._db = session

    async def add(self, request: PasswordResetRequest) -> None:
        digest = hashlib.sha256(request.email.value.encode()).hexdigest()
        await self._db.write(_INSERT, {"id": request.id, "email_digest": digest, "requested_at": request.requested_at})
