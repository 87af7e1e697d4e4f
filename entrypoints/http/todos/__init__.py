"""HTTP surface of the todos context: ``/api/v1/todos``."""
