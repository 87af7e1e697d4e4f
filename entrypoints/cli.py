"""``portside``: the one console script for operators."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import importlib.util
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import msgspec
from dishka import Scope

from application.errors import AlreadyExistsError, ApplicationError
from application.identity.create_admin import CreateAdmin, CreateAdminCommand, CreateAdminResult
from domain.shared.errors import DomainError
from entrypoints.logging import configure_logging
from entrypoints.migrations import migrate
from entrypoints.settings import MEMORY_DATABASE_URL, Settings, SettingsError, load_settings, startup_warnings

__all__ = ["main"]


class _UsageError(Exception):
    """The command line cannot be acted on; the message says what to do instead."""


def _warn_at_startup(settings: Settings) -> None:
    for line in startup_warnings(settings):
        print(f"portside: warning: {line}", file=sys.stderr)


def _raise_open_files_limit() -> None:
    """Up to the hard limit: each WebSocket holds a descriptor (10,000 of them, API.md)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@contextlib.contextmanager
def _shared_metrics(settings: Settings, workers: int) -> Iterator[None]:
    """With several worker processes, each writes its metrics under one directory that
    ``/metrics`` sums (prometheus-client's multiprocess mode): ``PROMETHEUS_MULTIPROC_DIR``
    if the operator set it (emptied first: old processes' values would count), else a new
    temporary one, removed at exit. Set before any worker imports prometheus-client, and
    this process never imports it (commands import the container lazily): its values
    would be made before the setting and land in the sums as a third process."""
    if not settings.metrics or workers < 2:
        yield
        return
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    directory = Path(given) if given else Path(tempfile.mkdtemp(prefix="portside-metrics-"))
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    try:
        yield
    finally:
        if not given:
            del os.environ["PROMETHEUS_MULTIPROC_DIR"]
            shutil.rmtree(directory, ignore_errors=True)


def _serve(settings: Settings, _: argparse.Namespace) -> int:
    _warn_at_startup(settings)
    _raise_open_files_limit()
    # Each worker process would hold its own memory: one process keeps one state.
    workers = 1 if settings.database_url == MEMORY_DATABASE_URL else settings.workers
    with _shared_metrics(settings, workers):
        _run_uvicorn(settings, workers)
    return 0


def _run_uvicorn(settings: Settings, workers: int) -> None:
    import uvicorn

    uvicorn.run(
        "entrypoints.http.asgi:app_factory",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        # /api/v1/ws: pings drop a peer that stopped answering; clients send only their auth
        # message, so 64 KiB bounds what one may send.
        ws="websockets-sansio",
        ws_ping_interval=float(settings.ws_ping_interval),
        ws_ping_timeout=float(settings.ws_ping_interval),
        ws_max_size=65_536,
        # A zlib context per socket would more than double its memory, and compress every
        # broadcast once per socket: events are small JSON.
        ws_per_message_deflate=False,
        access_log=False,  # RequestContext writes the access line
        log_config=None,
        # X-Forwarded-For and -Proto only from the proxies named; nobody's by default, so a
        # client cannot choose the address its throttles and audit entries see.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=",".join(settings.trusted_proxies) or None,
        server_header=False,
        # uvicorn's default closes a keep-alive connection idle for 5 s: a client that thinks
        # longer between requests (a person) finds it closed. 75 s, nginx's default.
        timeout_keep_alive=75,
    )


def _migrate(settings: Settings, _: argparse.Namespace) -> int:
    asyncio.run(migrate(settings.database_url))
    if settings.database_url == MEMORY_DATABASE_URL:
        print("memory:// has no schema: nothing to migrate")
        return 0
    print("database is at the latest migration")
    return 0


def _admin_password(args: argparse.Namespace) -> str:
    """The password from exactly one source: ``--password-stdin``, ``--password`` or a prompt."""
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise _UsageError("--password-stdin: no password on standard input")
        return password
    if args.password is not None:
        print(
            "portside: warning: --password leaves the password in the process list and shell history; "
            "prefer --password-stdin or the prompt",
            file=sys.stderr,
        )
        return str(args.password)
    if not sys.stdin.isatty():
        raise _UsageError("no password given: pipe it with --password-stdin, or run in a terminal to be asked")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != password:
        raise _UsageError("the passwords do not match")
    return password


async def _run_create_admin(settings: Settings, command: CreateAdminCommand) -> CreateAdminResult:
    from entrypoints.container import build_container

    container = build_container(settings)
    try:
        async with container(scope=Scope.REQUEST) as request:
            create_admin = await request.get(CreateAdmin)
            return await create_admin(command)
    finally:
        await container.close()


def _create_admin(settings: Settings, args: argparse.Namespace) -> int:
    try:
        password = _admin_password(args)
    except _UsageError as error:
        print(f"portside: {error}", file=sys.stderr)
        return 2
    command = CreateAdminCommand(email=args.email, password=password, promote_existing=args.promote_existing)
    try:
        result = asyncio.run(_run_create_admin(settings, command))
    except AlreadyExistsError:
        print(
            "portside: an account with this e-mail exists and is not an active admin with this password; "
            "pass --promote-existing to make it one (this ends all of its sessions)",
            file=sys.stderr,
        )
        return 1
    except (DomainError, ApplicationError) as error:
        print(f"portside: {error}", file=sys.stderr)
        return 1
    print(_create_admin_outcome(result))
    return 0


