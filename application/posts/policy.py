"""Who may do what with a post."""

from __future__ import annotations

from application.posts.ports import Visibility
from application.shared.actor import Actor
from application.shared.authorization import Action, Decision, Policy, same_user
from domain.posts.post import Post


class PostPolicy(Policy[Post]):
    """API.md, "Posts":

    - A published post is visible to everyone, anonymous callers included; a draft only to
      its author and to admins. To anyone else a draft does not exist (404).
    - Only the author edits (an admin too gets 403: moderation deletes, it does not rewrite).
    - The author or an admin deletes.
    """

    def decide(self, actor: Actor | None, action: Action, resource: Post) -> Decision:
        author = same_user(actor, resource.author_id)
        admin = actor is not None and actor.is_admin
        if not (resource.published or author or admin):
            return Decision.HIDE
        if action is Action.READ or author:
            return Decision.ALLOW
        if action is Action.DELETE and admin:
            return Decision.ALLOW
        return Decision.FORBID

    @staticmethod
    def visibility(actor: Actor | None) -> Visibility:
        """The posts a listing or an export may show ``actor``."""
        if actor is None:
            return Visibility()
        if actor.is_admin:
            return Visibility(everything=True)
        return Visibility(drafts_of=actor.user_id)
