"""``/api/v1/bot`` and ``/api/v1/chat``."""
