"""``/api/v1/users``: accounts, their public and private views, and their administration."""
