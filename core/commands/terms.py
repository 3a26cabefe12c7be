"""Commands that edit what a chat follows: keywords, excluded words, authors and categories."""
from __future__ import annotations

from collections.abc import Sequence

from core.categories import archives, canonical_category, categories_in_archive, category_name, similar_categories
from core.commands.formatting import format_categories, format_keyword, format_list, settings_summary
from core.commands.parsing import (
    CommandError,
    RefusedTerm,
    matchable_term,
    parse_keywords,
    parse_plain_terms,
    parse_term_names,
)
from core.commands.registry import Argument, Invocation, command
from core.echo import echoed
from core.limits import MAX_AUTHORS_PER_CHAT, MAX_CATEGORIES_PER_CHAT, MAX_EXCLUDES_PER_CHAT, MAX_KEYWORDS_PER_CHAT
from core.models import Keyword, Reply
from core.store.chats import TooManyTerms

_LIMIT_ADVICE = {
    "keyword": "remove some with unsubscribe first",
    "exclude": "remove some with include first",
    "author": "remove some with authors remove first",
    "category": "remove some with categories remove first",
}


def _add_terms(
    call: Invocation, kind: str, entries: Sequence[tuple[str, float]], limit: int
) -> tuple[list[str], list[str]]:
    call.require_permission()
    try:
        return call.store.chats.add_terms(call.chat.ref, kind, entries, limit=limit)
    except TooManyTerms as full:
        raise CommandError(
            f"A chat can have at most {limit} {kind}s: you have {full.current} and this adds {full.adding}; "
            f"{_LIMIT_ADVICE[kind]}."
        ) from None


def _removed_reply(removed: list[str], asked: list[str], noun: str) -> Reply:
    if not removed:
        return Reply(f"None of these is in your {noun}: {format_list(asked)}.", ok=False)
    missing = [term for term in asked if term.casefold() not in {r.casefold() for r in removed}]
    note = f" Not in your {noun}: {format_list(missing)}." if missing else ""
    return Reply(f"Removed from your {noun}: {format_list(removed)}.{note}")


@command("subscribe", usage='subscribe KEYWORD[:WEIGHT][, "A PHRASE"[:WEIGHT] ...]', changes_settings=True)
async def subscribe(call: Invocation) -> Reply:
    """Follow keywords or phrases, optionally weighted (llm:2).

    Separate terms with commas, or with spaces when no comma is used; quote phrases.
    A weight from 0.1 to 10 says how much a match counts (default 1). Matching is by whole
    words, ignoring case and plurals (llm matches LLMs, rl never matches world); a * at a word's
    start or end matches any letters there (quantiz* matches quantized and quantization).
    Example: subscribe llm:2, "mixture of experts", quantization
    """
    entries, refused = parse_keywords(call.args)
    if not entries and not refused:
        raise call.usage_error("Name at least one keyword.")
    if not entries:
        raise CommandError(f"Nothing was added: {_refusals(refused)}.")
    added, updated = _add_terms(call, "keyword", entries, MAX_KEYWORDS_PER_CHAT)
    shown = {term.casefold(): format_keyword(Keyword(term, weight)) for term, weight in entries}
    parts = []
    if added:
        parts.append(f"Subscribed to {format_list([shown[term.casefold()] for term in added])}.")
    if updated:
        parts.append(f"Updated {format_list([shown[term.casefold()] for term in updated])}.")
    if refused:
        parts.append(f"Not added: {_refusals(refused)}.")
    count = len(call.store.chats.require_chat(call.chat.ref).keywords)
    parts.append(f"You follow {count} of at most {MAX_KEYWORDS_PER_CHAT} keywords.")
    return Reply(" ".join(parts))


def _refusals(refused: Sequence[RefusedTerm]) -> str:
    """`"c++" (The keyword ... cannot be used: ...); "llm:20" (The weight must be ...)`: each item as typed, and why."""
    return "; ".join(f'"{echoed(item.typed)}" ({item.reason.rstrip(".")})' for item in refused)


@command("unsubscribe", usage="unsubscribe KEYWORD[, KEYWORD ...]", changes_settings=True)
async def unsubscribe(call: Invocation) -> Reply:
    """Stop following keywords."""
    terms = parse_term_names(call.args)
    if not terms:
        raise call.usage_error("Name at least one keyword.")
    call.require_permission()
    return _removed_reply(call.store.chats.remove_terms(call.chat.ref, "keyword", terms), terms, "keywords")


