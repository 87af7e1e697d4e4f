"""In-memory adapters: production code for tests and embedding, held to the same contracts as SQL."""
