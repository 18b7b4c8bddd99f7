"""The answer pipeline: limits, store the question, retrieve, prompt, stream, store the reply."""
