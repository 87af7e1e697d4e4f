"""Builders, fakes and service fixtures shared by the suites."""
