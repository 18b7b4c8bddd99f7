"""Per-widget analytics: conversations, messages, tokens, cost, feedback, unanswered questions."""
