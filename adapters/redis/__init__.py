"""Redis adapters (redis-py asyncio)."""
