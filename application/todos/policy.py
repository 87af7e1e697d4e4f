"""Who may do what with a todo."""

from __future__ import annotations

from application.shared.actor import Actor
from application.shared.authorization import Action, Decision, Policy, same_user
from domain.todos.todo import Todo


class TodoPolicy(Policy[Todo]):
    """Each user sees only their own todos (API.md, Todos).

    - The owner may read, edit and delete their todo.
    - Anyone else, an admin included, is told it does not exist (404, never 403): a todo is
      private, so even its existence is not revealed.
    """

    def decide(self, actor: Actor | None, action: Action, resource: Todo) -> Decision:
        return Decision.ALLOW if same_user(actor, resource.owner_id) else Decision.HIDE
