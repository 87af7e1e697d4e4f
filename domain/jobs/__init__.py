"""Background jobs: the record of handling one relayed event."""
