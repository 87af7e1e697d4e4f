"""Identity: users, their sessions and the rules that protect them."""
