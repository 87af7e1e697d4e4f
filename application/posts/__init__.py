"""Post use-cases: drafts for their author, published posts for everyone, cached reads."""
