"""Chat: the visitor API (visitor/), the answer pipeline (answer/), the inbox (inbox/), handoff."""
