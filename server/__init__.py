"""Graphyard server: the HTTP API, persistence and run execution around `graphs/`."""
