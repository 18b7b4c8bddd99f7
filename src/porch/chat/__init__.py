"""Conversations, messages, the answer pipeline, SSE."""
