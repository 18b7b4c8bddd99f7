"""Background jobs: source syncs and embedding back-fills, on taskiq."""
