"""Owners, workspaces, sessions, API keys, passwords."""
