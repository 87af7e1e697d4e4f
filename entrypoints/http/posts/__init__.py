"""``/api/v1/posts`` and ``/api/v1/tags``."""
