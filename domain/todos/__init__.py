"""Todos: a user's own list, edited with optimistic locking."""
