"""The command language end to end through CommandProcessor.handle, against a real (temporary) store."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from core.commands import APOLOGY, COMMAND_SPECS, MAX_COMMAND_LENGTH
from core.limits import (
    MAX_AUTHORS_PER_CHAT,
    MAX_CATEGORIES_PER_CHAT,
    MAX_EXCLUDES_PER_CHAT,
    MAX_KEYWORDS_PER_CHAT,
    MAX_PAPERS,
    MAX_SCORE,
)
from core.arxiv.errors import ArxivMalformed, ArxivUnavailable
from core.models import Keyword
from tests.commands_support import CHAT, FakeServices, context, digest_of, fixture_papers, processor


async def run(store, text, services=None, can_change=True):
    return await processor(store, services).handle(context(can_change), text)


async def test_first_command_creates_the_chat_from_config_defaults(store):
    reply = await run(store, "start")
    assert reply.ok
    assert "Keywords (1): LLM" in reply.text
    assert "cs.AI (Artificial Intelligence)" in reply.text
    chat = store.chats.get_chat(CHAT)
    assert chat.kind == "group"
    assert chat.categories == ("cs.AI", "cs.CL")
    assert chat.excludes == ("survey",)


async def test_reading_never_creates_a_chat_changing_does(store):
    for text in ("help", "keywords", "status", "time", "categories", "digest", "feed", "stats"):
        assert (await run(store, text)).ok, text
    assert store.chats.get_chat(CHAT) is None
    assert "send start" in (await run(store, "feed")).text
    assert not (await run(store, "subscribe rl", can_change=False)).ok
    assert store.chats.get_chat(CHAT) is None
    assert (await run(store, "subscribe rl")).ok
    assert store.chats.get_chat(CHAT).keywords == (Keyword("LLM"), Keyword("rl"))


async def test_start_turns_a_removed_chat_back_on(store):
    await run(store, "start")
    store.chats.set_active(CHAT, False)
    await run(store, "start", can_change=False)
    assert store.chats.get_chat(CHAT).active


async def test_subscribe_several_with_weights_and_phrases_then_list(store):
    reply = await run(store, 'subscribe rl:2, "mixture of experts", llm:3')
    assert reply.ok
    assert "Subscribed to rl:2, mixture of experts." in reply.text
    assert "Updated llm:3." in reply.text
    assert store.chats.get_chat(CHAT).keywords == (Keyword("LLM", 3.0), Keyword("rl", 2.0), Keyword("mixture of experts"))
    listing = await run(store, "keywords")
    assert listing.text.splitlines()[0] == "Keywords (3): LLM:3, rl:2, mixture of experts"


async def test_unsubscribe_reports_what_was_not_there(store):
    await run(store, "subscribe rl, moe")
    reply = await run(store, "unsubscribe RL, transformers")
    assert reply.ok
    assert reply.text == "Removed from your keywords: rl. Not in your keywords: transformers."
    missing = await run(store, "unsubscribe nothing")
    assert not missing.ok
    assert [k.term for k in store.chats.get_chat(CHAT).keywords] == ["LLM", "moe"]


async def test_exclude_and_include(store):
    assert (await run(store, 'exclude "position paper", benchmark')).ok
    assert store.chats.get_chat(CHAT).excludes == ("survey", "position paper", "benchmark")
    assert (await run(store, "include survey")).ok
    assert store.chats.get_chat(CHAT).excludes == ("position paper", "benchmark")


async def test_authors_add_remove_and_list(store):
    await run(store, "authors add Yoshua Bengio, Geoffrey Hinton")
    await run(store, "authors remove geoffrey hinton")
    assert store.chats.get_chat(CHAT).authors == ("Yoshua Bengio",)
    assert (await run(store, "authors")).text == "Followed authors: Yoshua Bengio."
    assert not (await run(store, "authors follow Ada")).ok


async def test_keyword_limit_boundary_exact_max_accepted_one_more_refused(store):
    await run(store, "start")  # LLM from the defaults
    fill = ", ".join(f"kw{index}" for index in range(MAX_KEYWORDS_PER_CHAT - 1))
    assert (await run(store, f"subscribe {fill}")).ok
    assert len(store.chats.get_chat(CHAT).keywords) == MAX_KEYWORDS_PER_CHAT
    refused = await run(store, "subscribe one-too-many")
    assert not refused.ok
    assert f"at most {MAX_KEYWORDS_PER_CHAT} keywords" in refused.text
    assert len(store.chats.get_chat(CHAT).keywords) == MAX_KEYWORDS_PER_CHAT
    assert (await run(store, "subscribe kw1:4")).ok  # changing a weight adds nothing


@pytest.mark.parametrize(
    ("command", "limit", "already"),
    [("exclude", MAX_EXCLUDES_PER_CHAT, 1), ("authors add", MAX_AUTHORS_PER_CHAT, 0)],
)
async def test_other_term_limits_at_the_boundary(store, command, limit, already):
    fill = ", ".join(f"term {index}" for index in range(limit - already))
    assert (await run(store, f"{command} {fill}")).ok
    refused = await run(store, f"{command} extra")
    assert not refused.ok
    assert f"at most {limit}" in refused.text


async def test_categories_set_add_remove_validate_and_limit(store):
    reply = await run(store, "categories CS.lg, cs.CL")
    assert reply.ok
    assert store.chats.get_chat(CHAT).categories == ("cs.LG", "cs.CL")
    await run(store, "categories add stat.ML hep-th")
    await run(store, "categories remove cs.CL")
    assert store.chats.get_chat(CHAT).categories == ("cs.LG", "stat.ML", "hep-th")
    unknown = await run(store, "categories add cs.LGG")
    assert not unknown.ok
    assert 'Unknown arXiv category "cs.LGG". Did you mean cs.LG' in unknown.text
    archive_only = await run(store, "categories cs")
    assert not archive_only.ok
    assert not (await run(store, "categories remove cs.LG stat.ML hep-th")).ok
    assert store.chats.get_chat(CHAT).categories == ("cs.LG", "stat.ML", "hep-th")
    codes = [spec for spec in ("cs.AI cs.AR cs.CC cs.CE cs.CG cs.CL cs.CR cs.CV cs.CY cs.DB cs.DC cs.DL cs.DM cs.DS "
                               "cs.ET cs.FL cs.GL cs.GR cs.GT cs.HC cs.IR").split()]
    assert (await run(store, "categories " + " ".join(codes[:MAX_CATEGORIES_PER_CHAT]))).ok
    too_many = await run(store, "categories " + " ".join(codes[: MAX_CATEGORIES_PER_CHAT + 1]))
    assert not too_many.ok
    assert str(MAX_CATEGORIES_PER_CHAT) in too_many.text
    assert len(store.chats.get_chat(CHAT).categories) == MAX_CATEGORIES_PER_CHAT


async def test_category_listing_comes_from_the_taxonomy(store):
    archives = await run(store, "categories list")
    assert "astro-ph" in archives.text
    assert "q-fin" in archives.text
    assert "cs.LG - Machine Learning" in (await run(store, "categories list cs")).text


async def test_switches_numbers_and_language(store):
    for text in ("crosslists off", "summaries off", "max 7", "minscore 4.5", "language ZH"):
        assert (await run(store, text)).ok, text
    chat = store.chats.get_chat(CHAT)
    assert (chat.crosslists, chat.summaries, chat.max_papers, chat.min_score, chat.language) == (False, False, 7, 4.5, "zh")
    assert (await run(store, f"max {MAX_PAPERS}")).ok
    for bad in (f"max {MAX_PAPERS + 1}", "max 0", "max lots", "minscore -1", "minscore nan", "language klingon", "summaries perhaps"):
        assert not (await run(store, bad)).ok, bad
    assert store.chats.get_chat(CHAT).max_papers == MAX_PAPERS
    assert "Summaries are off" in (await run(store, "summaries")).text


async def test_time_and_zone_are_validated_and_shown_in_local_time(store):
    services = FakeServices(next_at=dt.datetime(2026, 10, 24, 6, 0, tzinfo=dt.timezone.utc))
    reply = await run(store, "time 08:00 europe/berlin", services)
    assert reply.ok
    assert "08:00 Europe/Berlin" in reply.text
    assert "Sat 2026-10-24 08:00 CEST" in reply.text  # summer time
    chat = store.chats.get_chat(CHAT)
    assert (chat.delivery_time, chat.timezone) == (dt.time(8, 0), "Europe/Berlin")
    services.next_at = dt.datetime(2026, 10, 26, 7, 0, tzinfo=dt.timezone.utc)
    assert "Mon 2026-10-26 08:00 CET" in (await run(store, "time", services)).text  # after the switch
    assert (await run(store, "time Pacific/Kiritimati", services)).ok
    assert store.chats.get_chat(CHAT).delivery_time == dt.time(8, 0)
    assert store.chats.get_chat(CHAT).timezone == "Pacific/Kiritimati"
    for bad in ("time 25:00", "time 08:00 Mars/Base", "time Nowhere", "time 8 30 UTC x", "time later UTC"):
        refused = await run(store, bad, services)
        assert not refused.ok, bad
        assert "\n" not in refused.text, bad
    assert store.chats.get_chat(CHAT).timezone == "Pacific/Kiritimati"


@pytest.mark.parametrize(
    ("now", "planned", "expected"),
    [
        # Friday's feed is out at 04:30 UTC; 08:00 in Berlin is still summer time (UTC+2) that day.
        (dt.datetime(2026, 10, 23, 5, 0), {dt.date(2026, 10, 22)}, "Next digest: Fri 2026-10-23 08:00 CEST (in 1 h)."),
        # After Friday's digest the next is Monday's, after the switch to winter time on Sunday.
        (dt.datetime(2026, 10, 24, 12, 0), {dt.date(2026, 10, 22), dt.date(2026, 10, 23)},
         "Next digest: Mon 2026-10-26 08:00 CET (in 1 d 19 h)."),
    ],
)
async def test_time_reply_uses_the_real_schedule_across_dst(tmp_path, now, planned, expected):
    from bot.schedule_times import next_delivery
    from core.store import Store

    clock_store = Store(tmp_path / "dst.db", clock=lambda: now.replace(tzinfo=dt.timezone.utc))

    class ScheduleServices(FakeServices):
        def next_delivery(self, chat):
            return next_delivery(chat, clock_store.now(), planned)

    reply = await run(clock_store, "time 08:00 Europe/Berlin", ScheduleServices())
    assert reply.text.endswith(expected), reply.text
    clock_store.close()


# A valid argument for each settings command: the permission test must not pass for a usage error.
CHANGES = {
    "subscribe": "subscribe rl",
    "unsubscribe": "unsubscribe llm",
    "exclude": "exclude benchmark",
    "include": "include survey",
    "authors": "authors add Ada Lovelace",
    "categories": "categories add cs.CV",
    "crosslists": "crosslists off",
    "time": "time 09:15 Asia/Tokyo",
    "schedule": "schedule weekly mon",
    "max": "max 3",
    "minscore": "minscore 9",
    "summaries": "summaries off",
    "language": "language de",
    "feed": "feed reset",
    "pause": "pause",
    "resume": "resume",
    "ranking": "ranking classic",
    "aliases": "aliases llm off",
    "forget": "forget",
}


def test_every_settings_command_has_a_permission_case():
    assert set(CHANGES) == {spec.name for spec in COMMAND_SPECS if spec.changes_settings}


@pytest.mark.parametrize("name", sorted(CHANGES))
async def test_settings_changes_are_refused_without_permission_reading_is_open(store, name):
    await run(store, "start")
    before = store.chats.get_chat(CHAT)
    refused = await run(store, CHANGES[name], can_change=False)
    assert not refused.ok
    assert "admins" in refused.text
    assert store.chats.get_chat(CHAT) == before
    assert store.chats.chat_configurer(CHAT) == ""
    bare_reads = name not in ("subscribe", "unsubscribe", "exclude", "include", "pause", "resume", "forget")
    reading = await run(store, name if bare_reads else "keywords", can_change=False)
    assert reading.ok
    allowed = await run(store, CHANGES[name])
    assert allowed.ok, allowed.text
    assert store.chats.chat_configurer(CHAT) == "U1"


async def test_first_configurer_rule_lets_the_first_non_admin_keep_configuring(store):
    """Where the platform's policy allows it (Slack's admins_or_configurer), whoever changed a channel's
    settings first may keep changing them; until someone has, anyone may; everyone else is refused."""
    commands = processor(store)

    def member(user_id: str):
        return dataclasses.replace(context(can_change=False, user_id=user_id), configurer_may_change=True)

    assert (await commands.handle(member("UFIRST"), "max 5")).ok
    assert store.chats.chat_configurer(CHAT) == "UFIRST"
    assert (await commands.handle(member("UFIRST"), "max 6")).ok
    refused = await commands.handle(member("UOTHER"), "max 7")
    assert not refused.ok
    assert "admins" in refused.text
    assert not (await commands.handle(context(can_change=False, user_id="UFIRST"), "max 8")).ok  # the policy is off
    assert (await commands.handle(context(user_id="UADMIN"), "max 9")).ok  # admins always may
    assert store.chats.require_chat(CHAT).max_papers == 9


async def test_command_length_and_score_boundaries(store):
    assert (await run(store, "help" + " " * (MAX_COMMAND_LENGTH - 4))).ok
    too_long = await run(store, "help" + " " * (MAX_COMMAND_LENGTH - 3))
    assert not too_long.ok
    assert str(MAX_COMMAND_LENGTH) in too_long.text
    assert (await run(store, f"minscore {MAX_SCORE:g}")).ok
    assert not (await run(store, f"minscore {MAX_SCORE + 0.01:g}")).ok
    assert (await run(store, "minscore 0")).ok
    assert store.chats.get_chat(CHAT).min_score == 0


@pytest.mark.parametrize("text", ["subscribe ---", "subscribe *a", "subscribe qu*ant", "exclude !!"])
async def test_terms_the_matcher_cannot_use_are_refused(store, text):
    reply = await run(store, text)
    assert not reply.ok
    assert "cannot be used" in reply.text
    assert store.chats.get_chat(CHAT) is None  # refused before anything was stored


async def test_unknown_and_malformed_commands_get_one_line_hints(store):
    unknown = await run(store, "subscirbe llm")
    assert not unknown.ok
    assert 'Did you mean "subscribe"?' in unknown.text
    for text in ("subscribe", 'subscribe "open', "max", "search", "authors add", "feed everything", "", "help nothing"):
        reply = await run(store, text)
        assert "\n" not in reply.text, text
        assert "Traceback" not in reply.text, text
    assert not (await run(store, "x" * (MAX_COMMAND_LENGTH + 1))).ok
    assert not (await run(store, "subscribe " + "k, " * 400)).ok


async def test_unexpected_failure_is_logged_and_answered_with_an_apology(store, caplog):
    class BrokenServices(FakeServices):
        async def search(self, query, limit):
            raise RuntimeError("boom")

    reply = await run(store, "search attention", BrokenServices())
    assert reply == type(reply)(APOLOGY, ok=False)
    assert "search" in caplog.text
    assert "console:tester" in caplog.text
    assert "boom" in caplog.text


@pytest.mark.parametrize(
    ("failure", "advice"),
    [
        (ArxivUnavailable("503 after 4 tries", retry_after=600), "try again in about 10 min"),
        (ArxivUnavailable("timeout"), "try again in a few minutes"),
        (ArxivMalformed("truncated XML"), "could not be read just now"),
    ],
)
async def test_arxiv_trouble_is_explained_not_apologized_for(store, failure, advice):
    class FailingServices(FakeServices):
        async def digest_now(self, chat):
            raise failure

    reply = await run(store, "digest", FailingServices())
    assert not reply.ok
    assert advice in reply.text
    assert "\n" not in reply.text


async def test_digest_now_returns_the_digest(store):
    papers = fixture_papers()[:3]
    services = FakeServices(digest=digest_of(papers))
    reply = await run(store, "digest", services)
    assert reply.ok
    assert reply.digest is services.digest
    assert not reply.ephemeral
    assert "3 papers of 24 considered" in reply.text
    assert services.digests_for[0].ref == CHAT
    unmatched = await run(store, "digest", FakeServices(digest=digest_of([])))
    assert unmatched.digest is None
    assert "No paper of 2025-10-22 matched" in unmatched.text
    nothing_stored = dataclasses.replace(digest_of([]), considered=0)
    failing = FakeServices(digest=nothing_stored, status_line="the latest fetch failed (HTTP 503).")
    empty = await run(store, "digest", failing)
    assert not empty.ok
    assert "No papers of 2025-10-22 are stored" in empty.text
    assert "arXiv: the latest fetch failed (HTTP 503)." in empty.text


async def test_search_lists_top_results(store):
    services = FakeServices(search_results=fixture_papers())
    reply = await run(store, "search   diffusion   models", services)
    assert services.searches == [("diffusion models", 5)]
    lines = reply.text.splitlines()
    assert lines[0] == 'Top 5 arXiv results for "diffusion models":'
    assert lines[1].startswith("1. A Generalizable Light Transport 3D Embedding for Global Illumination - Bing Xu et al.")
    assert lines[1].endswith("https://arxiv.org/abs/2510.18189")


async def test_feed_shows_the_token_url_and_reset_revokes_it(store):
    await run(store, "start")
    old_token = store.chats.get_chat(CHAT).feed_token
    assert old_token in (await run(store, "feed")).text
    reset = await run(store, "feed reset")
    new_token = store.chats.get_chat(CHAT).feed_token
    assert new_token != old_token
    assert new_token in reset.text
    assert store.chats.chat_by_feed_token(old_token) is None


async def test_pause_resume_and_status(store):
    services = FakeServices(status_line="throttled until 12:05 UTC (429 from arXiv).")
    await run(store, "pause")
    assert store.chats.get_chat(CHAT).paused
    paused = await run(store, "status", services)
    assert "paused" in paused.text
    resumed = await run(store, "resume", services)
    assert not store.chats.get_chat(CHAT).paused
    assert "Next digest: Fri 2026-09-25 08:00 UTC" in resumed.text
    status = (await run(store, "status", services)).text
    # The test clock is Thursday 2026-09-24 12:00 UTC.
    assert "Today (Thu 2026-09-24, America/New_York) is an arXiv announcement day." in status
    assert "No successful arXiv fetch yet." in status
    assert "throttled until 12:05 UTC" in status


async def test_status_explains_weekends_and_holidays(tmp_path):
    from core.store import Store

    saturday = Store(tmp_path / "sat.db", clock=lambda: dt.datetime(2026, 9, 26, 15, 0, tzinfo=dt.timezone.utc))
    saturday.papers.record_fetch("feed", ["cs.AI"], dt.date(2026, 9, 25), "ok", 120)
    status = (await run(saturday, "status")).text
    assert "arXiv announces nothing today (Sat 2026-09-26): it is a weekend. Next announcement: Mon 2026-09-28." in status
    assert "Last successful arXiv fetch: 2026-09-26T15:00:00+00:00 UTC (announcements of 2026-09-25)" in status
    saturday.close()


async def test_stats_counts_delivered_papers(store):
    await run(store, "start")
    assert "No paper was delivered here yet" in (await run(store, "stats")).text
    papers = fixture_papers()[:2]
    store.papers.store_announcement(dt.date(2025, 10, 22), papers)
    digest = digest_of(papers)
    store.outbox.plan_digest(CHAT, digest.announcement_day, digest.plan_entries())
    store.outbox.mark_sent(CHAT, [p.arxiv_id for p in papers], "m1")
    store.outbox.finish_digest_day(CHAT, digest.announcement_day)
    await run(store, "subscribe diffusion, 3d, embeddings, nothing-here")
    reply = (await run(store, "stats")).text
    assert "Papers delivered: 2 in 1 digest (latest for 2025-10-22)." in reply
    # Paper 1 (light transport) mentions 3D and embedding(s); paper 2 (ORDENA) neither.
    assert reply.splitlines()[-1] == "Top keywords in delivered papers: 3d (1), embeddings (1)."


async def test_stored_keywords_and_accented_authors_can_be_removed_however_spelled(store):
    assert (await run(store, "subscribe llm:1,5")).ok
    assert [k.weight for k in store.chats.get_chat(CHAT).keywords if k.term.casefold() == "llm"] == [1.5]
    assert "5" not in [k.term for k in store.chats.get_chat(CHAT).keywords]
    store.chats.add_terms(CHAT, "keyword", [("pre*training", 1.0)], limit=100)  # stored before such terms were refused
    assert (await run(store, "unsubscribe pre*training")).ok
    assert "pre*training" not in [k.term for k in store.chats.get_chat(CHAT).keywords]
    assert (await run(store, "authors add José García")).ok
    assert (await run(store, "authors add Jose Garcia")).ok
    assert store.chats.get_chat(CHAT).authors == ("José García",)  # one person, as the matcher sees it
    assert (await run(store, "authors remove JOSE GARCIA")).ok
    assert store.chats.get_chat(CHAT).authors == ()
    assert (await run(store, "unsubscribe LLM:2")).ok  # a weight typed out of habit does not matter
    assert "llm" not in [k.term.casefold() for k in store.chats.get_chat(CHAT).keywords]


async def test_help_reads_names_like_commands_do(store):
    assert "subscribe" in (await run(store, "help subscribe@arxivbot")).text
    assert "subscribe" in (await run(store, "help /Subscribe")).text
    hostile = await run(store, "help \u202etxt.exe")
    assert not hostile.ok
    assert "\u202e" not in hostile.text
    assert '"txt.exe"' in hostile.text
    assert (await run(store, "minscore -0")).text == "Papers now need a score of at least 0."


async def test_time_takes_am_pm_and_bare_hours(store):
    assert (await run(store, "time 8:30 pm Europe/Berlin")).ok
    chat = store.chats.get_chat(CHAT)
    assert (chat.delivery_time, chat.timezone) == (dt.time(20, 30), "Europe/Berlin")
    assert (await run(store, "time 7")).ok
    assert store.chats.get_chat(CHAT).delivery_time == dt.time(7, 0)


async def test_a_subscribe_list_adds_the_good_items_and_says_which_were_not_and_why(store):
    reply = await run(store, 'subscribe diffusion, C++, rl:20, "mixture of experts", ---')
    assert reply.ok, reply.text
    assert reply.text.startswith("Subscribed to ")
    assert "diffusion" in reply.text.split("Not added")[0]
    not_added = reply.text.split("Not added: ", 1)[1]
    assert '"C++" (The keyword' in not_added
    assert '"rl:20" (The weight must be from 0.1 to 10' in not_added
    assert '"---" (The keyword' in not_added
    assert {keyword.term for keyword in store.chats.get_chat(CHAT).keywords} >= {"diffusion", "mixture of experts"}
    assert not {"C++", "rl", "---"} & {keyword.term for keyword in store.chats.get_chat(CHAT).keywords}
    assert "\n" not in reply.text


async def test_a_subscribe_list_with_nothing_usable_adds_nothing(store):
    reply = await run(store, "subscribe C++, llm:0")
    assert not reply.ok
    assert reply.text.startswith("Nothing was added: ")
    assert '"C++"' in reply.text
    assert '"llm:0"' in reply.text
    assert store.chats.get_chat(CHAT) is None


@pytest.mark.parametrize("spec", [spec for spec in COMMAND_SPECS if not spec.takes_arguments], ids=lambda spec: spec.name)
async def test_commands_that_take_nothing_refuse_extra_words_with_their_usage(store, spec):
    await run(store, "start")
    before = store.chats.get_chat(CHAT)
    reply = await run(store, f"{spec.name} now please")
    assert not reply.ok
    assert reply.text == f'"{spec.name}" takes nothing after it. Usage: {spec.usage}'
    assert store.chats.get_chat(CHAT) == before  # "pause now" did not pause
    assert (await run(store, f"/{spec.name}@arxivbot")).ok  # the bare command, as menus send it, still works
