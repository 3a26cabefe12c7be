"""Learning from 👍/👎: the like/dislike/more/forget/ranking/aliases commands and the buttons' event, on real papers."""
from __future__ import annotations

import dataclasses

from adapters.base import FeedbackEvent
from bot.app import StoreEvents
from core.feedback import LEARNED_WEIGHT, learned_terms
from core.matching import FieldWords
from core.models import LEARNED, Keyword
from core.scoring import score_day
from tests.commands_support import CHAT, FIXTURE_DAY, SETTINGS, context, fixture_papers, processor

async def run(store, text, can_change=True, user_id="U1"):
    return await processor(store).handle(context(can_change, user_id=user_id), text)


def _stored(store):
    papers = fixture_papers()
    store.papers.store_announcement(FIXTURE_DAY, papers)
    return papers


def _about(papers, word: str):
    return [paper for paper in papers if word in f"{paper.title} {paper.abstract}".lower()]


async def test_likes_teach_words_the_liked_papers_share_and_stats_shows_them(store):
    papers = _stored(store)
    await run(store, "start")
    liked = _about(papers, "agent")[:3]
    assert len(liked) == 3
    for paper in liked:
        reply = await run(store, f"like {paper.arxiv_id}")
        assert reply.ok
        assert f"Noted 👍 {paper.arxiv_id}" in reply.text
    learned = store.chats.require_chat(CHAT).learned
    assert learned
    assert all(keyword.weight == LEARNED_WEIGHT for keyword in learned)
    assert any(keyword.term.startswith("agent") for keyword in learned)
    assert "llm" not in {keyword.term for keyword in learned}  # already a keyword of the chat
    stats = await run(store, "stats")
    assert "Feedback: 3 👍, 0 👎. Learned so far: " in stats.text
    assert learned[0].term in stats.text


async def test_learned_words_lift_papers_on_a_later_day_and_say_so(store):
    papers = _stored(store)
    await run(store, "start")
    for paper in _about(papers, "agent")[:3]:
        await run(store, f"like {paper.arxiv_id}")
    chat = store.chats.require_chat(CHAT)
    later = [dataclasses.replace(paper, arxiv_id=f"2611.{index:05d}") for index, paper in enumerate(papers)]
    selection = score_day(later, [chat.subscription(), dataclasses.replace(chat.subscription(), subscriber="plain", learned=())],
                          SETTINGS.scoring)
    taught, plain = selection[chat.subscription().subscriber], selection["plain"]
    assert any(match.source == LEARNED for scored in taught for match in scored.matches)
    assert [s.paper.arxiv_id for s in taught] != [s.paper.arxiv_id for s in plain]


async def test_dislikes_keep_words_from_being_learned():
    papers = fixture_papers()
    liked = _about(papers, "agent")[:2]
    top = learned_terms(liked, [], papers)[0].term
    using_it = [paper for paper in papers if paper not in liked and top in FieldWords.of(f"{paper.title} {paper.abstract}").words]
    assert using_it  # another paper of the day uses the liked papers' most telling word
    assert top not in {keyword.term for keyword in learned_terms(liked, using_it[:2], papers)}
    assert top in {keyword.term for keyword in learned_terms(liked, [p for p in papers if p not in using_it][:2], papers)}


async def test_bad_ids_unknown_papers_and_unstarted_chats_get_clear_answers(store):
    _stored(store)
    assert "send \"start\" first" in (await run(store, "like 2510.18714")).text
    await run(store, "start")
    for text, expected in (("like", "Usage: like ID"), ("like banana", "is not an arXiv id"), ("like 2510.1", "is not an arXiv id"),
                           ("dislike 1999.00001", "not among the papers stored"), ("more \u202e2510.1", "is not an arXiv id")):
        reply = await run(store, text)
        assert not reply.ok, (text, reply.text)
        assert expected in reply.text, (text, reply.text)
        assert "\u202e" not in reply.text
    assert store.outbox.feedback_totals(CHAT) == {}


async def test_ids_are_read_from_links_and_versions_and_votes_replace_per_person(store):
    papers = _stored(store)
    await run(store, "start")
    arxiv_id = papers[0].arxiv_id
    assert (await run(store, f"like https://arxiv.org/abs/{arxiv_id}v2")).ok
    assert (await run(store, f"dislike {arxiv_id}", user_id="U2")).ok
    assert (await run(store, f"dislike {arxiv_id}")).ok
    assert store.outbox.feedback_totals(CHAT) == {arxiv_id: -2}


async def test_more_likes_a_paper_and_lists_others_like_it_from_the_latest_day(store):
    papers = _stored(store)
    await run(store, "start")
    paper = _about(papers, "agent")[0]
    reply = await run(store, f"more {paper.arxiv_id}")
    assert reply.ok
    assert reply.text.startswith(f"Noted 👍 {paper.arxiv_id}. Like it, from Wed 2025-10-22:")
    listed = [line for line in reply.text.splitlines() if line.startswith("• ")]
    assert 1 <= len(listed) <= 5
    assert paper.abs_url not in reply.text
    assert store.outbox.feedback_totals(CHAT) == {paper.arxiv_id: 1}


async def test_forget_drops_votes_and_what_was_learned(store):
    papers = _stored(store)
    await run(store, "start")
    for paper in _about(papers, "agent")[:2]:
        await run(store, f"like {paper.arxiv_id}")
    assert store.chats.require_chat(CHAT).learned
    reply = await run(store, "forget")
    assert reply.ok
    assert "Forgot 2 votes" in reply.text
    assert store.outbox.feedback_totals(CHAT) == {}
    assert store.chats.require_chat(CHAT).learned == ()


async def test_ranking_and_aliases_are_chat_settings(store):
    await run(store, "start")
    assert "relevance ranking" in (await run(store, "ranking")).text
    assert (await run(store, "ranking classic")).ok
    assert store.chats.require_chat(CHAT).ranking == "classic"
    assert not (await run(store, "ranking best")).ok
    shown = await run(store, "aliases")
    assert "LLM ~ large language model" in shown.text
    assert (await run(store, "aliases LLM off")).text == "LLM now matches only itself."
    assert store.chats.require_chat(CHAT).keywords == (Keyword("LLM", aliases=False),)
    assert "LLM ~ large language model (off)" in (await run(store, "aliases")).text
    assert (await run(store, "aliases llm on")).ok
    assert store.chats.require_chat(CHAT).keywords == (Keyword("LLM"),)
    assert not (await run(store, "aliases diffusion off")).ok  # not one of the chat's keywords


async def test_a_button_press_event_teaches_like_the_command(store):
    papers = _stored(store)
    await run(store, "start")
    events = StoreEvents(store, SETTINGS.defaults.categories)
    for paper in _about(papers, "agent")[:3]:
        await events(FeedbackEvent(CHAT, paper.arxiv_id, "U7", +1))
    by_button = store.chats.require_chat(CHAT).learned
    await run(store, "forget")
    for paper in _about(papers, "agent")[:3]:
        await run(store, f"like {paper.arxiv_id}", user_id="U7")
    assert by_button
    assert store.chats.require_chat(CHAT).learned == by_button
