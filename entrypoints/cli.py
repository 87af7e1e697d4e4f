"""``portside``: the one console script for operators."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

import msgspec
from dishka import Scope

from application.errors import ApplicationError
from application.identity.create_admin import CreateAdmin, CreateAdminCommand
from domain.shared.errors import DomainError
from entrypoints.container import build_container
from entrypoints.logging import configure_logging
from entrypoints.migrations import migrate
from entrypoints.settings import Settings, SettingsError, load_settings

__all__ = ["main"]


def _serve(settings: Settings, _: argparse.Namespace) -> int:
    import uvicorn

    uvicorn.run(
        "entrypoints.http.asgi:app_factory",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        loop="uvloop",
        http="httptools",
        access_log=False,  # RequestContext writes the access line
        log_config=None,
        proxy_headers=True,
        server_header=False,
    )
    return 0


def _migrate(settings: Settings, _: argparse.Namespace) -> int:
    asyncio.run(migrate(settings.database_url))
    print("database is at the latest migration")
    return 0


def _create_admin(settings: Settings, args: argparse.Namespace) -> int:
    async def run() -> bool:
        container = build_container(settings)
        try:
            async with container(scope=Scope.REQUEST) as request:
                create_admin = await request.get(CreateAdmin)
                result = await create_admin(CreateAdminCommand(email=args.email, password=args.password))
                return result.created
        finally:
            await container.close()

    try:
        created = asyncio.run(run())
    except (DomainError, ApplicationError) as error:
        print(f"portside: {error}", file=sys.stderr)
        return 1
    print(f"admin {'created' if created else 'updated'}: {args.email.strip().lower()}")
    return 0


def _openapi(settings: Settings, _: argparse.Namespace) -> int:
    from entrypoints.http.app import create_app

    schema = msgspec.json.encode(create_app(settings).openapi_schema.to_schema())
    print(msgspec.json.format(schema, indent=2).decode())
    return 0


def _worker(settings: Settings, _: argparse.Namespace) -> int:
    print("portside worker: no background jobs exist yet (they arrive with the worker issue)", file=sys.stderr)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="portside", description="Run and operate portside.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="serve the HTTP API (PORTSIDE_HOST, PORTSIDE_PORT, PORTSIDE_WORKERS)")
    commands.add_parser("worker", help="run the background worker")
    commands.add_parser("migrate", help="upgrade the database to the latest migration")
    admin = commands.add_parser("create-admin", help="create or promote an administrator (idempotent)")
    admin.add_argument("--email", required=True)
    admin.add_argument("--password", required=True)
    commands.add_parser("openapi", help="print the OpenAPI document")
    return parser


_COMMANDS = {
    "serve": _serve,
    "worker": _worker,
    "migrate": _migrate,
    "create-admin": _create_admin,
    "openapi": _openapi,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"portside: configuration error: {error}", file=sys.stderr)
        return 2
    configure_logging(settings)
    return _COMMANDS[args.command](settings, args)


if __name__ == "__main__":
    sys.exit(main())
