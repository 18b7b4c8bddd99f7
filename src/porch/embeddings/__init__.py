"""Embeddings of passages and questions: one interface; MiniLM locally, OpenAI-compatible."""
