"""``ListUsers``: the admin's page of accounts."""

from __future__ import annotations

from dataclasses import dataclass

from application.identity.policy import UserPolicy
from application.identity.ports import IdentityUnitOfWork, UserQuery
from application.shared.actor import Actor
from application.shared.authorization import enforce
from domain.identity.user import User
from domain.shared.pagination import DEFAULT_PAGE_SIZE, Page, PageRequest
from domain.shared.text import refuse_control_characters


@dataclass(frozen=True, slots=True)
class ListUsersCommand:
    actor: Actor | None
    q: str | None = None
    page: int = 1
    size: int = DEFAULT_PAGE_SIZE


class ListUsers:
    """Accounts, newest first. Admins only.

    - `q` keeps the accounts whose e-mail or display name contains it, ignoring case; every
      character counts literally (`%` and `_` are no wildcards). An empty `q` filters nothing;
      one with control characters, which no e-mail or display name holds, is refused (422).
    """

    def __init__(self, uow: IdentityUnitOfWork, policy: UserPolicy) -> None:
        self._uow = uow
        self._policy = policy

    async def __call__(self, cmd: ListUsersCommand) -> Page[User]:
        enforce(self._policy.decide_listing(cmd.actor), cmd.actor, "list accounts")
        if cmd.q:
            refuse_control_characters("q", cmd.q)
        query = UserQuery(text=cmd.q or None, page=PageRequest(cmd.page, cmd.size))
        async with self._uow as uow:
            return await uow.users.page(query)
