"""Background jobs: relaying committed events to the job queue."""
