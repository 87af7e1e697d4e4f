"""Ports every context uses."""
