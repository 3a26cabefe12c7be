"""Child process of the email SIGKILL test: delivers every chat's planned digest by SMTP, resumably.

Usage: python -m tests.email_crash_child DB SMTP_URL
"""
from __future__ import annotations

import asyncio
import sys

from core.clock import utc_now
from core.store import Store
from tests.delivery_crash_child import deliver_all
from tests.email_support import build_adapter, email_settings


def main() -> None:
    db_path, smtp_url = sys.argv[1:3]
    store = Store(db_path)
    adapter = build_adapter(email_settings(8000), store, smtp_url, utc_now)
    asyncio.run(deliver_all(store, adapter))
    store.close()


if __name__ == "__main__":
    main()
