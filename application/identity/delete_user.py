"""``DeleteUser``: an account is removed, by an admin or by its owner."""

from __future__ import annotations

from dataclasses import dataclass

from application.identity.account_changes import load, refuse_last_admin
from application.identity.account_cleanup import AccountCleanup
from application.identity.policy import UserPolicy
from application.identity.ports import IdentityUnitOfWork
from application.shared.actor import Actor
from application.shared.audit import Audit
from application.shared.authorization import Action, authorize
from application.shared.ports import Clock
from domain.shared.audit import AuditType
from domain.shared.ids import UserId


@dataclass(frozen=True, slots=True)
class DeleteUserCommand:
    actor: Actor
    user_id: UserId


class DeleteUser:
    """Delete an account: an admin any account, anyone their own (403 for anyone else's);
    an unknown account is 404.

    - The last active admin cannot be deleted (409), by themselves included; the check
      holds under concurrency as `UpdateUser`'s does (the admins' lock).
    - The account's sessions, refresh tokens, mailed links, todos and upload records go with
      it, in the same transaction: its access tokens get 401 on their next request, in every
      process. The bytes of its uploads (post images included) are deleted once that has
      committed, so none stays public under its old URL.
    - Posts are deleted with their author, in this transaction, as todos are (`ON DELETE
      CASCADE` on `posts.author_id`): no post is left pointing at an account that is gone,
      and none is shown with a "deleted author". The cache of public content starts a new
      generation before this returns, so no cached list still shows them.
    - The event `user.deleted` is committed with the deletion (the audit entry
      `user.deleted` is written in that transaction too, and outlives the account).
    """

    def __init__(
        self, uow: IdentityUnitOfWork, policy: UserPolicy, clock: Clock, audit: Audit, cleanup: AccountCleanup
    ) -> None:
        self._uow = uow
        self._cleanup = cleanup
        self._policy = policy
        self._clock = clock
        self._audit = audit

    async def __call__(self, cmd: DeleteUserCommand) -> None:
        async with self._uow as uow:
            authorize(self._policy, cmd.actor, Action.DELETE, await load(uow, cmd.user_id))
            admins = await uow.users.lock_active_admins()  # before the account's lock
            user = await load(uow, cmd.user_id, for_update=True)
            if user.is_active_admin:
                refuse_last_admin(admins, user.id)
            user.delete(now=self._clock.now())
            uploads = await uow.files.keys_of(user.id)
            await uow.users.delete(user)
            await self._audit.record(
                uow.audit_log,
                AuditType.USER_DELETED,
                subject_id=user.id,
                actor_id=cmd.actor.user_id,
                detail={"role": user.role.value},
            )
            await uow.commit()
        await self._cleanup.after_deletion(uploads)
