"""HTTP surface of the identity context: ``/api/v1/auth``."""
