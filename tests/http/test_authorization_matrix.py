"""The authorization matrix (issue 10, "Policies"): every route of the app, each caller.

The routes come from the app ``create_app`` builds; ``TABLE`` holds one row per
``(METHOD, path template)`` with what each caller gets, after API.md:

- ``anonymous``: no ``Authorization`` header;
- ``user``: a signed-in non-admin account that is *not* the one the route is about;
- ``owner``: the owner or self: the account the route is about (what that is, per route, is
  the row's ``owner`` text); on a route about no particular resource it is just a signed-in
  non-admin acting on its own account;
- ``admin``: a signed-in admin who is not the owner.

A route of the app without a row fails ``test_every_route_has_a_row``; so does a row whose
route is gone. Each ``(route, caller)`` case then runs against the real app on PostgreSQL.
Bodies are minimal and valid, so that the answer is the authorization decision and not a 422.
Every case has its own accounts and resources (``Scene``): a case that logs out, changes a
password or deletes an account cannot disturb another. One app serves the whole module.
"""

from __future__ import annotations

import string
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import httpx
import pytest
import pytest_asyncio
from dishka import Scope
from litestar import Litestar, Request
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute

from adapters.system.clock import FixedClock
from application.identity.create_admin import CreateAdmin, CreateAdminCommand
from entrypoints.container import build_container
from entrypoints.http.app import create_app, http_providers
from tests.http.conftest import API, PASSWORD, Api, fixed_clock_provider
from tests.http.helpers import PRIVATE_VIEW_KEYS, assert_problem, assert_unauthorized, claims_of
from tests.support.builders import T0
from tests.support.images import a_png
from tests.support.services import truncate_pg
from tests.support.settings import test_settings

CALLERS = ("anonymous", "user", "owner", "admin")
PUBLIC_VIEW_KEYS = {"id", "display_name", "created_at"}
NEW_PASSWORD = "another-sturdy-passphrase-77"


# ---------------------------------------------------------------- outcomes


@dataclass(frozen=True)
class Expect:
    """What a caller gets: ``statuses`` (``None``: any 2xx or 3xx); ``keys``: the exact keys
    of the JSON body, for routes whose view depends on the caller."""

    label: str
    statuses: frozenset[int] | None = None
    keys: frozenset[str] | None = None

    def matches(self, status: int) -> bool:
        return 200 <= status < 400 if self.statuses is None else status in self.statuses


ALLOWED = Expect("allowed")
DENIED = Expect("denied-401", frozenset({401}))
FORBIDDEN = Expect("denied-403", frozenset({403}))
HIDDEN = Expect("hidden-404", frozenset({404}))
PUBLIC_VIEW = Expect("allowed, public view", frozenset({200}), frozenset(PUBLIC_VIEW_KEYS))
PRIVATE_VIEW = Expect("allowed, private view", frozenset({200}), frozenset(PRIVATE_VIEW_KEYS))


def reached(*statuses: int) -> Expect:
    """Past authorization, then refused on the request's own merits (an unknown id, a bogus
    link token): never 401 or 403."""
    assert not {401, 403} & set(statuses)
    return Expect(f"reached-{'/'.join(map(str, statuses))}", frozenset(statuses))


# ---------------------------------------------------------------- requests

Body = Callable[["Scene"], Awaitable[dict[str, Any]]]
"""The httpx keyword arguments (``json``, ``data``, ``headers``) of a case's request."""


async def no_body(_: Scene) -> dict[str, Any]:
    return {}


def json_body(payload: dict[str, Any], **headers: str) -> Body:
    async def body(_: Scene) -> dict[str, Any]:
        return {"json": payload, "headers": headers}

    return body


IF_MATCH_FIRST = {"If-Match": '"1"'}  # every case's todo is fresh: version 1


async def image_body(_: Scene) -> dict[str, Any]:
    return {"files": {"file": ("a.png", a_png(), "image/png")}}


async def register_body(scene: Scene) -> dict[str, Any]:
    return {"json": {"email": scene.email("newcomer"), "password": PASSWORD}}


async def login_body(scene: Scene) -> dict[str, Any]:
    return {"json": {"email": (await scene.account("owner")).email, "password": PASSWORD}}


async def token_form(scene: Scene) -> dict[str, Any]:
    return {"data": {"username": (await scene.account("owner")).email, "password": PASSWORD}}


