"""Telegram Bot API adapters: the HTTP client (httpx) and a client that only logs."""
