"""Chat use-cases: the bot's webhook, its updates, and admins' replies."""
