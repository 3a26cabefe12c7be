"""Parsing real rss.arxiv.org feeds (RSS 2.0 and Atom) and arXiv-format feeds built from real paper lists."""
from __future__ import annotations

import collections
import datetime as dt
from pathlib import Path

import pytest

from core.arxiv.errors import ArxivMalformed
from core.arxiv.feed import clean_text, parse_feed, split_arxiv_id, split_authors
from tests.fakes.arxiv import build_rss, load_paper_list

FIXTURES = Path(__file__).parent / "fixtures" / "arxiv"
RSS = FIXTURES / "msudars_laya-reader_arxiv_rss.xml"
ATOM = FIXTURES / "sakshamchitkara-dotcom_paper-forge_arxiv_rss_atom.xml"


def test_real_rss_every_field() -> None:
    page = parse_feed(RSS.read_bytes())
    assert page.announcement_day == dt.date(2026, 9, 24)
    drift, signal, outlier, polytope = page.papers
    assert (drift.arxiv_id, drift.version, drift.announce_type) == ("2609.26811", 1, "new")
    assert drift.title == "The Drift Contract: Spectral Updates for Depth-Robust Local Learning"
    assert drift.authors == ("Fabien Polly",)
    assert drift.abstract.startswith("Local learning trains each layer with its own auxiliary loss")
    assert drift.abstract.endswith("precisely where normalization is absent.")
    assert "Announce Type" not in drift.abstract
    assert "\n" not in drift.abstract
    assert drift.announced == dt.date(2026, 9, 24)
    assert drift.published is None
    assert signal.authors == ("Naser Mansour", "Sidahmed Benabderrahmane", "Ameer Rahwan")
    assert signal.categories == ("cs.LG", "cs.AI")
    assert signal.primary_category == "cs.LG"
    assert (outlier.version, outlier.announce_type, outlier.is_crosslist) == (2, "cross", True)
    assert outlier.categories == ("stat.ME", "stat.AP", "stat.ML")
    assert outlier.primary_category == "stat.ME"
    assert outlier.doi == "10.1093/bioinformatics/btac431"
    assert drift.doi == ""
    assert (polytope.arxiv_id, polytope.version, polytope.announce_type) == ("2009.13987", 3, "replace")
    assert polytope.is_replacement
    assert polytope.versioned_id == "2009.13987v3"


def test_real_atom_every_field() -> None:
    page = parse_feed(ATOM.read_bytes())
    assert page.announcement_day == dt.date(2026, 9, 25)
    smiles, particles, attribution = page.papers
    assert (smiles.arxiv_id, smiles.version, smiles.announce_type) == ("2609.28553", 1, "new")
    assert smiles.title.startswith("SMILESGNN: Interpretable Clinical Toxicity Prediction")
    assert smiles.journal_ref == "2026 International Conference on Multimedia Analysis and Pattern Recognition (MAPR)"
    assert smiles.doi == "10.1109/MAPR72750.2026.11685822"
    assert len(smiles.authors) == 6
    assert smiles.authors[-1] == "Trong Nghia Nguyen"
    assert smiles.abstract.startswith("Drug toxicity prediction is critical")
    assert (particles.announce_type, particles.primary_category) == ("cross", "hep-ph")
    assert particles.categories == ("hep-ph", "cs.LG", "hep-ex")
    assert (attribution.version, attribution.announce_type) == (3, "replace")
    assert all(p.announced == dt.date(2026, 9, 25) for p in page.papers)


def test_built_feed_round_trips_a_real_day_with_every_announce_type() -> None:
    day = dt.date(2026, 4, 21)
    papers = load_paper_list(FIXTURES / "wanzhouliu_2026-04-21.json", day)
    page = parse_feed(build_rss(papers, day, ["cs.CV"]))
    assert page.announcement_day == day
    assert collections.Counter(p.announce_type for p in page.papers) == {
        "new": 40, "cross": 40, "replace": 40, "replace-cross": 39,
    }
    for built, parsed in zip(papers, page.papers, strict=True):
        assert (parsed.arxiv_id, parsed.title, parsed.authors, parsed.abstract) == (
            built.arxiv_id, built.title, built.authors, built.abstract,
        )
        assert parsed.categories == built.categories
        assert parsed.primary_category == built.categories[0]


