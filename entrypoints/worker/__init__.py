"""The background side: the relay, the job runners (arq, or in-process) and the cleanup."""
