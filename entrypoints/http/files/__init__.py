"""``/api/v1/files`` (upload) and ``/files/{key}`` (public download)."""
