"""The reading list's commands: save, unsave, saved (the list, paged) and bibtex (as a .bib file)."""
from __future__ import annotations

import math
import re

from core.commands.parsing import CommandError, not_an_id, parse_arxiv_id, parse_whole_number
from core.commands.registry import Argument, Invocation, command
from core.models import Attachment, Paper, Reply
from core.reading_list import MAX_SAVED_PER_CHAT, ReadingListFull, save_paper
from core.render.bibtex import BIBTEX_FILENAME, bibtex_document
from core.render.chunks import cut_text

SAVED_PAGE_SIZE = 10  # lines of at most SAVED_LINE_CHARS: a page stays within Discord's 2000 characters
SAVED_LINE_CHARS = 180
MAX_BIBTEX_IDS = 50  # ids named in one `bibtex` (a command is at most 1000 characters): one export API request
BIBTEX_MEDIA_TYPE = "application/x-bibtex"
_ID_SEPARATORS = re.compile(r"[\s,;]+")
_PAPER_ARGUMENT = (Argument("id", "arXiv id or link, e.g. 2501.01234", required=True),)
_NOT_STARTED = 'This chat has no reading list yet: send "start" first, then save papers.'


def _title(paper: Paper) -> str:
    return f"“{cut_text(paper.title, 100)}”"


async def _paper_to_save(call: Invocation) -> Paper:
    arxiv_id = parse_arxiv_id(call.args)
    if arxiv_id is None:
        raise call.usage_error(not_an_id(call.args))
    paper = (await call.services.papers_by_id([arxiv_id])).get(arxiv_id)
    if paper is None:
        raise CommandError(f"arXiv has no paper {arxiv_id}: check the id.")
    return paper


@command("save", usage="save ID", arguments=_PAPER_ARGUMENT, family="reading")
async def save(call: Invocation) -> Reply:
    """Save a paper to this chat's reading list (as 🔖 does); it also counts as a 👍 for ranking."""
    if not call.stored:
        raise CommandError(_NOT_STARTED)
    paper = await _paper_to_save(call)
    try:
        added = save_paper(call.store, call.chat.ref, paper.arxiv_id, call.context.user_id, call.settings.defaults.categories)
    except ReadingListFull as full:
        raise CommandError(str(full)) from None
    count = call.store.saved.count_saved(call.chat.ref)
    state = "Saved 🔖" if added else "Already saved:"
    return Reply(f"{state} {paper.arxiv_id} {_title(paper)}. The reading list has {count} paper{'s' if count != 1 else ''}.")


@command("unsave", usage="unsave ID", arguments=_PAPER_ARGUMENT, family="reading")
async def unsave(call: Invocation) -> Reply:
    """Take a paper off this chat's reading list (its 👍 stays; `dislike` it to undo that)."""
    arxiv_id = parse_arxiv_id(call.args)
    if arxiv_id is None:
        raise call.usage_error(not_an_id(call.args))
    if not call.stored or not call.store.saved.unsave_paper(call.chat.ref, arxiv_id):
        return Reply(f"{arxiv_id} is not on this chat's reading list.", ok=False)
    return Reply(f"Removed {arxiv_id} from the reading list.")


@command("saved", usage="saved [PAGE]", arguments=(Argument("page", "page of the list, 1 is the newest", kind="integer"),),
         family="reading")
async def saved(call: Invocation) -> Reply:
    """List this chat's reading list, newest first, a page at a time."""
    total = call.store.saved.count_saved(call.chat.ref) if call.stored else 0
    if total == 0:
        return Reply('The reading list is empty: press 🔖 under a paper, or send "save ID".')
    pages = math.ceil(total / SAVED_PAGE_SIZE)
    page = parse_whole_number(call.args, "page", 1, pages) if call.args.strip() else 1
    entries = call.store.saved.saved_papers(call.chat.ref, limit=SAVED_PAGE_SIZE, offset=(page - 1) * SAVED_PAGE_SIZE)
    first = (page - 1) * SAVED_PAGE_SIZE + 1
    lines = [f"Reading list, page {page} of {pages} ({total} paper{'s' if total != 1 else ''}, newest first):"]
    lines += [
        cut_text(f"{number}. {entry.paper.arxiv_id} {entry.paper.title} (saved {entry.saved_at:%Y-%m-%d})", SAVED_LINE_CHARS)
        for number, entry in enumerate(entries, start=first)
    ]
    more = f'"saved {page + 1}" shows the next page; ' if page < pages else ""
    lines.append(f'{more}"bibtex" exports the list.')
    return Reply("\n".join(lines))


def _named_ids(args: str) -> list[str]:
    words = [word for word in _ID_SEPARATORS.split(args) if word]
    if len(words) > MAX_BIBTEX_IDS:
        raise CommandError(f"At most {MAX_BIBTEX_IDS} ids at once, please.")
    ids = [parse_arxiv_id(word) for word in words]
    bad = [word for word, arxiv_id in zip(words, ids) if arxiv_id is None]
    if bad:
        raise CommandError(not_an_id(bad[0]) + " Usage: bibtex [ID ...]")
    return list(dict.fromkeys(arxiv_id for arxiv_id in ids if arxiv_id))


@command("bibtex", usage="bibtex [ID ...]", slow=True,
         arguments=(Argument("ids", "arXiv ids; leave out for the reading list"),), family="reading")
async def bibtex(call: Invocation) -> Reply:
    """BibTeX of the reading list, or of the papers named, as a .bib file."""
    wanted = _named_ids(call.args)  # separators alone (", ") name nothing: the reading list, not an empty query to arXiv
    if wanted:
        found = await call.services.papers_by_id(wanted)
        papers = [found[arxiv_id] for arxiv_id in wanted if arxiv_id in found]
        unknown = [arxiv_id for arxiv_id in wanted if arxiv_id not in found]
    else:
        papers = [entry.paper for entry in call.store.saved.saved_papers(call.chat.ref, limit=MAX_SAVED_PER_CHAT)] if call.stored else []
        unknown = []
        if not papers:
            return Reply('The reading list is empty: save papers first, or name them: "bibtex 2501.01234 2502.04321".', ok=False)
    missing = f"arXiv has no paper {', '.join(unknown)}." if unknown else ""
    if not papers:
        return Reply(missing, ok=False)
    count = len(papers)
    text = f"BibTeX of {count} paper{'s' if count != 1 else ''} ({BIBTEX_FILENAME})." + (f" {missing}" if missing else "")
    return Reply(text, attachment=Attachment(BIBTEX_FILENAME, bibtex_document(papers), BIBTEX_MEDIA_TYPE))
