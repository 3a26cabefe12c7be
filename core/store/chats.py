"""Chats, their settings and their terms (keywords, excludes, authors, categories)."""
from __future__ import annotations


class ChatQueries:
    """Mixin of Store."""
