"""The authorization seam: policies decide who may read, edit or delete what; use-cases ask.

A policy is one small class per kind of resource (``TodoPolicy``, later posts and accounts):
it looks at the caller (an ``Actor``, or ``None`` for an anonymous one), the action and the
loaded resource, and returns a ``Decision``. Use-cases never compare roles or owners
themselves; they call ``authorize``, which turns the decision into the application error
the entry points already map:

- ``Decision.ALLOW``: go on.
- ``Decision.HIDE``: ``NotFoundError`` (404). Someone else's private resource must look
  exactly like one that does not exist.
- ``Decision.FORBID``: ``ForbiddenError`` (403) for a known caller: the resource is visible
  to them but the action is not theirs. An anonymous caller gets ``UnauthenticatedError``
  (401) instead: signing in might change the answer.

Policies are pure: they decide from the actor and the resource alone. A rule that needs to
read the store (the last active admin, ...) is a use-case or domain rule, not a policy.
"""

from __future__ import annotations

import enum
from abc import abstractmethod
from typing import Protocol, TypeVar

from application.errors import ForbiddenError, NotFoundError, UnauthenticatedError
from application.shared.actor import Actor
from domain.shared.events import Aggregate
from domain.shared.ids import UserId

__all__ = ["Action", "AdminOnly", "Decision", "Policy", "allows", "authorize", "enforce", "same_user"]

_Resource = TypeVar("_Resource", bound=Aggregate)
_Resource_contra = TypeVar("_Resource_contra", bound=Aggregate, contravariant=True)


class Action(enum.StrEnum):
    """What a caller wants to do with a resource. A context that needs a finer action (a
    role change, a private view) adds a member here and its policy decides it."""

    READ = "read"
    READ_PRIVATE = "read_private"
    """See the private fields of a resource (an account's e-mail, role, ...)."""
    EDIT = "edit"
    ADMINISTER = "administer"
    """Change what only an administrator may change (an account's role or activity)."""
    DELETE = "delete"


class Decision(enum.Enum):
    """A policy's answer; see the module docstring for the error each refusal becomes."""

    ALLOW = "allow"
    FORBID = "forbid"
    HIDE = "hide"


class Policy(Protocol[_Resource_contra]):
    """Who may do what with one kind of resource."""

    @abstractmethod
    def decide(self, actor: Actor | None, action: Action, resource: _Resource_contra) -> Decision:
        """The decision for ``actor`` (``None``: anonymous) doing ``action`` to ``resource``."""


def authorize(policy: Policy[_Resource], actor: Actor | None, action: Action, resource: _Resource) -> None:
    """Return if ``policy`` allows the action, else raise the error its decision means.

    Raises:
        NotFoundError: the decision is ``HIDE`` (named by the resource's type and id).
        ForbiddenError: the decision is ``FORBID`` and the caller is known.
        UnauthenticatedError: the decision is ``FORBID`` and the caller is anonymous.
    """
    decision = policy.decide(actor, action, resource)
    if decision is Decision.HIDE:
        raise NotFoundError(resource.aggregate_type, resource.id)
    enforce(decision, actor, f"{action} this {resource.aggregate_type}")


def enforce(decision: Decision, actor: Actor | None, what: str) -> None:
    """Return on ``ALLOW``; refuse ``what`` (``"list jobs"``) otherwise: 401 for an anonymous
    caller, 403 for a known one. For decisions about a kind of resource as a whole (an
    admin's listing), where there is no single resource to hide."""
    if decision is Decision.ALLOW:
        return
    if actor is None:
        raise UnauthenticatedError()
    raise ForbiddenError(f"you may not {what}")


def allows(policy: Policy[_Resource], actor: Actor | None, action: Action, resource: _Resource) -> bool:
    """Whether ``policy`` allows the action: for use-cases that choose, rather than refuse
    (which view to show, which items of a page to keep)."""
    return policy.decide(actor, action, resource) is Decision.ALLOW


def same_user(actor: Actor | None, user_id: UserId) -> bool:
    """Whether the caller is the user ``user_id`` (an owner, an author, oneself)."""
    return actor is not None and actor.user_id == user_id


class AdminOnly:
    """The policy of operations data (jobs, campaigns, the bot's chats): admins may do
    everything; anyone else is refused (403; 401 when anonymous), since it is no secret
    that such data exists."""

    def decide(self, actor: Actor | None, action: Action) -> Decision:
        return Decision.ALLOW if actor is not None and actor.is_admin else Decision.FORBID

    def require(self, actor: Actor | None, action: Action, what: str) -> None:
        """Return for an admin; else raise as ``enforce`` does for ``what`` (``"start campaigns"``)."""
        enforce(self.decide(actor, action), actor, what)
