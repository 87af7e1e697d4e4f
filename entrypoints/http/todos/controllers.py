"""``/api/v1/todos``: each user's own todos, with ETags and optimistic locking."""

from __future__ import annotations

from uuid import UUID

from dishka.integrations.litestar import FromDishka, inject
from litestar import Controller, Response, delete, get, patch, post, put
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT, HTTP_304_NOT_MODIFIED
from msgspec import UNSET

from application.shared.actor import Actor
from application.todos.create_todo import CreateTodo, CreateTodoCommand
from application.todos.delete_todo import DeleteTodo, DeleteTodoCommand
from application.todos.get_todo import GetTodo
from application.todos.list_todos import ListTodos, ListTodosCommand
from application.todos.ports import TodoSort
from application.todos.replace_todo import ReplaceTodo, ReplaceTodoCommand
from application.todos.toggle_todo import ToggleTodo, ToggleTodoCommand
from application.todos.update_todo import UpdateTodo, UpdateTodoCommand
from domain.todos.todo import Todo, TodoId
from entrypoints.http.auth import BEARER_SECURITY, READS_FIRST
from entrypoints.http.conditional import IfMatch, IfNoneMatch, etag, expected_version, none_match
from entrypoints.http.pages import PageNumber, PageSize
from entrypoints.http.problems import problem_responses
from entrypoints.http.todos.schemas import TodoCreate, TodoPage, TodoPatch, TodoReplace, TodoView

__all__ = ["TodoController"]


def _with_etag(todo: Todo, status_code: int = 200) -> Response[TodoView]:
    return Response(TodoView.of(todo), status_code=status_code, headers={"ETag": etag(todo.version)})


class TodoController(Controller):
    path = "/todos"
    tags = ["todos"]
    security = BEARER_SECURITY

    @get(
        "/",
        summary="List your todos",
        description=ListTodos.__doc__,
        responses=problem_responses(401, 422),
        opt=READS_FIRST,
    )
    @inject
    async def list_todos(
        self,
        actor: FromDishka[Actor],
        list_todos: FromDishka[ListTodos],
        completed: FromQuery[bool | None] = None,
        sort: FromQuery[TodoSort] = TodoSort.CREATED_DESC,
        page: PageNumber = 1,
        size: PageSize = 20,
    ) -> TodoPage:
        result = await list_todos(ListTodosCommand(actor=actor, completed=completed, sort=sort, page=page, size=size))
        return TodoPage.of(result)

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        summary="Create a todo",
        description=CreateTodo.__doc__,
        responses=problem_responses(400, 401, 422),
        opt=READS_FIRST,
    )
    @inject
    async def create_todo(
        self, data: JSONBody[TodoCreate], actor: FromDishka[Actor], create: FromDishka[CreateTodo]
    ) -> Response[TodoView]:
        todo = await create(
            CreateTodoCommand(actor=actor, title=data.title, description=data.description, due_at=data.due_at)
        )
        response = _with_etag(todo, HTTP_201_CREATED)
        response.headers["Location"] = f"/api/v1/todos/{todo.id}"
        return response

    @get(
        "/{todo_id:uuid}",
        summary="Read a todo",
        description="200 with a strong ETag; 304 when `If-None-Match` names the current version.",
        responses={304: ResponseSpec(data_container=None, description="Not modified"), **problem_responses(401, 404)},
        opt=READS_FIRST,
    )
    @inject
    async def get_todo(
        self,
        todo_id: FromPath[UUID],
        actor: FromDishka[Actor],
        get_todo: FromDishka[GetTodo],
        if_none_match: IfNoneMatch = None,
    ) -> Response[TodoView | None]:
        todo = await get_todo(actor, TodoId(todo_id))
        if none_match(if_none_match, todo.version):
            return Response(None, status_code=HTTP_304_NOT_MODIFIED, headers={"ETag": etag(todo.version)})
        return _with_etag(todo)  # type: ignore[return-value]

    @put(
        "/{todo_id:uuid}",
        summary="Replace a todo",
        description=ReplaceTodo.__doc__,
        responses=problem_responses(400, 401, 404, 412, 422, 428),
        opt=READS_FIRST,
    )
    @inject
    async def replace_todo(
        self,
        todo_id: FromPath[UUID],
        data: JSONBody[TodoReplace],
        actor: FromDishka[Actor],
        replace: FromDishka[ReplaceTodo],
        if_match: IfMatch = None,
    ) -> Response[TodoView]:
        todo = await replace(
            ReplaceTodoCommand(
                actor=actor,
                todo_id=TodoId(todo_id),
                expected_version=expected_version(if_match, data.version),
                title=data.title,
                description=data.description,
                completed=data.completed,
                due_at=data.due_at,
            )
        )
        return _with_etag(todo)

    @patch(
        "/{todo_id:uuid}",
        summary="Edit a todo",
        description=UpdateTodo.__doc__,
        responses=problem_responses(400, 401, 404, 412, 422, 428),
        opt=READS_FIRST,
    )
    @inject
    async def update_todo(
        self,
        todo_id: FromPath[UUID],
        data: JSONBody[TodoPatch],
        actor: FromDishka[Actor],
        update: FromDishka[UpdateTodo],
        if_match: IfMatch = None,
    ) -> Response[TodoView]:
        todo = await update(
            UpdateTodoCommand(
                actor=actor,
                todo_id=TodoId(todo_id),
                expected_version=expected_version(if_match, data.version),
                title=None if data.title is UNSET else data.title,
                description=None if data.description is UNSET else data.description,
                completed=None if data.completed is UNSET else data.completed,
                due_at=None if data.due_at is UNSET else data.due_at,
                clear_due_at=data.due_at is None,
            )
        )
        return _with_etag(todo)

    @patch(
        "/{todo_id:uuid}/toggle",
        summary="Flip completed",
        description=ToggleTodo.__doc__,
        responses=problem_responses(401, 404, 412),
        opt=READS_FIRST,
    )
    @inject
    async def toggle_todo(
        self,
        todo_id: FromPath[UUID],
        actor: FromDishka[Actor],
        toggle: FromDishka[ToggleTodo],
        if_match: IfMatch = None,
    ) -> Response[TodoView]:
        todo = await toggle(
            ToggleTodoCommand(actor=actor, todo_id=TodoId(todo_id), expected_version=expected_version(if_match, None))
        )
        return _with_etag(todo)

    @delete(
        "/{todo_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        summary="Delete a todo",
        description=DeleteTodo.__doc__,
        responses=problem_responses(401, 404, 412),
        opt=READS_FIRST,
    )
    @inject
    async def delete_todo(
        self,
        todo_id: FromPath[UUID],
        actor: FromDishka[Actor],
        delete_todo: FromDishka[DeleteTodo],
        if_match: IfMatch = None,
    ) -> None:
        await delete_todo(
            DeleteTodoCommand(actor=actor, todo_id=TodoId(todo_id), expected_version=expected_version(if_match, None))
        )
