"""The reading list: save/unsave/saved/bibtex on real papers, ids fetched once from the loopback export API, the 🔖 event."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import bibtexparser
import pytest

from adapters.base import SaveEvent
from bot.app import StoreEvents
from core.arxiv.fetcher import Fetcher
from core.commands.saved import MAX_BIBTEX_IDS, SAVED_PAGE_SIZE
from core.models import ChatRef
from core.render.bibtex import bibtex_document, citation_key
from tests.commands_support import CHAT, FIXTURE_DAY, SETTINGS, FakeServices, context, fixture_papers, processor
from tests.fakes.arxiv import FakeArxiv

API = Path(__file__).parent / "fixtures" / "arxiv" / "api"
DISCORD_CONTENT_LIMIT = 2000  # the smallest message of the three platforms: a `saved` page must fit it


@pytest.fixture
async def services(fake_arxiv: FakeArxiv, store):
    fetcher = Fetcher(fake_arxiv.settings(), store)
    yield FakeServices(fetcher=fetcher)
    await fetcher.aclose()


def _stored(store):
    papers = fixture_papers()
    store.papers.store_announcement(FIXTURE_DAY, papers)
    return papers


def _entries(text: str) -> dict[str, dict[str, str]]:
    """The BibTeX parsed back: entries by key, fields by name; any parse failure fails the test."""
    library = bibtexparser.parse_string(text)
    assert not library.failed_blocks, [block.error for block in library.failed_blocks]
    return {entry.key: {"ENTRYTYPE": entry.entry_type, **{f.key: f.value for f in entry.fields}} for entry in library.entries}


async def test_save_keeps_a_paper_counts_as_a_like_and_never_plans_a_delivery(store, services, fake_arxiv):
    papers = _stored(store)
    run = processor(store, services).handle
    assert "send \"start\" first" in (await run(context(), f"save {papers[0].arxiv_id}")).text
    await run(context(), "start")
    reply = await run(context(), f"save https://arxiv.org/abs/{papers[0].arxiv_id}v2")
    assert reply.ok
    assert reply.text.startswith(f"Saved 🔖 {papers[0].arxiv_id} “")
    assert "has 1 paper." in reply.text
    assert (await run(context(user_id="U2"), f"save {papers[0].arxiv_id}")).text.startswith("Already saved:")
    assert store.outbox.feedback_totals(CHAT) == {papers[0].arxiv_id: 2}  # each saver's 👍
    assert store.chats.require_chat(CHAT).learned  # the same re-learning a 👍 does
    assert store.outbox.delivered_ids(CHAT) == set()
    assert (await run(context(), f"unsave {papers[0].arxiv_id}")).text == f"Removed {papers[0].arxiv_id} from the reading list."
    assert not (await run(context(), f"unsave {papers[0].arxiv_id}")).ok
    assert store.saved.count_saved(CHAT) == 0
    assert fake_arxiv.api_requests() == []  # stored papers are not asked for


async def test_saved_lists_newest_first_in_pages_that_fit_a_message(store, services):
    papers = _stored(store)
    run = processor(store, services).handle
    assert "empty" in (await run(context(), "saved")).text
    await run(context(), "start")
    for paper in papers[: SAVED_PAGE_SIZE + 3]:
        assert (await run(context(), f"save {paper.arxiv_id}")).ok
        store.clock = _later(store.clock)
    first = await run(context(), "saved")
    lines = first.text.splitlines()
    assert lines[0] == f"Reading list, page 1 of 2 ({SAVED_PAGE_SIZE + 3} papers, newest first):"
    assert lines[1].startswith(f"1. {papers[SAVED_PAGE_SIZE + 2].arxiv_id} ")
    assert len(lines) == SAVED_PAGE_SIZE + 2
    assert '"saved 2" shows the next page' in lines[-1]
    second = await run(context(), "saved 2")
    assert second.text.splitlines()[-2].startswith(f"{SAVED_PAGE_SIZE + 3}. {papers[0].arxiv_id} ")
    for page in (first, second):
        assert len(page.text) <= DISCORD_CONTENT_LIMIT
    for bad in ("saved 3", "saved zero"):
        reply = await run(context(), bad)
        assert not reply.ok
        assert "page must be" in reply.text


def _later(clock):
    moment = clock()
    return lambda: moment.replace(second=(moment.second + 1) % 60, minute=moment.minute + (moment.second + 1) // 60)


async def test_bibtex_of_the_reading_list_parses_back_with_every_field(store, services):
    papers = _stored(store)
    run = processor(store, services).handle
    await run(context(), "start")
    assert "empty" in (await run(context(), "bibtex")).text
    chosen = papers[:3]
    for paper in chosen:
        await run(context(), f"save {paper.arxiv_id}")
    reply = await run(context(), "bibtex")
    assert reply.ok
    assert reply.text == "BibTeX of 3 papers (arxiv-papers.bib)."
    assert reply.attachment is not None
    assert reply.attachment.filename == "arxiv-papers.bib"
    entries = _entries(reply.attachment.content)
    assert set(entries) == {citation_key(paper) for paper in chosen}
    for paper in chosen:
        entry = entries[citation_key(paper)]
        assert entry["ENTRYTYPE"] == "misc"
        assert entry["eprint"] == paper.arxiv_id
        assert entry["archivePrefix"] == "arXiv"
        assert entry["primaryClass"] == paper.primary_category
        assert entry["year"] == str(paper.published.year)
        assert entry["author"].split(" and ") == list(paper.authors)
        assert entry["url"] == f"https://arxiv.org/abs/{paper.arxiv_id}"


async def test_named_ids_not_stored_are_fetched_once_in_one_batch_with_doi_and_journal(store, services, fake_arxiv):
    _stored(store)
    run = processor(store, services).handle
    fake_arxiv.api_body = (API / "id_list_1111.2011v2.xml").read_bytes()
    reply = await run(context(), "bibtex 1111.2011, 2510.18189")
    assert reply.ok
    assert reply.text == "BibTeX of 2 papers (arxiv-papers.bib)."
    [request] = fake_arxiv.api_requests()
    assert request.query["id_list"] == "1111.2011"  # only what the store lacks
    entry = _entries(reply.attachment.content)["murray2011_1111.2011"]
    assert entry["ENTRYTYPE"] == "article"
    assert entry["doi"] == "10.1103/PhysRevB.85.115117"
    assert entry["journal"] == "Phys. Rev. B 85, 115117 (2012)"
    assert entry["primaryClass"] == "cond-mat.str-el"
    await run(context(), "bibtex 1111.2011")
    assert len(fake_arxiv.api_requests()) == 1  # stored now: fetched once
    fake_arxiv.api_body = (API / "id_0808.05394_1707.08567_s0_m100_42e5aa0ec3af.xml").read_bytes()
    both = await run(context(), "bibtex 0808.05394 1707.08567")  # arXiv's real answer: it knows only the second
    assert both.text == "BibTeX of 1 paper (arxiv-papers.bib). arXiv has no paper 0808.05394."
    assert list(_entries(both.attachment.content)) == ["immink2017_1707.08567"]
    assert fake_arxiv.api_requests()[-1].query["id_list"] == "0808.05394,1707.08567"  # one batched request


async def test_separators_alone_name_no_ids_and_mean_the_reading_list(store, services, fake_arxiv):
    run = processor(store, services).handle
    for args in (",", " ; ", ",,"):
        reply = await run(context(), f"bibtex {args}")
        assert "empty" in reply.text
        assert not reply.ok
    assert fake_arxiv.api_requests() == []


async def test_unknown_and_malformed_ids_get_clear_answers(store, services, fake_arxiv):
    _stored(store)
    run = processor(store, services).handle
    await run(context(), "start")
    fake_arxiv.api_body = (API / "id_0000.0000_s0_m100_8b51d9633a68.xml").read_bytes()
    assert (await run(context(), "save 0000.0000")).text == "arXiv has no paper 0000.0000: check the id."
    unknown = await run(context(), "bibtex 0000.0000")
    assert not unknown.ok
    assert unknown.text == "arXiv has no paper 0000.0000."
    assert unknown.attachment is None
    partly = await run(context(), "bibtex 2510.18189 0000.0000")
    assert partly.ok
    assert partly.text.endswith("arXiv has no paper 0000.0000.")
    assert len(_entries(partly.attachment.content)) == 1
    for text, expected in (("save", "Usage: save ID"), ("save banana", "is not an arXiv id"), ("bibtex 2510.18189 x\u202e", "is not an arXiv id"),
                           ("bibtex " + " ".join(["2510.18189"] * (MAX_BIBTEX_IDS + 1)), f"At most {MAX_BIBTEX_IDS} ids")):
        reply = await run(context(), text)
        assert not reply.ok, (text, reply.text)
        assert expected in reply.text, (text, reply.text)
        assert "\u202e" not in reply.text, (text, reply.text)
    assert store.saved.count_saved(CHAT) == 0


async def test_the_reading_list_has_a_limit(store, services, monkeypatch):
    papers = _stored(store)
    monkeypatch.setattr("core.reading_list.MAX_SAVED_PER_CHAT", 2)
    run = processor(store, services).handle
    await run(context(), "start")
    for paper in papers[:2]:
        assert (await run(context(), f"save {paper.arxiv_id}")).ok
    full = await run(context(), f"save {papers[2].arxiv_id}")
    assert not full.ok
    assert "at most 2 papers" in full.text
    assert (await run(context(), f"save {papers[0].arxiv_id}")).ok  # saving again is no growth
    assert store.saved.count_saved(CHAT) == 2


def test_keys_are_stable_and_unique_and_awkward_text_still_parses():
    papers = fixture_papers()[:5]
    awkward = dataclasses.replace(
        papers[0], arxiv_id="hep-th/0601001", title="R&D of 50% {unbalanced $\\alpha$ # tricks", authors=("Jörg Müller-Lüdenscheidt",),
        journal_ref="J. Phys. A 1 (2006)", doi="10.1000/x_y",
    )
    entries = _entries(bibtex_document([*papers, awkward, papers[0]]))
    assert len(entries) == 6  # the repeated paper appears once
    assert citation_key(awkward) == "mullerludenscheidt2025_hep-th_0601001"
    assert entries[citation_key(awkward)]["title"] == "R\\&D of 50\\% \\{unbalanced $\\alpha$ \\# tricks"
    assert _entries(bibtex_document(papers[2:3])).keys() == {citation_key(papers[2])}  # the key does not depend on the list


async def test_the_save_button_event_saves_and_likes_for_started_chats_only(store):
    papers = _stored(store)
    await processor(store).handle(context(), "start")
    events = StoreEvents(store, SETTINGS.defaults.categories)
    await events(SaveEvent(CHAT, papers[1].arxiv_id, "U7"))
    await events(SaveEvent(ChatRef("console", "never-started"), papers[1].arxiv_id, "U7"))
    assert [entry.paper.arxiv_id for entry in store.saved.saved_papers(CHAT)] == [papers[1].arxiv_id]
    assert store.outbox.feedback_totals(CHAT) == {papers[1].arxiv_id: 1}
    assert store.chats.require_chat(CHAT).learned
    assert store.chats.get_chat(ChatRef("console", "never-started")) is None


async def test_a_moved_chat_keeps_its_reading_list(store):
    papers = _stored(store)
    await processor(store).handle(context(), "start")
    store.saved.save_paper(CHAT, papers[0].arxiv_id)
    moved = ChatRef("console", "supergroup")
    store.chats.get_or_create_chat(moved, SETTINGS.defaults)  # a command typed there before the move was seen
    store.saved.save_paper(moved, papers[1].arxiv_id)
    store.chats.move_chat(CHAT, moved)
    assert [entry.paper.arxiv_id for entry in store.saved.saved_papers(moved)] == [papers[0].arxiv_id]
    assert "m004_saved_papers" in store.applied_migrations()
