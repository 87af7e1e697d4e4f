"""Files: public images, recognised by content and stored under random keys."""
