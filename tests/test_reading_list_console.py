"""The reading list end to end on the console, through the app's real services and the loopback arXiv."""
from __future__ import annotations

from pathlib import Path

import bibtexparser


API = Path(__file__).parent / "fixtures" / "arxiv" / "api"


async def test_save_saved_bibtex_and_the_feed_links_on_the_console(console_world, fake_arxiv):
    world, terminal, app = console_world
    await terminal.type("/start", "digest")
    fake_arxiv.api_body = (API / "id_list_1111.2011v2.xml").read_bytes()
    await terminal.type("/save 1111.2011", "Saved 🔖 1111.2011")
    listed = await terminal.type("/saved", "Reading list, page 1 of 1")
    assert "1. 1111.2011 Quantum Criticality for Extended Nodes" in listed
    shown = await terminal.type("/bibtex", "\n}\n")
    text = shown.split("--- arxiv-papers.bib ---\n", 1)[1]
    [entry] = bibtexparser.parse_string(text).entries
    assert entry.key == "murray2011_1111.2011"
    assert entry["journal"] == "Phys. Rev. B 85, 115117 (2012)"
    assert len(fake_arxiv.api_requests()) == 1  # the paper was fetched once and stored
    links = await terminal.type("/feed", "Its reading list:")
    assert "/saved.xml" in links
    await terminal.type("/unsave 1111.2011", "Removed 1111.2011")
    await terminal.type("/saved", "The reading list is empty")
