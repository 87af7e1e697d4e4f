"""Password hashing (argon2id) and tokens (JWT via PyJWT)."""
