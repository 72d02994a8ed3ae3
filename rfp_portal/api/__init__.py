"""The read-only JSON API, version 1."""
