"""Chat platforms: each module translates platform events into core commands and core objects into messages."""
