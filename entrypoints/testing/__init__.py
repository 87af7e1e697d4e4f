"""Driving portside from outside, for tests, simulations and embedders' own checks.

- ``entrypoints.testing.harness``: the app as ``build_container`` wires it, with a fixed clock,
  one use-case call at a time. Needs nothing beyond portside itself.
- ``entrypoints.testing.strategies`` and ``entrypoints.testing.machines``: hypothesis
  strategies and state machines over a harness. They need hypothesis:
  ``pip install portside[testing]``.
"""
