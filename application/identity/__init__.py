"""Identity use-cases: registration, login, sessions, tokens."""
