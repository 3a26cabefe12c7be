"""The SQLite store: every SQL statement of the project lives in this package, behind named methods."""
from core.store.db import STORE_FAILURES, Store, StoreError, StoreUnwritable

__all__ = ["STORE_FAILURES", "Store", "StoreError", "StoreUnwritable"]
