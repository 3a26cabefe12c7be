"""The SQLite store: every SQL statement of the project lives in this package, behind named methods."""
from core.store.db import Store, StoreError, StoreUnwritable

__all__ = ["Store", "StoreError", "StoreUnwritable"]
