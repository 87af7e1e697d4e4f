"""The authorization seam: decisions become the right errors; todos are their owner's only.

The use-cases are taken from the container (``memory://``), as the app wires them, so these
tests also show that they ask the policy registered there rather than decide themselves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from dishka import AsyncContainer, Provider, Scope
from hypothesis import given
from hypothesis import strategies as st

from application.errors import ForbiddenError, NotFoundError, UnauthenticatedError
from application.shared.actor import Actor
from application.shared.authorization import Action, Decision, Policy, allows, authorize, same_user
from application.shared.events import Provenance
from application.todos.create_todo import CreateTodo, CreateTodoCommand
from application.todos.delete_todo import DeleteTodo, DeleteTodoCommand
from application.todos.get_todo import GetTodo
from application.todos.policy import TodoPolicy
from application.todos.replace_todo import ReplaceTodo, ReplaceTodoCommand
from application.todos.toggle_todo import ToggleTodo, ToggleTodoCommand
from application.todos.update_todo import UpdateTodo, UpdateTodoCommand
from domain.identity.ids import SessionId
from domain.identity.user import Role
from domain.shared.ids import UserId
from domain.todos.todo import Title, Todo, TodoId
from entrypoints.container import build_container
from entrypoints.settings import MEMORY_DATABASE_URL, Settings

user_ids = st.uuids().map(UserId)
actors = st.builds(Actor, user_id=user_ids, session_id=st.uuids().map(SessionId), role=st.sampled_from(Role))
callers = st.none() | actors

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def a_todo(owner_id: UserId) -> Todo:
    return Todo.create(
        todo_id=TodoId(uuid4()), owner_id=owner_id, title=Title("buy milk"), description="", due_at=None, now=T0
    )


def an_actor(role: Role = Role.USER, user_id: UserId | None = None) -> Actor:
    return Actor(user_id=user_id or UserId(uuid4()), session_id=SessionId(uuid4()), role=role)


class Always(Policy[Todo]):
    """The same decision for everyone and everything."""

    def __init__(self, decision: Decision) -> None:
        self.decision = decision

    def decide(self, actor: Actor | None, action: Action, resource: Todo) -> Decision:
        return self.decision


# ---------------------------------------------------------------- authorize


@given(caller=callers, action=st.sampled_from(Action), owner=user_ids)
def test_an_allowed_action_passes(caller: Actor | None, action: Action, owner: UserId) -> None:
    authorize(Always(Decision.ALLOW), caller, action, a_todo(owner))
    assert allows(Always(Decision.ALLOW), caller, action, a_todo(owner))


@given(caller=callers, action=st.sampled_from(Action), owner=user_ids)
def test_a_hidden_resource_is_not_found_whoever_asks(caller: Actor | None, action: Action, owner: UserId) -> None:
    todo = a_todo(owner)

    with pytest.raises(NotFoundError) as raised:
        authorize(Always(Decision.HIDE), caller, action, todo)
    assert (raised.value.resource, raised.value.key) == ("todo", todo.id)
    assert not allows(Always(Decision.HIDE), caller, action, todo)


@given(actor=actors, action=st.sampled_from(Action), owner=user_ids)
def test_a_forbidden_action_is_forbidden_to_a_known_caller(actor: Actor, action: Action, owner: UserId) -> None:
    with pytest.raises(ForbiddenError, match=f"may not {action.value} this todo"):
        authorize(Always(Decision.FORBID), actor, action, a_todo(owner))
    assert not allows(Always(Decision.FORBID), actor, action, a_todo(owner))


@given(action=st.sampled_from(Action), owner=user_ids)
def test_a_forbidden_action_asks_an_anonymous_caller_to_sign_in(action: Action, owner: UserId) -> None:
    with pytest.raises(UnauthenticatedError):
        authorize(Always(Decision.FORBID), None, action, a_todo(owner))


@given(caller=callers, user_id=user_ids)
def test_same_user_is_true_only_for_that_user(caller: Actor | None, user_id: UserId) -> None:
    assert not same_user(None, user_id)
    assert same_user(caller, user_id) == (caller is not None and caller.user_id == user_id)
    if caller is not None:
        assert same_user(caller, caller.user_id)


# ---------------------------------------------------------------- the todo policy


@given(caller=callers, is_owner=st.booleans(), action=st.sampled_from(Action), owner=user_ids)
def test_only_the_owner_may_do_anything_with_a_todo_and_others_do_not_see_it(
    caller: Actor | None, is_owner: bool, action: Action, owner: UserId
) -> None:
    """API.md, Todos: "each user sees only their own"; admins have no exception there."""
    if is_owner and caller is not None:
        caller = Actor(user_id=owner, session_id=caller.session_id, role=caller.role)
    owns = caller is not None and caller.user_id == owner

    decision = TodoPolicy().decide(caller, action, a_todo(owner))

    assert decision is (Decision.ALLOW if owns else Decision.HIDE)


# ---------------------------------------------------------------- the todo use-cases ask it


def replacing_policy(policy: Policy[Todo]) -> Provider:
    provider = Provider(scope=Scope.APP)
    provider.provide(lambda: policy, provides=Policy[Todo], override=True)
    return provider


@pytest.fixture
def policy_override() -> list[Provider]:
    return []


def no_provenance() -> Provider:
    # build_container's own Provenance factory asks dishka for its ``str | None`` fields
    # (the HTTP provider replaces it in the app): an in-process caller has none to give.
    provider = Provider(scope=Scope.REQUEST)
    provider.provide(lambda: Provenance(), provides=Provenance, override=True)
    return provider


@pytest.fixture
async def container(policy_override: list[Provider]) -> AsyncIterator[AsyncContainer]:
    settings = Settings(database_url=MEMORY_DATABASE_URL, jwt_secret="x" * 48, rate_limits=False, access_log=False)
    container = build_container(settings, no_provenance(), *policy_override)
    yield container
    await container.close()


async def call(container: AsyncContainer, use_case: type[Any], *args: Any) -> Any:
    async with container() as request:
        return await (await request.get(use_case))(*args)


async def a_stored_todo(container: AsyncContainer, owner: Actor) -> Todo:
    todo: Todo = await call(container, CreateTodo, CreateTodoCommand(actor=owner, title="buy milk"))
    return todo


def every_todo_use_case(caller: Actor, todo_id: TodoId, version: int | None) -> list[tuple[type[Any], tuple[Any, ...]]]:
    return [
        (GetTodo, (caller, todo_id)),
        (UpdateTodo, (UpdateTodoCommand(actor=caller, todo_id=todo_id, expected_version=version, title="mine"),)),
        (ReplaceTodo, (ReplaceTodoCommand(actor=caller, todo_id=todo_id, expected_version=version, title="mine"),)),
        (ToggleTodo, (ToggleTodoCommand(actor=caller, todo_id=todo_id, expected_version=version),)),
        (DeleteTodo, (DeleteTodoCommand(actor=caller, todo_id=todo_id, expected_version=version),)),
    ]


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("version", [1, None])
async def test_someone_elses_todo_is_not_found_by_any_use_case(
    container: AsyncContainer, role: Role, version: int | None
) -> None:
    """Even an unversioned edit gets 404 before 428: the current version is not revealed."""
    todo = await a_stored_todo(container, an_actor())
    stranger = an_actor(role)

    for use_case, args in every_todo_use_case(stranger, todo.id, version):
        with pytest.raises(NotFoundError):
            await call(container, use_case, *args)

    assert (await call(container, GetTodo, an_actor(user_id=todo.owner_id), todo.id)).version == 1


async def test_the_owner_may_use_every_use_case(container: AsyncContainer) -> None:
    owner = an_actor()
    todo = await a_stored_todo(container, owner)

    assert (await call(container, GetTodo, owner, todo.id)).id == todo.id
    await call(container, UpdateTodo, UpdateTodoCommand(actor=owner, todo_id=todo.id, expected_version=1, title="a"))
    await call(container, ReplaceTodo, ReplaceTodoCommand(actor=owner, todo_id=todo.id, expected_version=2, title="b"))
    toggled = await call(container, ToggleTodo, ToggleTodoCommand(actor=owner, todo_id=todo.id))
    assert (toggled.title.value, toggled.completed, toggled.version) == ("b", True, 4)
    await call(container, DeleteTodo, DeleteTodoCommand(actor=owner, todo_id=todo.id))

    with pytest.raises(NotFoundError):
        await call(container, GetTodo, owner, todo.id)


@pytest.mark.parametrize("policy_override", [[replacing_policy(Always(Decision.FORBID))]])
async def test_the_use_cases_refuse_what_the_registered_policy_forbids(container: AsyncContainer) -> None:
    owner = an_actor()
    todo = await a_stored_todo(container, owner)

    for use_case, args in every_todo_use_case(owner, todo.id, 1):
        with pytest.raises(ForbiddenError):
            await call(container, use_case, *args)


class ReadableByAll(Policy[Todo]):
    def decide(self, actor: Actor | None, action: Action, resource: Todo) -> Decision:
        if action is Action.READ:
            return Decision.ALLOW
        return Decision.ALLOW if same_user(actor, resource.owner_id) else Decision.FORBID


@pytest.mark.parametrize("policy_override", [[replacing_policy(ReadableByAll())]])
async def test_the_use_cases_follow_the_registered_policy_not_a_rule_of_their_own(container: AsyncContainer) -> None:
    owner, other = an_actor(), an_actor()
    todo = await a_stored_todo(container, owner)

    assert (await call(container, GetTodo, other, todo.id)).id == todo.id
    with pytest.raises(ForbiddenError):
        await call(container, ToggleTodo, ToggleTodoCommand(actor=other, todo_id=todo.id))
    toggled = await call(container, ToggleTodo, ToggleTodoCommand(actor=owner, todo_id=todo.id))
    assert (toggled.completed, toggled.version) == (True, 2)
