"""The visitor API: conversations, messages (JSON or SSE), history, identity, compat routes."""
