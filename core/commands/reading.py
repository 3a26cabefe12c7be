"""Commands that fetch papers or links: digest (now), search, feed."""
from __future__ import annotations

from core.commands.parsing import CommandError
from core.arxiv.api import search_words
from core.commands.registry import Invocation, command
from core.echo import echoed
from core.limits import MAX_KEYWORD_LENGTH
from core.models import Reply

SEARCH_RESULTS = 5
MAX_SEARCH_QUERY_LENGTH = 4 * MAX_KEYWORD_LENGTH


@command("digest", slow=True)
async def digest(call: Invocation) -> Reply:
    """Send this chat's digest now: the latest announcement day, or a weekly chat's week so far."""
    selection = await call.services.digest_now(call.chat)
    day = selection.announcement_day.isoformat()
    if selection.week_from is not None and selection.week_from != selection.announcement_day:
        day = f"{selection.week_from.isoformat()} to {day}"
    if not selection.considered:
        return Reply(
            f"No papers of {day} are stored for this chat's categories yet. arXiv: {call.services.arxiv_status()}",
            ok=False,
        )
    if not selection.papers:
        return Reply(
            f"No paper of {day} matched this chat's keywords ({selection.considered} papers considered). "
            'Try more keywords with "subscribe" or a lower "minscore".',
            ephemeral=False,
        )
    count = len(selection.papers)
    return Reply(
        f"{'Weekly digest' if selection.week_from else 'Digest'} for {day}: {count} paper{'s' if count != 1 else ''} of {selection.considered} considered.",
        digest=selection,
        ephemeral=False,
    )


@command("search", usage="search QUERY", slow=True)
async def search(call: Invocation) -> Reply:
    """Search all of arXiv and show the top results."""
    query = " ".join(call.args.split())
    if not query:
        raise call.usage_error("Say what to search for.")
    if len(query) > MAX_SEARCH_QUERY_LENGTH:
        raise CommandError(f"A search can be at most {MAX_SEARCH_QUERY_LENGTH} characters long.")
    shown = echoed(query, MAX_SEARCH_QUERY_LENGTH)
    if not search_words(query):  # emoji, `*` or a lone control character: arXiv has no word to look up
        raise CommandError(f'"{shown}" has nothing to search for: use words or numbers, for example "search diffusion models".')
    papers = await call.services.search(query, SEARCH_RESULTS)
    if not papers:
        return Reply(f'No arXiv paper matches "{shown}".')
    lines = [f'Top {len(papers)} arXiv results for "{shown}":']
    for rank, paper in enumerate(papers, start=1):
        authors = paper.authors[0] + (" et al." if len(paper.authors) > 1 else "") if paper.authors else ""
        lines.append(f"{rank}. {paper.title} - {authors} ({paper.primary_category}) {paper.abs_url}")
    return Reply("\n".join(lines))


@command("feed", usage="feed [reset]", changes_settings=True)
async def feed(call: Invocation) -> Reply:
    """Show this chat's personal RSS feed link; "feed reset" revokes it and makes a new one."""
    action = call.args.strip().casefold()
    if not call.stored and action != "reset":
        return Reply("This chat has no feed yet: send start to set the chat up, then feed.")
    if not action:
        return Reply(
            f"This chat's feed: {call.services.feed_url(call.chat)}\n"
            f"Its reading list: {call.services.feed_url(call.chat, saved=True)}\nAnyone with the links can read them."
        )
    if action != "reset":
        raise call.usage_error()
    call.require_permission()
    call.store.chats.reset_feed_token(call.chat.ref)
    chat = call.store.chats.require_chat(call.chat.ref)
    return Reply(f"The old feed link no longer works. New feed: {call.services.feed_url(chat)}")