async def refresh_body(scene: Scene) -> dict[str, Any]:
    """A refresh token of a session of its own, so rotating it touches no other case."""
    pair = await scene.api.tokens((await scene.account("owner")).email)
    return {"json": {"refresh_token": pair["refresh_token"]}}


async def reset_body(scene: Scene) -> dict[str, Any]:
    return {"json": {"email": (await scene.account("owner")).email}}


# ---------------------------------------------------------------- the table


@dataclass(frozen=True)
class Row:
    owner: str
    """What "owner or self" means on this route."""
    anonymous: Expect
    user: Expect
    owner_or_self: Expect
    admin: Expect
    body: Body = no_body

    def expect(self, caller: str) -> Expect:
        return {"anonymous": self.anonymous, "user": self.user, "owner": self.owner_or_self, "admin": self.admin}[
            caller
        ]


def public(expect: Expect = ALLOWED, body: Body = no_body, *, owner: str = "nobody: a public route") -> Row:
    """The same answer for every caller: a bearer token neither helps nor hurts."""
    return Row(owner, expect, expect, expect, expect, body)


def signed_in(body: Body = no_body, *, owner: str = "the caller itself: the route acts on its own account") -> Row:
    """Any signed-in caller, on its own account or data."""
    return Row(owner, DENIED, ALLOWED, ALLOWED, ALLOWED, body)


def admin_only(admin: Expect = ALLOWED, body: Body = no_body, *, owner: str) -> Row:
    return Row(owner, DENIED, FORBIDDEN, FORBIDDEN, admin, body)


def owner_only(body: Body = no_body) -> Row:
    """Each user sees only their own todos: someone else's, admins included, is not found."""
    return Row("the todo's owner", DENIED, HIDDEN, ALLOWED, HIDDEN, body)


TODO = f"{API}/todos/{{todo_id}}"
POST = f"{API}/posts/{{post_id}}"
CAMPAIGN = f"{API}/campaigns/{{campaign_id}}"
POST_AUTHOR = "the post's author (every case's post is a fresh draft: hidden from other users)"
USER = f"{API}/users/{{user_id}}"
NO_OWNER_ADMIN = "nobody: admin only; a non-admin (owner or not) is forbidden"

