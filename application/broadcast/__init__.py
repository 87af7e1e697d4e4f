"""Campaign use-cases: create, start, cancel, delete, and the sender that delivers them."""
