"""Fetching from the web on an owner's behalf: SSRF guards, limits, politeness."""
