"""File storage adapters: image bytes kept by ``FileKey``."""