def test_unicode_and_latex_survive_parsing() -> None:
    papers = {p.arxiv_id: p for p in load_paper_list(FIXTURES / "dw-dengwei_2025-10-22.jsonl")}
    parsed = {p.arxiv_id: p for p in parse_feed(build_rss(list(papers.values()), dt.date(2025, 10, 22))).papers}
    assert len(parsed) == len(papers) == 216
    assert parsed["2510.18851"].title == "DP$^2$O-SR: Direct Perceptual Preference Optimization for Real-World Image Super-Resolution"
    assert parsed["2510.18637"].title.startswith("ε-Seg")
    assert "Petar Veličković" in parsed["2510.18554"].authors
    assert "Marko Robnik-Šikonja" in parsed["2510.18561"].authors
    with_latex = [i for i, p in papers.items() if "$" in p.abstract]
    assert with_latex
    assert all(parsed[i].abstract == papers[i].abstract for i in with_latex)


def test_empty_and_weekend_feeds() -> None:
    assert load_paper_list(FIXTURES / "wanzhouliu_2026-04-25.json") == []  # a real Saturday: empty_feed
    holiday = parse_feed(build_rss([], dt.date(2026, 12, 25)))
    assert (holiday.announcement_day, holiday.papers) == (dt.date(2026, 12, 25), ())
    weekend = parse_feed(build_rss([], None))
    assert (weekend.announcement_day, weekend.papers) == (None, ())


# Hostile documents: entity expansion and an external file; neither is ever expanded or read.
BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
    b'<rss version="2.0"><channel><item><title>&d;</title></item></channel></rss>'
)
EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
    b'<rss version="2.0"><channel><item><title>&secret;</title></item></channel></rss>'
)


@pytest.mark.parametrize(
    "body",
    [
        RSS.read_bytes()[:4000],  # truncated mid-item
        b"",
        b"<html><body>arXiv is down for maintenance</body></html>",
        b'<?xml version="1.0"?><rss version="2.0"></rss>',
        BILLION_LAUGHS,
        EXTERNAL_ENTITY,
    ],
)
def test_malformed_feeds_raise(body: bytes) -> None:
    with pytest.raises(ArxivMalformed):
        parse_feed(body)


def test_items_without_an_id_are_skipped_and_duplicates_merged() -> None:
    body = RSS.read_bytes().replace(b"oai:arXiv.org:2609.26811v1", b"nonsense", 1)
    body = body.replace(b"arXiv:2609.26811v1 Announce", b"Announce", 1)
    body = body.replace(b"oai:arXiv.org:2009.13987v3", b"oai:arXiv.org:2609.26820v1")
    body = body.replace(b"https://arxiv.org/abs/2609.26811", b"https://arxiv.org/abs/")
    assert [p.arxiv_id for p in parse_feed(body).papers] == ["2609.26820", "2205.06398"]


def test_id_and_text_helpers() -> None:
    assert split_arxiv_id("oai:arXiv.org:2609.26811v12") == ("2609.26811", 12)
    assert split_arxiv_id("http://arxiv.org/abs/hep-th/0601001v2") == ("hep-th/0601001", 2)
    assert split_arxiv_id("math.GT/0309136") == ("math.GT/0309136", 1)
    assert split_arxiv_id("no id here") is None
    assert split_authors("A. One, B. Two and C. Three") == ("A. One", "B. Two", "C. Three")
    assert clean_text("  Spectral\n  updates\tfor $\\alpha$-nets ") == "Spectral updates for $\\alpha$-nets"
    assert clean_text("Cafe\u0301") == "Café"  # NFC: one code point, so matching and dedupe agree


def test_old_title_suffix_and_unknown_type() -> None:
    body = RSS.read_bytes().replace(
        b"Random Polytope Descriptors</title>", b"Random Polytope Descriptors (arXiv:2009.13987v3 [cs.LG] UPDATED)</title>"
    ).replace(b"<arxiv:announce_type>replace</arxiv:announce_type>", b"<arxiv:announce_type>odd</arxiv:announce_type>")
    polytope = parse_feed(body).papers[-1]
    assert polytope.title == "Random Polytope Descriptors"
    assert polytope.announce_type == "new"
