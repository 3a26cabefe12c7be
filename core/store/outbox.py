"""The delivery outbox: per (chat, paper) rows written pending before sending, marked sent after."""
from __future__ import annotations


class DeliveryQueries:
    """Mixin of Store."""
