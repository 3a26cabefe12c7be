"""Commands about the chat's deliveries: pause, resume, status (schedule, arXiv calendar, fetches) and stats."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

from core.arxiv.calendar import current_announcement_day, is_announcement_day, next_announcement_day
from core.commands.feedback import learned_summary
from core.commands.formatting import format_keyword, schedule_line, schedule_words
from core.commands.options import DELIVERY
from core.commands.registry import Invocation, command
from core.matching import FieldWords, InvalidTerm, parse_term
from core.models import Reply
from core.render.view import plural

STATS_RECENT_PAPERS = 500  # top keywords are counted over this many most recently delivered papers
STATS_TOP_KEYWORDS = 5



@command("pause", changes_settings=True, family=DELIVERY)
async def pause(call: Invocation) -> Reply:
    """Stop scheduled digests here until resume (settings are kept)."""
    call.require_permission()
    call.store.chats.update_chat(call.chat.ref, paused=True)
    return Reply("Digests are paused. Send resume to get them again; digest still works any time.")


@command("resume", changes_settings=True, family=DELIVERY)
async def resume(call: Invocation) -> Reply:
    """Start scheduled digests again after pause."""
    call.require_permission()
    call.store.chats.update_chat(call.chat.ref, paused=False)
    call.store.chats.set_active(call.chat.ref, True)
    return Reply(f"Digests are back on. {schedule_line(call)}")


def _calendar_lines(call: Invocation, now: dt.datetime) -> list[str]:
    """Whether arXiv announces today (in its own time zone) and, if not, why and when it next does."""
    arxiv = call.settings.arxiv
    today = now.astimezone(ZoneInfo(arxiv.announcement_timezone)).date()
    latest = current_announcement_day(now, arxiv.holidays, arxiv.announcement_timezone)
    if is_announcement_day(today, arxiv.holidays):
        first = f"Today ({today:%a %Y-%m-%d}, {arxiv.announcement_timezone}) is an arXiv announcement day."
    else:
        reason = "it is a weekend" if today.weekday() >= 5 else "it is an arXiv holiday"
        following = next_announcement_day(today, arxiv.holidays)
        first = (
            f"arXiv announces nothing today ({today:%a %Y-%m-%d}): {reason}. "
            f"Next announcement: {following:%a %Y-%m-%d}."
        )
    return [first, f"Latest announcement day: {latest:%a %Y-%m-%d}."]


@command("status")
async def status(call: Invocation) -> Reply:
    """Show the next digest, whether arXiv announces today, the last fetch and any arXiv trouble."""
    now = call.store.now()
    chat = call.chat
    lines = [
        f"Digests arrive {schedule_words(chat)}. {schedule_line(call)}",
        *_calendar_lines(call, now),
    ]
    good = call.store.papers.last_fetch(("ok", "empty"))
    lines.append(
        f"Last successful arXiv fetch: {good['fetched_at']} UTC (announcements of {good['announced'] or 'no day'})."
        if good
        else "No successful arXiv fetch yet."
    )
    lines.append(f"arXiv: {call.services.arxiv_status()}")
    return Reply("\n".join(lines))


@command("stats")
async def stats(call: Invocation) -> Reply:
    """Show how many papers this chat received and which keywords matched most."""
    counts = call.store.outbox.delivery_stats(call.chat.ref)
    learned = learned_summary(call)
    if not counts.papers_sent:
        nothing = 'No paper was delivered here yet. Send "digest" to see today\'s selection.'
        return Reply(f"{nothing}\n{learned}" if learned else nothing)
    lines = [
        f"Papers delivered: {counts.papers_sent} in {plural(counts.digests_delivered, 'digest')}"
        + (f" (latest for {counts.last_digest_day:%Y-%m-%d})." if counts.last_digest_day else ".")
    ]
    if counts.papers_pending:
        lines.append(f"Waiting to be sent: {counts.papers_pending}.")
    top = _top_keywords(call)
    if top:
        lines.append("Top keywords in delivered papers: " + ", ".join(f"{term} ({count})" for term, count in top) + ".")
    if learned:
        lines.append(learned)
    return Reply("\n".join(lines))


def _top_keywords(call: Invocation) -> list[tuple[str, int]]:
    """In how many recently delivered papers each of the chat's keywords occurs (title or abstract)."""
    recent = call.store.chats.delivered_paper_ids(call.chat.ref, limit=STATS_RECENT_PAPERS)
    papers = call.store.papers.papers_by_id(recent).values()
    fields = [(FieldWords.of(paper.title), FieldWords.of(paper.abstract)) for paper in papers]
    hits: Counter[str] = Counter()
    for keyword in call.chat.keywords:
        try:
            pattern = parse_term(keyword.term)
        except InvalidTerm:  # stored before terms were checked; it matches nothing anyway
            continue
        found = sum(1 for title, abstract in fields if pattern.occurs_in(title) or pattern.occurs_in(abstract))
        if found:
            hits[format_keyword(keyword)] = found
    return hits.most_common(STATS_TOP_KEYWORDS)
