"""Todo use-cases: each user's own list, with optimistic locking."""
