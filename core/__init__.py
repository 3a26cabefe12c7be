"""The domain: papers, fetching, scoring, summaries, store, digests, commands. No chat-platform imports."""
