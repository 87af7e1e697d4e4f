"""Posts: published writing with slugs and tags (API.md, "Posts")."""
