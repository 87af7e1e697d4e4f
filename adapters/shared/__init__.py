"""What the SQL and in-memory adapters share."""
