"""Who may do what with an account."""

from __future__ import annotations

from application.shared.actor import Actor
from application.shared.authorization import Action, Decision, Policy, same_user
from domain.identity.user import User


class UserPolicy(Policy[User]):
    """Accounts (API.md, Users).

    - Any signed-in caller may read an account's public view (`READ`); only an admin or the
      account itself its private view (`READ_PRIVATE`).
    - Only the account itself edits its profile (`EDIT`); only an admin changes an account's
      role, activity or profile through administration (`ADMINISTER`).
    - An admin or the account itself may delete it (`DELETE`).
    - Every other case is refused (403; 401 for an anonymous caller), never hidden: every
      account is visible through its public view.

    Whether the change would leave no active admin is not a policy question (it needs the
    store): the use-cases check it under the admins' lock.
    """

    def decide(self, actor: Actor | None, action: Action, resource: User) -> Decision:
        if actor is None:
            return Decision.FORBID
        allowed = {
            Action.READ: True,
            Action.READ_PRIVATE: actor.is_admin or same_user(actor, resource.id),
            Action.EDIT: same_user(actor, resource.id),
            Action.ADMINISTER: actor.is_admin,
            Action.DELETE: actor.is_admin or same_user(actor, resource.id),
        }.get(action, False)
        return Decision.ALLOW if allowed else Decision.FORBID

    def decide_listing(self, actor: Actor | None) -> Decision:
        """Listing accounts (private views, searchable by e-mail) is for admins."""
        return Decision.ALLOW if actor is not None and actor.is_admin else Decision.FORBID


class AuditPolicy:
    """The audit log (API.md, Audit log): admins read all of it (`READ`); everyone else is
    refused (403; 401 anonymous). A signed-in account reads the entries about itself
    through ``ListOwnAudit``, which needs no policy: it can name no one else."""

    def decide(self, actor: Actor | None, action: Action) -> Decision:
        return Decision.ALLOW if actor is not None and actor.is_admin and action is Action.READ else Decision.FORBID
