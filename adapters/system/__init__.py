"""Adapters over the process itself: wall clock, identifier generation, sockets."""
