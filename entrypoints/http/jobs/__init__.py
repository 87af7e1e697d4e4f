"""``/api/v1/jobs``: the admin view of background jobs."""
