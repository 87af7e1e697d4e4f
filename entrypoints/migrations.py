"""Running Alembic migrations from Python (CLI, tests, embedders)."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from adapters.sql.engine import create_engine

__all__ = ["MIGRATIONS_DIR", "alembic_config", "migrate"]

# The source checkout's alembic/ folder; an installed copy (the container image) points
# PORTSIDE_MIGRATIONS_DIR at wherever the folder was copied.
MIGRATIONS_DIR = Path(os.environ.get("PORTSIDE_MIGRATIONS_DIR") or Path(__file__).resolve().parents[1] / "alembic")


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


async def migrate(database_url: str, revision: str = "head", *, downgrade: bool = False) -> None:
    """Upgrade (or downgrade) the database at ``database_url`` to ``revision``."""

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