TABLE: dict[tuple[str, str], Row] = {
    # ---- operations and docs (API.md "Files and operations"): public
    ("GET", "/health"): public(),
    ("GET", "/health/ready"): public(),  # 200 with both checks; 503 only when PostgreSQL is down
    ("GET", "/metrics"): public(),  # for the internal network (API.md); PORTSIDE_METRICS=off removes it
    ("GET", "/openapi.json"): public(),
    ("GET", "/docs"): public(),
    ("GET", "/docs/openapi.json"): public(),
    ("GET", "/docs/assets/{asset}"): public(),
    # Litestar's answer to any other path under /docs (no other render plugin): 404 for all
    ("GET", "/docs/{path}"): public(reached(404)),
    # ---- identity (API.md "Identity")
    ("POST", f"{API}/auth/register"): public(body=register_body),
    ("POST", f"{API}/auth/login"): public(body=login_body),
    ("POST", f"{API}/auth/token"): public(body=token_form),
    ("POST", f"{API}/auth/refresh"): public(body=refresh_body),
    ("POST", f"{API}/auth/password-reset"): public(body=reset_body),
    # an unknown link token: 400 for everyone, the bearer token changes nothing
    ("POST", f"{API}/auth/password-reset/confirm"): public(
        reached(400), json_body({"token": "not-a-token", "new_password": NEW_PASSWORD})
    ),
    ("POST", f"{API}/auth/verify-email"): public(reached(400), json_body({"token": "not-a-token"})),
    ("POST", f"{API}/auth/logout"): signed_in(json_body({"all_sessions": False})),
    ("GET", f"{API}/auth/me"): signed_in(),
    ("POST", f"{API}/auth/password"): signed_in(
        json_body({"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    ),
    ("GET", f"{API}/auth/sessions"): signed_in(),
    ("POST", f"{API}/auth/verify-email/resend"): signed_in(),
    # someone else's session is "not found", for admins too (404 never reveals it)
    ("DELETE", f"{API}/auth/sessions/{{session_id}}"): Row(
        "the account the session belongs to (the session of the owner's own token)", DENIED, HIDDEN, ALLOWED, HIDDEN
    ),
    # ---- users (API.md "Users")
    ("GET", f"{API}/users"): admin_only(owner=NO_OWNER_ADMIN),
    ("GET", USER): Row("the account itself", DENIED, PUBLIC_VIEW, PRIVATE_VIEW, PRIVATE_VIEW),
    ("PATCH", f"{API}/users/me"): signed_in(json_body({"display_name": "Renamed"})),
    # admin only, the account itself included: self-service is PATCH /users/me
    ("PATCH", USER): admin_only(body=json_body({"display_name": "Renamed"}), owner="the account itself"),
    ("DELETE", USER): Row("the account itself", DENIED, FORBIDDEN, ALLOWED, ALLOWED),
    # ---- background jobs (API.md "Background jobs", admin)
    ("GET", f"{API}/jobs"): admin_only(owner=NO_OWNER_ADMIN),
    # a random job id: the admin gets past authorization to "no such job" (or 409, not failed)
    ("POST", f"{API}/jobs/{{job_id}}/retry"): admin_only(reached(404, 409), owner=NO_OWNER_ADMIN),
    # ---- audit log (API.md "Audit log")
    ("GET", f"{API}/audit"): admin_only(owner=NO_OWNER_ADMIN),
    ("GET", f"{API}/users/me/audit"): signed_in(),
    # ---- todos (API.md "Todos": each user sees only their own)
    ("GET", f"{API}/todos"): signed_in(owner="the caller itself: it lists its own todos"),
    ("POST", f"{API}/todos"): signed_in(
        json_body({"title": "Buy milk"}), owner="the caller itself: it creates its own todo"
    ),
    ("GET", TODO): owner_only(),
    ("PUT", TODO): owner_only(json_body({"title": "Buy oat milk", "completed": False}, **IF_MATCH_FIRST)),
    ("PATCH", TODO): owner_only(json_body({"title": "Buy oat milk"}, **IF_MATCH_FIRST)),
    ("PATCH", f"{TODO}/toggle"): owner_only(json_body({}, **IF_MATCH_FIRST)),
    ("DELETE", TODO): owner_only(json_body({}, **IF_MATCH_FIRST)),
    # ---- posts (API.md "Posts"): a draft is its author's (an admin sees and deletes it,
    # but only the author edits); published posts are public
    ("GET", f"{API}/posts"): public(),
    ("GET", f"{API}/tags"): public(),
    ("GET", f"{API}/posts/export"): signed_in(owner="the caller itself: it exports what it may see"),
    ("POST", f"{API}/posts"): signed_in(
        json_body({"title": "Hello world", "content": "Body"}), owner="the caller itself: it writes its own post"
    ),
    ("GET", POST): Row(POST_AUTHOR, HIDDEN, HIDDEN, ALLOWED, ALLOWED),
    ("GET", f"{API}/posts/by-slug/{{slug}}"): Row(POST_AUTHOR, HIDDEN, HIDDEN, ALLOWED, ALLOWED),
    ("PUT", POST): Row(
        POST_AUTHOR,
        DENIED,
        HIDDEN,
        ALLOWED,
        FORBIDDEN,
        json_body({"title": "Renamed", "content": "Body", "tags": [], "published": False}, **IF_MATCH_FIRST),
    ),
    ("PATCH", POST): Row(
        POST_AUTHOR, DENIED, HIDDEN, ALLOWED, FORBIDDEN, json_body({"title": "Renamed"}, **IF_MATCH_FIRST)
    ),
    ("DELETE", POST): Row(POST_AUTHOR, DENIED, HIDDEN, ALLOWED, ALLOWED, json_body({}, **IF_MATCH_FIRST)),
    ("POST", f"{POST}/image"): Row(POST_AUTHOR, DENIED, HIDDEN, ALLOWED, FORBIDDEN, image_body),
    # ---- campaigns, the bot and its chats (API.md "Broadcast campaigns", "Telegram bot and
    # chat"): admins only; a random id gets the admin past authorization to "not found"
    ("POST", f"{API}/campaigns"): admin_only(
        body=json_body({"name": "Launch", "text": "Hello", "recipients": [1, 2]}), owner=NO_OWNER_ADMIN
    ),
    ("GET", f"{API}/campaigns"): admin_only(owner=NO_OWNER_ADMIN),
    ("GET", CAMPAIGN): admin_only(reached(404), owner=NO_OWNER_ADMIN),
    ("DELETE", CAMPAIGN): admin_only(reached(404), owner=NO_OWNER_ADMIN),
    ("POST", f"{CAMPAIGN}/start"): admin_only(reached(404), owner=NO_OWNER_ADMIN),
    ("POST", f"{CAMPAIGN}/cancel"): admin_only(reached(404), owner=NO_OWNER_ADMIN),
    ("GET", f"{CAMPAIGN}/deliveries"): admin_only(reached(404), owner=NO_OWNER_ADMIN),
    # no webhook secret is configured here: the webhook does not exist, for everyone
    ("POST", f"{API}/bot/webhook"): public(reached(404), json_body({"update_id": 1})),
    ("GET", f"{API}/bot/status"): admin_only(owner=NO_OWNER_ADMIN),
    ("GET", f"{API}/chat/threads"): admin_only(owner=NO_OWNER_ADMIN),
    ("GET", f"{API}/chat/threads/{{thread_id}}/messages"): admin_only(reached(404), owner=NO_OWNER_ADMIN),
    ("POST", f"{API}/chat/threads/{{thread_id}}/messages"): admin_only(
        reached(404), json_body({"text": "Hi"}), owner=NO_OWNER_ADMIN
    ),
    ("GET", f"{API}/chat/messages/{{message_id}}"): admin_only(reached(404), owner=NO_OWNER_ADMIN),
    # ---- files (API.md "Files and operations"): uploads need a bearer, downloads are public
    ("POST", f"{API}/files"): signed_in(image_body, owner="the caller itself: it uploads its own file"),
    ("GET", "/files/{key}"): public(owner="nobody: files are public by their random key"),
    # ---- realtime (API.md "Realtime"): any signed-in caller, authenticated in the socket's
    # handshake, not by headers; its cases run against a real server in tests/e2e/test_realtime.py
    ("WebSocketRoute", f"{API}/ws"): signed_in(owner="the caller itself: a socket gets its own user's events"),
}


# ---------------------------------------------------------------- the app's routes


def _automatic_options(handler: HTTPRouteHandler) -> bool:
    """Litestar's own OPTIONS handler, on every path (answered in ``_before_request``)."""
    return handler.http_methods == {"OPTIONS"} and handler.handler_name == "options_handler"


def routes_of(app: Litestar) -> set[tuple[str, str]]:
    """``(METHOD, path template)`` of every route handler of ``app``; a route that is not HTTP
    (a websocket, a mounted ASGI app) is ``(its kind, path)``, so that it needs a row too."""
    routes: set[tuple[str, str]] = set()
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                if not _automatic_options(handler):
                    routes.update((method, route.path_format) for method in handler.http_methods)
        else:
            routes.add((type(route).__name__, route.path_format))
    return routes


# ---------------------------------------------------------------- the world


@dataclass
class World:
    api: Api
    app: Litestar


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(pg_database: str) -> AsyncIterator[World]:
    """One app (as ``running_api`` builds it) for the module, on the emptied database."""
    await truncate_pg(pg_database)
    settings = test_settings(pg_database)
    clock = FixedClock(T0)
    container = build_container(settings, *http_providers(), fixed_clock_provider(clock))
    app = create_app(settings, container)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("203.0.113.7", 50000)), base_url="http://testserver"
        ) as client:
            yield World(Api(client=client, clock=clock, settings=settings, container=container), app)
    finally:
        await container.close()


@dataclass
class Account:
    email: str
    id: str
    access_token: str
    session_id: str


@dataclass
class Scene:
    """One case's accounts and resources, all fresh, made when first asked for."""

    api: Api
    tag: str = field(default_factory=lambda: uuid4().hex[:12])
    _accounts: dict[str, Account] = field(default_factory=dict)
    _todo_id: str | None = None
    _post: dict[str, Any] | None = None
    _file_key: str | None = None

    def email(self, who: str) -> str:
        return f"{who}-{self.tag}@example.com"

    async def account(self, who: str) -> Account:
        """``owner``, ``user`` (another account) or ``admin``: registered (the admin through
        the CreateAdmin use case, as ``portside create-admin`` does) and signed in."""
        if who not in self._accounts:
            email = self.email(who)
            if who == "admin":
                async with self.api.container(scope=Scope.REQUEST, context={Request: None}) as request:
                    await (await request.get(CreateAdmin))(CreateAdminCommand(email=email, password=PASSWORD))
            pair = await self.api.tokens(email)
            claims = claims_of(pair["access_token"])
            assert claims["role"] == ("admin" if who == "admin" else "user"), claims
            self._accounts[who] = Account(email, claims["sub"], pair["access_token"], claims["sid"])
        return self._accounts[who]

    async def todo_id(self) -> str:
        if self._todo_id is None:
            owner = await self.account("owner")
            response = await self.api.client.post(
                f"{API}/todos", json={"title": "Buy milk"}, headers=self.api.bearer(owner.access_token)
            )
            assert response.status_code == 201, response.text
            self._todo_id = str(response.json()["id"])
        return self._todo_id

    async def post(self) -> dict[str, Any]:
        """The owner's draft."""
        if self._post is None:
            owner = await self.account("owner")
            response = await self.api.client.post(
                f"{API}/posts",
                json={"title": f"Draft {self.tag}", "content": "Body"},
                headers=self.api.bearer(owner.access_token),
            )
            assert response.status_code == 201, response.text
            self._post = response.json()
        return self._post

    async def file_key(self) -> str:
        if self._file_key is None:
            owner = await self.account("owner")
            response = await self.api.client.post(
                f"{API}/files", **await image_body(self), headers=self.api.bearer(owner.access_token)
            )
            assert response.status_code == 201, response.text
            self._file_key = str(response.json()["url"]).rsplit("/", 1)[1]
        return self._file_key

    async def path_parameter(self, name: str) -> str:
        if name == "todo_id":
            return await self.todo_id()
        if name == "post_id":
            return str((await self.post())["id"])
        if name == "slug":
            return str((await self.post())["slug"])
        if name == "key":
            return await self.file_key()
        if name == "user_id":
            return (await self.account("owner")).id
        if name == "session_id":
            return (await self.account("owner")).session_id
        if name in ("job_id", "campaign_id", "thread_id", "message_id"):
            return str(uuid4())
        if name == "path":
            return "nothing-here"
        if name == "asset":
            return "init.js"
        raise AssertionError(f"no value for the path parameter {{{name}}}: teach Scene.path_parameter")

    async def url(self, template: str) -> str:
        names = [name for _, name, _, _ in string.Formatter().parse(template) if name]
        return template.format(**{name: await self.path_parameter(name) for name in names})


# ---------------------------------------------------------------- the tests


@pytest.mark.asyncio(loop_scope="module")
async def test_every_route_has_a_row(world: World) -> None:
    routes = routes_of(world.app)
    missing = sorted(routes - TABLE.keys())
    stale = sorted(TABLE.keys() - routes)
    assert not missing and not stale, (
        "the authorization matrix is out of step with the app's routes:\n"
        + "".join(f"  no row for {method} {path}: add one to TABLE\n" for method, path in missing)
        + "".join(f"  a row for {method} {path}, which the app no longer has: remove it\n" for method, path in stale)
    )


CASES = [
    pytest.param(key, caller, id=f"{key[0]} {key[1]} as {caller}")
    for key in TABLE
    if key[0] != "WebSocketRoute"  # an HTTP client cannot open one: see its row
    for caller in CALLERS
]


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(("key", "caller"), CASES)
async def test_authorization(world: World, key: tuple[str, str], caller: str) -> None:
    method, template = key
    row = TABLE[key]
    expect = row.expect(caller)
    scene = Scene(world.api)
    url = await scene.url(template)
    kwargs = await row.body(scene)
    headers = dict(kwargs.pop("headers", None) or {})
    if caller != "anonymous":
        headers.update(world.api.bearer((await scene.account(caller)).access_token))

    response = await world.api.client.request(method, url, headers=headers, **kwargs)

    assert expect.matches(response.status_code), (
        f"{method} {template} as {caller} (owner or self: {row.owner}): "
        f"expected {expect.label}, got {response.status_code}: {response.text[:300]}"
    )
    if expect is DENIED:
        assert_unauthorized(response)
    elif response.status_code in (403, 404) and template.startswith(API):
        assert_problem(response, response.status_code)
    if expect.keys is not None:
        assert set(response.json()) == expect.keys, response.text