@command("exclude", usage="exclude WORD[, WORD ...]", changes_settings=True)
async def exclude(call: Invocation) -> Reply:
    """Drop papers that mention these words.

    A paper whose title or abstract contains an excluded word or phrase is never sent;
    words match like keywords do (whole words, plurals, * wildcards).
    """
    terms = [matchable_term(term, "excluded word") for term in parse_plain_terms(call.args, "excluded word")]
    if not terms:
        raise call.usage_error("Name at least one word.")
    added, _ = _add_terms(call, "exclude", [(term, 1.0) for term in terms], MAX_EXCLUDES_PER_CHAT)
    excludes = call.store.chats.require_chat(call.chat.ref).excludes
    news = f"Now excluding {format_list(added)}. " if added else "Already excluded. "
    return Reply(f"{news}Excluded words: {format_list(excludes)}.")


@command("include", usage="include WORD[, WORD ...]", changes_settings=True)
async def include(call: Invocation) -> Reply:
    """Undo exclude: allow papers with these words again."""
    terms = parse_plain_terms(call.args, "excluded word")
    if not terms:
        raise call.usage_error("Name at least one word.")
    call.require_permission()
    return _removed_reply(call.store.chats.remove_terms(call.chat.ref, "exclude", terms), terms, "excluded words")


@command("keywords")
async def keywords(call: Invocation) -> Reply:
    """Show what this chat follows: keywords with weights, excluded words, authors, categories."""
    return Reply("\n".join(settings_summary(call.chat)))


@command("authors", usage="authors [add|remove NAME[, NAME ...]]", changes_settings=True)
async def authors(call: Invocation) -> Reply:
    """Show, add or remove followed authors (any paper by them is picked).

    Names are matched as written on arXiv; separate several with commas.
    Example: authors add Yoshua Bengio, Geoffrey Hinton
    """
    action, _, rest = call.args.partition(" ")
    action = action.casefold()
    if not call.args:
        return Reply(f"Followed authors: {format_list(call.chat.authors)}.")
    if action not in ("add", "remove"):
        raise call.usage_error()
    names = parse_plain_terms(rest, "author name", spaces_separate=False)
    if not names:
        raise call.usage_error("Name at least one author.")
    if action == "remove":
        call.require_permission()
        return _removed_reply(call.store.chats.remove_terms(call.chat.ref, "author", names), names, "authors")
    added, _ = _add_terms(call, "author", [(name, 1.0) for name in names], MAX_AUTHORS_PER_CHAT)
    followed = call.store.chats.require_chat(call.chat.ref).authors
    news = f"Now following {format_list(added)}. " if added else "Already followed. "
    return Reply(f"{news}Followed authors: {format_list(followed)}.")


def _valid_categories(words: Sequence[str]) -> list[str]:
    codes = []
    for word in words:
        code = canonical_category(word)
        if code is None:
            close = similar_categories(word)
            hint = f" Did you mean {format_list(close, '')}?" if close else ""
            raise CommandError(f'Unknown arXiv category "{echoed(word, 30)}".{hint} Send "categories list" to see them.')
        codes.append(code)
    return list(dict.fromkeys(codes))


@command("categories", usage="categories [CAT ...|add CAT ...|remove CAT ...|list [ARCHIVE]]", changes_settings=True,
         arguments=(Argument("categories", "CAT ... | add CAT ... | remove CAT ... | list; e.g. cs.AI cs.CL",
                             completion="categories"),))
async def categories(call: Invocation) -> Reply:
    """Show or choose the arXiv categories this chat reads (e.g. cs.AI cs.CL).

    "categories cs.AI cs.CL" replaces the list; "categories add cs.CV" and "categories remove cs.CL"
    change it; "categories list" shows arXiv's archives and "categories list cs" their categories.
    """
    words = call.args.replace(",", " ").split()
    if not words:
        return Reply(f"Categories: {format_categories(call.chat.categories)}.")
    action = words[0].casefold()
    if action == "list":
        return Reply(_taxonomy_listing(words[1:]))
    if action in ("add", "remove"):
        words = words[1:]
        if not words:
            raise call.usage_error("Name at least one category.")
    codes = _valid_categories(words)
    current = list(call.chat.categories)
    wanted = {
        "add": current + [code for code in codes if code not in current],
        "remove": [code for code in current if code not in codes],
    }.get(action, codes)
    if not wanted:
        raise CommandError("A chat needs at least one category; add another before removing the last.")
    if len(wanted) > MAX_CATEGORIES_PER_CHAT:
        raise CommandError(
            f"A chat can read at most {MAX_CATEGORIES_PER_CHAT} categories ({len(wanted)} asked); remove some first."
        )
    call.require_permission()
    call.store.chats.replace_terms(call.chat.ref, "category", [(code, 1.0) for code in wanted])
    return Reply(f"Categories: {format_categories(wanted)}.")


def _taxonomy_listing(words: Sequence[str]) -> str:
    if not words:
        return f'arXiv archives: {", ".join(archives())}. Send "categories list ARCHIVE" for its categories.'
    codes = categories_in_archive(words[0])
    if not codes:
        return f'No archive "{echoed(words[0], 30)}". Archives: {", ".join(archives())}.'
    return "\n".join(f"{code} - {category_name(code)}" for code in codes)
