"""Realtime delivery: what each committed event announces, and the WebSocket side of it."""
