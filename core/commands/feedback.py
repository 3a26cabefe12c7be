"""Commands that teach the ranking: like, dislike, more (papers like this one), forget, ranking, aliases."""
from __future__ import annotations

from core.aliases import MIN_PAPERS_FOR_LEARNED_ALIAS, table_with
from core.commands.parsing import CommandError, not_an_id, parse_arxiv_id
from core.commands.registry import Argument, Invocation, command
from core.feedback import learned_terms, record_vote, votes_by_paper
from core.models import Keyword, Paper, Reply, Subscription
from core.relevance import RANKINGS
from core.scoring import score_day

MORE_RESULTS = 5
MORE_TERMS = 12  # the liked paper's most telling words a `more` search uses
_PAPER_ARGUMENT = (Argument("id", "arXiv id of a paper you were shown, e.g. 2501.01234"),)


def _paper(call: Invocation) -> Paper:
    """The stored paper the arguments name; refuses malformed or unknown ids in words."""
    arxiv_id = parse_arxiv_id(call.args)
    if arxiv_id is None:
        raise call.usage_error(not_an_id(call.args))
    paper = call.store.papers.papers_by_id([arxiv_id]).get(arxiv_id)
    if paper is None:
        raise CommandError(f"{arxiv_id} is not among the papers stored here; I learn from papers of the digests I showed.")
    return paper


async def _vote(call: Invocation, vote: int) -> tuple[Paper, tuple[Keyword, ...]]:
    if not call.stored:
        raise CommandError('This chat gets no digests yet: send "start" first, then tell me what you like.')
    paper = _paper(call)
    return paper, record_vote(call.store, call.chat.ref, paper.arxiv_id, call.context.user_id, vote, call.settings.defaults.categories)


def _learned_line(learned: tuple[Keyword, ...]) -> str:
    return "Learned so far: " + ", ".join(keyword.term for keyword in learned[:10]) + ("…" if len(learned) > 10 else "") + "."


@command("like", usage="like ID", arguments=_PAPER_ARGUMENT, family="feedback")
async def like(call: Invocation) -> Reply:
    """Say you liked a paper (as 👍 does): later digests rank papers like it higher."""
    paper, learned = await _vote(call, +1)
    return Reply(f"Noted 👍 {paper.arxiv_id}. " + (_learned_line(learned) if learned else "Like a few more and I learn what they share."))


@command("dislike", usage="dislike ID", arguments=_PAPER_ARGUMENT, family="feedback")
async def dislike(call: Invocation) -> Reply:
    """Say a paper missed the mark (as 👎 does): words it shares with liked papers are not learned."""
    paper, _ = await _vote(call, -1)
    return Reply(f"Noted 👎 {paper.arxiv_id}.")


@command("more", usage="more ID", slow=True, arguments=_PAPER_ARGUMENT, family="feedback")
async def more(call: Invocation) -> Reply:
    """Like a paper and show papers like it from the latest announcement day."""
    paper, _ = await _vote(call, +1)
    days = call.store.papers.announcement_days(limit=1)
    categories = call.chat.categories or call.settings.defaults.categories
    candidates = call.store.papers.papers_announced(days[0], categories) if days else []
    words = learned_terms([paper], [], candidates)[:MORE_TERMS]
    probe = Subscription("more", tuple(Keyword(word.term) for word in words), categories=tuple(categories), max_papers=MORE_RESULTS + 1)
    similar = [scored for scored in score_day(candidates, [probe], call.settings.scoring)["more"] if scored.paper.arxiv_id != paper.arxiv_id]
    if not similar:
        return Reply(f"Noted 👍 {paper.arxiv_id}. Nothing like it was announced on the latest day.")
    lines = [f"Noted 👍 {paper.arxiv_id}. Like it, from {days[0]:%a %Y-%m-%d}:"]
    lines += [f"• {scored.paper.title} {scored.paper.abs_url}" for scored in similar[:MORE_RESULTS]]
    return Reply("\n".join(lines))


@command("forget", changes_settings=True, family="feedback")
async def forget(call: Invocation) -> Reply:
    """Forget every 👍/👎 of this chat and what the ranking learned from them."""
    call.require_permission()
    if not call.stored:
        return Reply("Nothing to forget: this chat has no votes.")
    dropped = call.store.outbox.forget_feedback(call.chat.ref)
    call.store.chats.replace_terms(call.chat.ref, "learned", [])
    return Reply(f"Forgot {dropped} vote{'s' if dropped != 1 else ''} and everything learned from them.")


@command("ranking", usage="ranking [relevance|classic]", changes_settings=True,
         arguments=(Argument("order", "relevance or classic; leave out to see it"),), family="feedback")
async def ranking(call: Invocation) -> Reply:
    """Order papers by relevance (specific words count more; learns from 👍) or classic (sum of weights).

    Either way minscore counts keyword points; relevance only changes the order and adds related papers.
    """
    choice = call.args.strip().casefold()
    if not choice:
        return Reply(f"Papers are ordered by {call.chat.ranking} ranking.")
    if choice not in RANKINGS:
        raise call.usage_error()
    call.require_permission()
    call.ensure_stored()
    call.store.chats.update_chat(call.chat.ref, ranking=choice)
    return Reply(f"Papers are now ordered by {choice} ranking.")


@command("aliases", usage="aliases [KEYWORD on|off]", changes_settings=True, family="feedback")
async def aliases(call: Invocation) -> Reply:
    """Show what keywords also match (LLM ~ large language model), or switch it off/on per keyword."""
    table = table_with(call.store.papers.acronym_definitions(MIN_PAPERS_FOR_LEARNED_ALIAS))
    if not call.args:
        lines = [
            f"{keyword.term} ~ {', '.join(spelled)}" + ("" if keyword.aliases else " (off)")
            for keyword in call.chat.keywords
            if (spelled := table.spelled_aliases(keyword.term))
        ]
        return Reply("\n".join(["Keywords that also match their aliases (relevance ranking):", *lines]) if lines else "None of your keywords has an alias.")
    term, _, switch = call.args.rpartition(" ")
    folded = {keyword.term.casefold(): keyword for keyword in call.chat.keywords}
    keyword = folded.get(term.strip().strip('"').casefold())
    if switch.casefold() not in ("on", "off") or keyword is None:
        raise call.usage_error("Name one of your keywords, then on or off.")
    call.require_permission()
    plain = [word for word in (k.term for k in call.chat.keywords if not k.aliases) if word != keyword.term]
    if switch.casefold() == "off":
        plain.append(keyword.term)
    call.store.chats.replace_terms(call.chat.ref, "plain", [(word, 1.0) for word in plain])
    state = "also matches " + ", ".join(table.spelled_aliases(keyword.term)) if switch.casefold() == "on" else "matches only itself"
    return Reply(f"{keyword.term} now {state}.")


def learned_summary(call: Invocation) -> str:
    """For `stats`: how many votes the chat gave and the words they taught."""
    liked, disliked = votes_by_paper(call.store.outbox.feedback_totals(call.chat.ref))
    if not liked and not disliked:
        return ""
    line = f"Feedback: {len(liked)} 👍, {len(disliked)} 👎."
    return f"{line} {_learned_line(call.chat.learned)}" if call.chat.learned else line
