"""The parts of LLM summarization: prompt, client, output checks, extractive fallback, full text."""
