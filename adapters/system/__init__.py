"""Adapters over the process itself: wall clock and identifier generation."""
