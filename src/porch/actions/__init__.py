"""Actions: the assistant calls the owner's own HTTP APIs (definitions, secrets, runs, log)."""
