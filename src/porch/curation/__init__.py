"""Curated answers that win over retrieval, and suggestions learned from the inbox."""
