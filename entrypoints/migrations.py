"""Running Alembic migrations from Python (CLI, tests, embedders)."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

import adapters.sql
from adapters.sql.engine import create_engine
from entrypoints.settings import MEMORY_DATABASE_URL

__all__ = ["alembic_config", "migrate", "migrations_dir"]


def migrations_dir() -> Path:
    """The folder holding Alembic's ``env.py`` and ``versions/``: ``PORTSIDE_MIGRATIONS_DIR``
    when set, else the scripts installed with portside, as data of ``adapters.sql`` (in a
    checkout, ``adapters/sql/migrations`` is a link to the top-level ``alembic/``)."""
    override = os.environ.get("PORTSIDE_MIGRATIONS_DIR")
    if override:
        return Path(override)
    scripts = Path(adapters.sql.__file__).resolve().parent / "migrations"
    if not (scripts / "env.py").is_file():
        raise RuntimeError(f"portside's migration scripts are not installed: no {scripts / 'env.py'}")
    return scripts


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    return config


async def migrate(database_url: str, revision: str = "head", *, downgrade: bool = False) -> None:
    """Upgrade (or downgrade) the database at ``database_url`` to ``revision``; ``memory://``
    has no schema, so there is nothing to do."""
    if database_url == MEMORY_DATABASE_URL:
        return

    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        if downgrade:
            command.downgrade(config, revision)
        else:
            command.upgrade(config, revision)

    engine = create_engine(database_url, autocommit_reads=False)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run)
            await connection.commit()
    finally:
        await engine.dispose()
