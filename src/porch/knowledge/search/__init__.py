"""The passage index and retrieval: writing passages, full text, vectors, the retriever."""
