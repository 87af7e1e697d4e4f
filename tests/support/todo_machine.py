"""A hypothesis state machine: the real todo use-cases against a plain dict model.

Subclasses choose the store (in-memory, or SQL on PostgreSQL). Rules are synchronous
(hypothesis has no async rules): the machine owns an asyncio.Runner and a fresh store.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule

from application.errors import NotFoundError, VersionRequiredError
from application.shared.actor import Actor
from application.todos.create_todo import CreateTodoCommand
from application.todos.delete_todo import DeleteTodoCommand
from application.todos.list_todos import ListTodosCommand
from application.todos.replace_todo import ReplaceTodoCommand
from application.todos.toggle_todo import ToggleTodoCommand
from application.todos.update_todo import UpdateTodoCommand
from domain.shared.errors import VersionMismatchError
from domain.todos.todo import Todo, TodoId
from tests.support.todos import TodoApp
from tests.support.units import AllRepositories as UnitOfWork

titles = st.text(alphabet="abcxyz ", min_size=1, max_size=12).filter(str.strip)
# How the writer names the version: the current one, a stale one, "*", or none at all.
version_choice = st.sampled_from(["current", "stale", "any", "none"])


@dataclasses.dataclass
class Row:
    owner: int
    title: str
    description: str
    completed: bool
    version: int


class TodoMachine(RuleBasedStateMachine):
    todos = Bundle("todos")

    def __init__(self) -> None:
        super().__init__()
        self.runner = asyncio.Runner()
        self.actors: list[Actor] = self.run(self.set_up())
        self.app = TodoApp(self.new_uow)
        self.model: dict[TodoId, Row] = {}

    # --- the store, chosen by subclasses
    async def set_up(self) -> list[Actor]:
        raise NotImplementedError

    def new_uow(self) -> UnitOfWork:
        raise NotImplementedError

    async def tear_down(self) -> None:
        return None

    def teardown(self) -> None:
        self.run(self.tear_down())
        self.runner.close()

    def run(self, coroutine: Any) -> Any:
        return self.runner.run(coroutine)

    def _expected(self, todo_id: TodoId, choice: str) -> int | str | None:
        row = self.model.get(todo_id)
        current = row.version if row else 1
        return {"current": current, "stale": current - 1, "any": "*", "none": None}[choice]

    def _attempt(self, todo_id: TodoId, who: int, choice: str, call: Any, *, version_required: bool) -> Any:
        """Run ``call`` and check the refusal the model predicts; None when refused."""
        row = self.model.get(todo_id)
        try:
            result = self.run(call)
        except NotFoundError:
            assert row is None or row.owner != who
            return None
        except VersionRequiredError:
            assert row is not None and row.owner == who and version_required and choice == "none"
            return None
        except VersionMismatchError:
            assert row is not None and row.owner == who and choice == "stale"
            return None
        assert row is not None and row.owner == who, "wrote a todo that is gone or someone else's"
        assert choice != "stale", "a stale version was accepted"
        assert not (version_required and choice == "none"), "an edit without a version was accepted"
        return result

    @rule(target=todos, who=st.integers(0, 1), title=titles)
    def create(self, who: int, title: str) -> TodoId:
        todo: Todo = self.run(self.app.create(CreateTodoCommand(actor=self.actors[who], title=title)))
        self.model[todo.id] = Row(owner=who, title=title.strip(), description="", completed=False, version=1)
        return todo.id

    @rule(todo_id=todos, who=st.integers(0, 1), choice=version_choice, title=titles, completed=st.booleans())
    def patch(self, todo_id: TodoId, who: int, choice: str, title: str, completed: bool) -> None:
        command = UpdateTodoCommand(
            actor=self.actors[who],
            todo_id=todo_id,
            expected_version=self._expected(todo_id, choice),
            title=title,
            completed=completed,
        )
        if self._attempt(todo_id, who, choice, self.app.update(command), version_required=True):
            row = self.model[todo_id]
            row.title, row.completed, row.version = title.strip(), completed, row.version + 1

    @rule(todo_id=todos, who=st.integers(0, 1), choice=version_choice, title=titles, text=titles)
    def replace(self, todo_id: TodoId, who: int, choice: str, title: str, text: str) -> None:
        command = ReplaceTodoCommand(
            actor=self.actors[who],
            todo_id=todo_id,
            expected_version=self._expected(todo_id, choice),
            title=title,
            description=text,
        )
        if self._attempt(todo_id, who, choice, self.app.replace(command), version_required=True):
            row = self.model[todo_id]
            row.title, row.description, row.completed, row.version = title.strip(), text, False, row.version + 1

    @rule(todo_id=todos, who=st.integers(0, 1), choice=version_choice)
    def toggle(self, todo_id: TodoId, who: int, choice: str) -> None:
        command = ToggleTodoCommand(
            actor=self.actors[who], todo_id=todo_id, expected_version=self._expected(todo_id, choice)
        )
        if self._attempt(todo_id, who, choice, self.app.toggle(command), version_required=False):
            row = self.model[todo_id]
            row.completed, row.version = not row.completed, row.version + 1

    @rule(todo_id=consumes(todos), who=st.integers(0, 1), choice=version_choice)
    def delete(self, todo_id: TodoId, who: int, choice: str) -> None:
        command = DeleteTodoCommand(
            actor=self.actors[who], todo_id=todo_id, expected_version=self._expected(todo_id, choice)
        )

        async def deleted() -> bool:  # delete returns nothing: say whether it went through
            await self.app.delete(command)
            return True

        went_through = self._attempt(todo_id, who, choice, deleted(), version_required=False) is not None
        row = self.model.get(todo_id)
        assert went_through == (row is not None and row.owner == who and choice != "stale")
        if went_through:
            del self.model[todo_id]

    @invariant()
    def each_user_sees_exactly_their_todos_as_the_model_says(self) -> None:
        for who, actor in enumerate(self.actors):
            page = self.run(self.app.list(ListTodosCommand(actor=actor, size=100)))
            seen = {
                t.id: Row(
                    owner=who, title=t.title.value, description=t.description, completed=t.completed, version=t.version
                )
                for t in page.items
            }
            expected = {todo_id: row for todo_id, row in self.model.items() if row.owner == who}
            assert seen == expected
            assert page.total == len(expected)
