"""Who may see and retry jobs."""

from __future__ import annotations

from application.shared.actor import Actor
from application.shared.authorization import Action, Decision


class JobPolicy:
    """Jobs are operations data (event payloads, error texts): admins read and retry them;
    everyone else is refused (403), since the listing itself is not a secret."""

    def decide(self, actor: Actor | None, action: Action) -> Decision:
        return Decision.ALLOW if actor is not None and actor.is_admin else Decision.FORBID
