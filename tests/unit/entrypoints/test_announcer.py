"""``ApiAnnouncer``: what each committed event announces, from envelopes the app itself
committed (through the harness), with the HTTP API's data shapes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4

import msgspec
import pytest

from application.broadcast.create_campaign import CreateCampaign, CreateCampaignCommand
from application.broadcast.start_campaign import StartCampaign
from application.identity.create_admin import CreateAdminCommand
from application.identity.delete_user import DeleteUserCommand
from application.identity.log_in import LogInCommand
from application.identity.revoke_session import RevokeSessionCommand
from application.identity.update_user import UpdateUserCommand
from application.posts.attach_image import AttachImage, AttachImageCommand
from application.posts.create_post import CreatePost, CreatePostCommand
from application.posts.edit_post import UpdatePost, UpdatePostCommand
from application.shared.actor import Actor
from application.shared.events import Envelope
from application.shared.realtime import Audience, Notice, Revocation, Signal
from application.todos.create_todo import CreateTodoCommand
from application.todos.delete_todo import DeleteTodoCommand
from application.todos.update_todo import UpdateTodoCommand
from domain.identity.user import Role
from domain.posts.post import Post
from entrypoints.http.posts.schemas import PostView
from entrypoints.http.todos.schemas import TodoView
from entrypoints.realtime.announcer import ApiAnnouncer
from entrypoints.testing.harness import Harness
from tests.support.builders import a_harness
from tests.support.images import a_png

PASSWORD = "a-sturdy-passphrase-42"
MAPPED = {
    "todo.changed",
    "post.published",
    "campaign.progress",
    "session.revoked",
    "user.deleted",
    "user.deactivated",
    "user.role_changed",
}

announce = ApiAnnouncer()


@pytest.fixture
async def app() -> AsyncIterator[Harness]:
    async with a_harness() as harness:
        yield harness


async def committed(app: Harness, name: str) -> list[Envelope]:
    return [envelope for envelope in await app.events() if envelope.name == name]


async def announced(app: Harness, name: str) -> list[Sequence[Signal]]:
    """What each committed event named ``name`` announces, oldest first."""
    return [announce(envelope) for envelope in await committed(app, name)]


def api_shape(view: msgspec.Struct) -> dict[str, Any]:
    """A view as the HTTP API writes it in JSON."""
    shape: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(view))
    return shape


def assert_instants_end_in_z(data: Any, *fields: str) -> None:
    for name in fields:
        value = data[name]
        assert value is None or (isinstance(value, str) and value.endswith("Z")), (name, value)


async def an_admin(app: Harness) -> Actor:
    await app.create_admin(CreateAdminCommand(email="root@example.com", password=PASSWORD))
    pair = await app.log_in(LogInCommand(email="root@example.com", password=PASSWORD))
    return await app.authenticate(pair.access_token)


# --------------------------------------------------------------------------- todos


async def test_a_created_todo_is_announced_to_its_owner_as_the_api_shows_it(app: Harness) -> None:
    owner = await app.sign_up("ada@example.com", PASSWORD)
    due = datetime(2030, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))  # given with an offset
    todo = await app.create_todo(CreateTodoCommand(actor=owner, title="Buy milk", description="oat", due_at=due))
    [[signal]] = await announced(app, "todo.changed")
    assert isinstance(signal, Notice)
    assert (signal.type, signal.audience, signal.user_id) == ("todo.changed", Audience.USER, owner.user_id)
    assert dict(signal.data) == api_shape(TodoView.of(todo))
    assert signal.data["due_at"] == "2030-01-01T10:00:00Z"
    assert_instants_end_in_z(signal.data, "due_at", "created_at", "updated_at")


async def test_an_updated_todo_is_announced_with_its_new_state(app: Harness) -> None:
    owner = await app.sign_up("ada@example.com", PASSWORD)
    todo = await app.create_todo(CreateTodoCommand(actor=owner, title="Buy milk"))
    app.clock.advance(timedelta(minutes=3))
    updated = await app.update_todo(
        UpdateTodoCommand(actor=owner, todo_id=todo.id, expected_version=1, title="Buy oat milk", completed=True)
    )
    [_, [signal]] = await announced(app, "todo.changed")
    assert isinstance(signal, Notice)
    assert signal.user_id == owner.user_id
    assert dict(signal.data) == api_shape(TodoView.of(updated))
    assert (signal.data["title"], signal.data["completed"], signal.data["version"]) == ("Buy oat milk", True, 2)
    assert signal.data["due_at"] is None
    assert signal.data["updated_at"] != signal.data["created_at"]
    assert_instants_end_in_z(signal.data, "created_at", "updated_at")


async def test_a_deleted_todo_is_announced_as_its_id_and_deleted(app: Harness) -> None:
    owner = await app.sign_up("ada@example.com", PASSWORD)
    todo = await app.create_todo(CreateTodoCommand(actor=owner, title="Buy milk"))
    await app.delete_todo(DeleteTodoCommand(actor=owner, todo_id=todo.id))
    [_, [signal]] = await announced(app, "todo.changed")
    assert signal == Notice(
        type="todo.changed", data={"id": str(todo.id), "deleted": True}, audience=Audience.USER, user_id=owner.user_id
    )


# --------------------------------------------------------------------------- posts


async def test_a_post_published_without_an_image_is_announced_to_everyone_as_the_api_shows_it(app: Harness) -> None:
    author = await app.sign_up("ada@example.com", PASSWORD)
    async with app.use(CreatePost) as create:
        post: Post = await create(
            CreatePostCommand(actor=author, title="Hello world", content="Body", tags=["news", "b"], published=True)
        )
    [[signal]] = await announced(app, "post.published")
    assert isinstance(signal, Notice)
    assert (signal.type, signal.audience, signal.user_id) == ("post.published", Audience.EVERYONE, None)
    assert dict(signal.data) == api_shape(PostView.of(post))
    assert signal.data["image_url"] is None and signal.data["published"] is True
    assert_instants_end_in_z(signal.data, "created_at", "updated_at")


async def test_a_draft_published_after_an_image_was_attached_announces_the_images_url(app: Harness) -> None:
    author = await app.sign_up("ada@example.com", PASSWORD)
    async with app.use(CreatePost) as create:
        draft: Post = await create(CreatePostCommand(actor=author, title="Hello world", content="Body"))
    assert await announced(app, "post.published") == []  # a draft is for its author only
    async with app.use(AttachImage) as attach:
        with_image, _ = await attach(AttachImageCommand(actor=author, post_id=draft.id, data=a_png()))
    app.clock.advance(timedelta(seconds=30))
    async with app.use(UpdatePost) as update:
        published: Post = await update(
            UpdatePostCommand(actor=author, post_id=draft.id, expected_version=with_image.version, published=True)
        )
    [[signal]] = await announced(app, "post.published")
    assert isinstance(signal, Notice)
    assert published.image_key is not None
    assert signal.data["image_url"] == f"/files/{published.image_key}"
    assert dict(signal.data) == api_shape(PostView.of(published))
    assert_instants_end_in_z(signal.data, "created_at", "updated_at")


# --------------------------------------------------------------------------- campaigns


async def test_campaign_progress_is_announced_to_admins_as_id_status_and_stats(app: Harness) -> None:
    admin = await an_admin(app)
    async with app.use(CreateCampaign) as create:
        view = await create(CreateCampaignCommand(actor=admin, name="Launch", text="Hi", recipients=[11, 12]))
    async with app.use(StartCampaign) as start:
        await start(admin, view.campaign.id)
    signals = await announced(app, "campaign.progress")
    assert signals, "starting a campaign commits its progress"
    [signal] = signals[-1]
    assert isinstance(signal, Notice)
    assert (signal.type, signal.audience, signal.user_id) == ("campaign.progress", Audience.ADMINS, None)
    assert set(signal.data) == {"id", "status", "stats"}
    assert signal.data["id"] == str(view.campaign.id)
    assert signal.data["status"] == "running"
    assert signal.data["stats"] == {"total": 2, "pending": 2, "sent": 0, "failed": 0}


# --------------------------------------------------------------------------- revocations


async def test_a_revoked_session_revokes_that_session_of_the_user(app: Harness) -> None:
    ada = await app.sign_up("ada@example.com", PASSWORD)
    await app.revoke_session(RevokeSessionCommand(actor=ada, session_id=ada.session_id))
    assert await announced(app, "session.revoked") == [[Revocation(user_id=ada.user_id, session_id=ada.session_id)]]


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("user.role_changed", {"role": Role.ADMIN}),
        ("user.deactivated", {"is_active": False}),
        ("user.deleted", None),
    ],
)
async def test_an_account_deleted_deactivated_or_given_another_role_revokes_every_session(
    app: Harness, name: str, change: dict[str, Any] | None
) -> None:
    admin = await an_admin(app)
    ada = await app.sign_up("ada@example.com", PASSWORD)
    if change is None:
        await app.delete_user(DeleteUserCommand(actor=admin, user_id=ada.user_id))
    else:
        await app.update_user(UpdateUserCommand(actor=admin, user_id=ada.user_id, **change))
    assert await announced(app, name) == [[Revocation(user_id=ada.user_id, session_id=None)]]


# --------------------------------------------------------------------------- everything else


async def test_events_without_a_realtime_meaning_announce_nothing(app: Harness) -> None:
    admin = await an_admin(app)
    ada = await app.sign_up("ada@example.com", PASSWORD)
    async with app.use(CreatePost) as create:
        await create(CreatePostCommand(actor=ada, title="A draft", content="Body"))
    await app.update_user(UpdateUserCommand(actor=admin, user_id=ada.user_id, display_name="Ada"))
    unmapped = [envelope for envelope in await app.events() if envelope.name not in MAPPED]
    names = {envelope.name for envelope in unmapped}
    assert {"user.registered", "session.started", "post.changed"} <= names
    assert [(envelope.name, announce(envelope)) for envelope in unmapped] == [(e.name, ()) for e in unmapped]


def test_an_unknown_event_name_announces_nothing() -> None:
    envelope = Envelope(
        event_id=uuid4(),
        name="todo.changed.v2",
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
        aggregate_type="todo",
        aggregate_id=str(UUID(int=1)),
        actor_id=None,
        request_id=None,
        payload={"owner_id": str(UUID(int=2))},
    )
    assert len(announce(envelope)) == 0