def _create_admin_outcome(result: CreateAdminResult) -> str:
    email = result.user.email.value
    if result.created:
        return f"admin created: {email}"
    if not result.changed:
        return f"admin unchanged (already an active admin with this password): {email}"
    return f"admin updated: {email}; live sessions ended: {result.sessions_ended}"


def _openapi(settings: Settings, _: argparse.Namespace) -> int:
    from entrypoints.http.app import create_app

    schema = msgspec.json.encode(create_app(settings).openapi_schema.to_schema())
    print(msgspec.json.format(schema, indent=2).decode())
    return 0


def _worker(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.redis_url:
        print(
            "portside: worker: PORTSIDE_REDIS_URL is not set. Without Redis, `portside serve` runs the relay "
            "and the jobs itself; set PORTSIDE_REDIS_URL to run them in workers instead",
            file=sys.stderr,
        )
        return 2
    from entrypoints.container import build_container
    from entrypoints.worker import arq_worker

    if args.check:
        healthy = arq_worker.check(settings) == 0
        print("worker: alive" if healthy else "worker: no heartbeat in the last 16 s", file=sys.stderr)
        return 0 if healthy else 1
    _warn_at_startup(settings)
    if not settings.otel_endpoint:
        arq_worker.run(settings, build_container(settings))
        return 0
    from entrypoints.tracing import WORKER_SERVICE, tracing

    traced = tracing(settings, service=WORKER_SERVICE)
    try:
        arq_worker.run(settings, build_container(settings, *traced.providers(settings)))
    finally:
        traced.shutdown()  # exports what is still batched
    return 0


_OTEL_MODULES = ("opentelemetry.sdk.trace", "opentelemetry.exporter.otlp.proto.http.trace_exporter")


def _require_otel_extra(settings: Settings) -> None:
    """Tracing needs the ``otel`` extra: say so at start-up rather than fail on first use."""
    if not settings.otel_endpoint:
        return
    for name in _OTEL_MODULES:
        try:
            found = importlib.util.find_spec(name) is not None
        except ImportError:
            found = False
        if not found:
            raise SettingsError("PORTSIDE_OTEL_ENDPOINT", "needs the otel extra: pip install 'portside[otel]'")


def _set_webhook(settings: Settings, args: argparse.Namespace) -> int:
    """Register ``{PORTSIDE_PUBLIC_URL}/api/v1/bot/webhook`` (or ``--url``) with Telegram,
    with ``PORTSIDE_TELEGRAM_WEBHOOK_SECRET`` as the secret it will send back."""
    from adapters.telegram.http_client import HttpTelegramClient
    from application.telegram.client import TelegramUnavailableError

    token, secret = settings.telegram_bot_token, settings.telegram_webhook_secret
    if token is None or secret is None:
        missing = "PORTSIDE_TELEGRAM_BOT_TOKEN" if token is None else "PORTSIDE_TELEGRAM_WEBHOOK_SECRET"
        print(f"portside: set-webhook: {missing} is not set", file=sys.stderr)
        return 2
    url = args.url or f"{settings.public_url.rstrip('/')}/api/v1/bot/webhook"

    async def register() -> None:
        client = HttpTelegramClient(token, settings.telegram_api_base)
        try:
            await client.set_webhook(url, secret)
        finally:
            await client.aclose()

    try:
        asyncio.run(register())
    except TelegramUnavailableError as error:
        print(f"portside: set-webhook: Telegram refused or could not be reached: {error}", file=sys.stderr)
        return 1
    print(f"webhook set: {url}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="portside", description="Run and operate portside.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="serve the HTTP API (PORTSIDE_HOST, PORTSIDE_PORT, PORTSIDE_WORKERS)")
    worker = commands.add_parser("worker", help="run the relay and the background jobs (needs PORTSIDE_REDIS_URL)")
    worker.add_argument(
        "--check", action="store_true", help="exit 0 if a worker wrote its heartbeat recently, else 1 (for probes)"
    )
    commands.add_parser("migrate", help="upgrade the database to the latest migration")
    admin = commands.add_parser("create-admin", help="create or promote an administrator (idempotent)")
    admin.add_argument("--email", required=True)
    source = admin.add_mutually_exclusive_group()
    source.add_argument("--password-stdin", action="store_true", help="read the password from one line of stdin")
    source.add_argument("--password", help="the password (visible to other users of this host; for scripts)")
    admin.add_argument(
        "--promote-existing",
        action="store_true",
        help="allow promoting, re-activating or re-passwording an existing account (ends its sessions)",
    )
    commands.add_parser("openapi", help="print the OpenAPI document")
    webhook = commands.add_parser(
        "set-webhook", help="register the bot's webhook with Telegram (PORTSIDE_TELEGRAM_BOT_TOKEN, ..._WEBHOOK_SECRET)"
    )
    webhook.add_argument("--url", help="the webhook URL (default: PORTSIDE_PUBLIC_URL + /api/v1/bot/webhook)")
    return parser


_COMMANDS = {
    "serve": _serve,
    "worker": _worker,
    "migrate": _migrate,
    "create-admin": _create_admin,
    "openapi": _openapi,
    "set-webhook": _set_webhook,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
        _require_otel_extra(settings)
    except SettingsError as error:
        print(f"portside: configuration error: {error}", file=sys.stderr)
        return 2
    # The OpenAPI document owns stdout; a stray log line there would corrupt it.
    configure_logging(settings, sys.stderr if args.command == "openapi" else None)
    return _COMMANDS[args.command](settings, args)


if __name__ == "__main__":
    sys.exit(main())
