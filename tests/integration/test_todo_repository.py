"""The todo repository's contract on every implementation: ordering, filters, paging, CAS."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from application.todos.ports import TodoQuery, TodoSort
from domain.shared.errors import VersionMismatchError
from domain.shared.pagination import PageRequest
from domain.todos.todo import Title, Todo, TodoId
from tests.integration.conftest import UowFactory
from tests.integration.test_identity_repositories import a_user, stored
from tests.support.builders import T0

TITLES = ["beta", "Alpha", "alpha", "Émile", "zeta", "Zed"]


async def seeded(new_uow: UowFactory) -> tuple[object, list[Todo]]:
    owner, other = a_user(), a_user("other@example.com")
    await stored(new_uow, owner)
    await stored(new_uow, other)
    made = []
    async with new_uow() as uow:
        for n, title in enumerate(TITLES):
            todo = Todo.create(
                todo_id=TodoId(uuid4()),
                owner_id=owner.id,
                title=Title(title),
                description="",
                due_at=None if n % 3 == 0 else T0 + timedelta(days=len(TITLES) - n),
                now=T0 + timedelta(minutes=n),
            )
            todo.completed = n % 2 == 1
            await uow.todos.add(todo)
            made.append(todo)
        await uow.todos.add(
            Todo.create(
                todo_id=TodoId(uuid4()), owner_id=other.id, title=Title("not mine"), description="", due_at=None, now=T0
            )
        )
        await uow.commit()
    return owner, made


async def listed(new_uow: UowFactory, owner: object, **query: object) -> list[str]:
    async with new_uow() as uow:
        page = await uow.todos.list(owner.id, TodoQuery(**query))  # type: ignore[arg-type,attr-defined]
    return [t.title.value for t in page.items]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        (TodoSort.CREATED, TITLES),
        (TodoSort.CREATED_DESC, TITLES[::-1]),
        (TodoSort.TITLE, sorted(TITLES)),
        (TodoSort.TITLE_DESC, sorted(TITLES, reverse=True)),
        (TodoSort.DUE, None),  # derived from the data below
    ],
)
async def test_sort_orders_match_across_stores(new_uow: UowFactory, sort: TodoSort, expected: list[str] | None) -> None:
    owner, made = await seeded(new_uow)
    if expected is None:  # derive the due-date order from the data: dated ascending, then undated
        dated = sorted((t for t in made if t.due_at), key=lambda t: t.due_at)  # type: ignore[arg-type,return-value]
        undated = sorted((t for t in made if not t.due_at), key=lambda t: t.id)
        expected = [t.title.value for t in dated + undated]
    assert await listed(new_uow, owner, sort=sort) == expected


async def test_due_desc_keeps_undated_last(new_uow: UowFactory) -> None:
    owner, made = await seeded(new_uow)
    dated = sorted((t for t in made if t.due_at), key=lambda t: t.due_at, reverse=True)  # type: ignore[arg-type,return-value]
    undated = sorted((t for t in made if not t.due_at), key=lambda t: t.id, reverse=True)
    assert await listed(new_uow, owner, sort=TodoSort.DUE_DESC) == [t.title.value for t in dated + undated]


async def test_filter_and_paging_count_all_matches(new_uow: UowFactory) -> None:
    owner, made = await seeded(new_uow)
    done = [t.title.value for t in made if t.completed]
    async with new_uow() as uow:
        first = await uow.todos.list(owner.id, TodoQuery(completed=True, sort=TodoSort.CREATED, page=PageRequest(1, 2)))  # type: ignore[attr-defined]
        last = await uow.todos.list(owner.id, TodoQuery(completed=True, sort=TodoSort.CREATED, page=PageRequest(2, 2)))  # type: ignore[attr-defined]
        past = await uow.todos.list(owner.id, TodoQuery(completed=False, page=PageRequest(5, 2)))  # type: ignore[attr-defined]
    assert [t.title.value for t in first.items] + [t.title.value for t in last.items] == done
    assert (first.total, first.pages, last.total) == (3, 2, 3)
    assert (past.items, past.total) == ([], 3)


async def test_compare_and_set_refuses_a_lost_update(new_uow: UowFactory) -> None:
    _, made = await seeded(new_uow)
    target = made[0]
    async with new_uow() as uow:
        mine, theirs, stale = [await uow.todos.get(target.id) for _ in range(3)]
        assert mine is not None and theirs is not None and stale is not None
        mine.toggle(expected=1, now=T0)
        theirs.edit(expected=1, now=T0, title=Title("theirs"))
        await uow.todos.save(mine)
        with pytest.raises(VersionMismatchError) as error:
            await uow.todos.save(theirs)
        assert error.value.actual == 2
        with pytest.raises(VersionMismatchError):
            await uow.todos.delete(stale)
        await uow.commit()
    async with new_uow() as uow:
        current = await uow.todos.get(target.id)
    assert current is not None and (current.title.value, current.version) == ("beta", 2)
