"""LLM adapters behind one interface, a registry, resilience, usage and cost."""
