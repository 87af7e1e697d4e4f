"""``TodoMachine``: the todo use-cases against a dict model, for two users."""

from __future__ import annotations

import dataclasses
from collections.abc import Coroutine
from typing import Any, TypeVar

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, consumes, invariant, rule

from application.errors import NotFoundError, VersionRequiredError
from application.shared.actor import Actor
from application.todos.create_todo import CreateTodoCommand
from application.todos.delete_todo import DeleteTodoCommand
from application.todos.list_todos import ListTodosCommand
from application.todos.replace_todo import ReplaceTodoCommand
from application.todos.toggle_todo import ToggleTodoCommand
from application.todos.update_todo import UpdateTodoCommand
from domain.shared.errors import VersionMismatchError
from domain.shared.pagination import Page
from domain.shared.versioning import ExpectedVersion
from domain.todos.todo import Todo, TodoId
from entrypoints.testing.machines.base import PASSWORD, HarnessMachine
from entrypoints.testing.strategies import titles

__all__ = ["TodoMachine"]

_T = TypeVar("_T")

# Few letters, short: titles collide, and a failing run reads easily.
_titles = titles("abcxyz ", max_size=12)
_users = st.integers(0, 1)
# How the writer names the version: the current one, a stale one, "*", or none at all.
_version_choices = st.sampled_from(["current", "stale", "any", "none"])


@dataclasses.dataclass
class Row:
    owner: int
    title: str
    description: str
    completed: bool
    version: int


class TodoMachine(HarnessMachine):
    """Two users create, patch, replace, toggle and delete todos, naming the current version,
    a stale one, ``"*"`` or none; each outcome (and each refusal: not found, version required,
    version mismatch) is the one the model predicts, and each user always lists exactly the
    todos the model holds for them, with their titles, descriptions, states and versions."""

    todos = Bundle("todos")

    def __init__(self) -> None:
        super().__init__()
        self.actors: list[Actor] = self.run(self._sign_up_two_users())
        self.model: dict[TodoId, Row] = {}

    async def _sign_up_two_users(self) -> list[Actor]:
        return [await self.harness.sign_up(self.email(f"user{n}"), PASSWORD) for n in (0, 1)]

    def _expected(self, todo_id: TodoId, choice: str) -> ExpectedVersion:
        row = self.model.get(todo_id)
        current = row.version if row else 1
        versions: dict[str, ExpectedVersion] = {"current": current, "stale": current - 1, "any": "*", "none": None}
        return versions[choice]

    def _attempt(
        self, todo_id: TodoId, who: int, choice: str, call: Coroutine[Any, Any, _T], *, version_required: bool
    ) -> _T | None:
        """Run ``call`` and check the refusal the model predicts; None when refused."""
        row = self.model.get(todo_id)
        try:
            result = self.run(call)
        except NotFoundError:
            assert row is None or row.owner != who
            return None
        except VersionRequiredError:
            assert row is not None
            assert row.owner == who
            assert version_required
            assert choice == "none"
            return None
        except VersionMismatchError:
            assert row is not None
            assert row.owner == who
            assert choice == "stale"
            return None
        assert row is not None, "wrote a todo that is gone"
        assert row.owner == who, "wrote someone else's todo"
        assert choice != "stale", "a stale version was accepted"
        assert not (version_required and choice == "none"), "an edit without a version was accepted"
        return result

    @rule(target=todos, who=_users, title=_titles)
    def create(self, who: int, title: str) -> TodoId:
        todo = self.run(self.harness.create_todo(CreateTodoCommand(actor=self.actors[who], title=title)))
        self.model[todo.id] = Row(owner=who, title=title.strip(), description="", completed=False, version=1)
        return todo.id

    @rule(todo_id=todos, who=_users, choice=_version_choices, title=_titles, completed=st.booleans())
    def patch(self, todo_id: TodoId, who: int, choice: str, title: str, completed: bool) -> None:
        command = UpdateTodoCommand(
            actor=self.actors[who],
            todo_id=todo_id,
            expected_version=self._expected(todo_id, choice),
            title=title,
            completed=completed,
        )
        if self._attempt(todo_id, who, choice, self.harness.update_todo(command), version_required=True):
            row = self.model[todo_id]
            row.title, row.completed, row.version = title.strip(), completed, row.version + 1

    @rule(todo_id=todos, who=_users, choice=_version_choices, title=_titles, text=_titles)
    def replace(self, todo_id: TodoId, who: int, choice: str, title: str, text: str) -> None:
        command = ReplaceTodoCommand(
            actor=self.actors[who],
            todo_id=todo_id,
            expected_version=self._expected(todo_id, choice),
            title=title,
            description=text,
        )
        if self._attempt(todo_id, who, choice, self.harness.replace_todo(command), version_required=True):
            row = self.model[todo_id]
            row.title, row.description, row.completed, row.version = title.strip(), text, False, row.version + 1

    @rule(todo_id=todos, who=_users, choice=_version_choices)
    def toggle(self, todo_id: TodoId, who: int, choice: str) -> None:
        command = ToggleTodoCommand(
            actor=self.actors[who], todo_id=todo_id, expected_version=self._expected(todo_id, choice)
        )
        if self._attempt(todo_id, who, choice, self.harness.toggle_todo(command), version_required=False):
            row = self.model[todo_id]
            row.completed, row.version = not row.completed, row.version + 1

    @rule(todo_id=consumes(todos), who=_users, choice=_version_choices)
    def delete(self, todo_id: TodoId, who: int, choice: str) -> None:
        command = DeleteTodoCommand(
            actor=self.actors[who], todo_id=todo_id, expected_version=self._expected(todo_id, choice)
        )

        async def deleted() -> bool:  # delete returns nothing: say whether it went through
            await self.harness.delete_todo(command)
            return True

        went_through = self._attempt(todo_id, who, choice, deleted(), version_required=False) is not None
        row = self.model.get(todo_id)
        assert went_through == (row is not None and row.owner == who and choice != "stale")
        if went_through:
            del self.model[todo_id]

    async def _pages(self) -> list[Page[Todo]]:
        return [await self.harness.list_todos(ListTodosCommand(actor=actor, size=100)) for actor in self.actors]

    @invariant()
    def each_user_sees_exactly_their_todos_as_the_model_says(self) -> None:
        for who, page in enumerate(self.run(self._pages())):
            seen = {
                t.id: Row(
                    owner=who, title=t.title.value, description=t.description, completed=t.completed, version=t.version
                )
                for t in page.items
            }
            expected = {todo_id: row for todo_id, row in self.model.items() if row.owner == who}
            assert seen == expected
            assert page.total == len(expected)
