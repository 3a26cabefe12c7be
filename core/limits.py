"""Limits on one chat's settings: shared by the commands that change them and by config.json's defaults,
so a new chat never starts with settings that no command could have produced."""

MAX_KEYWORD_LENGTH = 64  # characters in one keyword, exclude word or author name
MIN_KEYWORD_WEIGHT = 0.1
MAX_KEYWORD_WEIGHT = 10.0
MAX_KEYWORDS_PER_CHAT = 50
MAX_EXCLUDES_PER_CHAT = 50
MAX_AUTHORS_PER_CHAT = 20
MAX_CATEGORIES_PER_CHAT = 20
MIN_PAPERS = 1
MAX_PAPERS = 100  # per digest; more would be dozens of messages a day
MIN_SCORE = 0.0
MAX_SCORE = 100.0
