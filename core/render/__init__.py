"""Renderers of digests: Markdown pages, feeds, and the shared splitting helpers."""
