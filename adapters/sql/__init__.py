"""SQL adapters: SQLAlchemy Core on PostgreSQL (asyncpg) and SQLite (aiosqlite)."""
