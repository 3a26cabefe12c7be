"""The relevance ranking on real days: specific words before generic ones, phrase words, aliases, min_score."""
from __future__ import annotations

import dataclasses

import numpy as np

from core.aliases import CURATED, AliasTable, defined_acronyms, paper_definitions, table_with
from core.config import ScoringSettings
from core.models import KEYWORD, PHRASE_WORD, Keyword, Subscription
from core.relevance import informativeness, phrase_words
from core.scoring import score_day
from tests.scoring_support import make_paper, real_papers

SCORING = ScoringSettings(title_bonus=2.0, author_points=5.0)
DAY = real_papers()  # 1,200 real papers of two announcement days: the terms' background


def ranked(extra, *keywords: Keyword | str, ranking: str = "relevance", **options) -> list:
    terms = tuple(k if isinstance(k, Keyword) else Keyword(k) for k in keywords)
    subscription = Subscription("chat", terms, ranking=ranking, max_papers=options.pop("max_papers", 2000), **options)
    return score_day([*DAY, *extra], [subscription], SCORING)["chat"]


def position(selection: list, arxiv_id: str) -> int:
    return [scored.paper.arxiv_id for scored in selection].index(arxiv_id)


def test_a_specific_word_outranks_generic_title_words_that_classic_ranks_first() -> None:
    generic = make_paper("9999.00001", "An Efficient Framework for Everything", "We propose a network.")
    specific = make_paper("9999.00002", "Draft trees", "We study speculative decoding for faster generation.")
    keywords = ("efficient", "framework", "speculative decoding")
    classic = ranked([generic, specific], *keywords, ranking="classic")
    relevance = ranked([generic, specific], *keywords)
    assert position(classic, "9999.00001") < position(classic, "9999.00002")  # 6 title points against 1
    assert position(relevance, "9999.00002") < position(relevance, "9999.00001")


def test_informativeness_falls_with_how_many_papers_use_a_word() -> None:
    rare, half = informativeness(np.array([5.0, 1000.0]), 2000)
    assert rare > 1.5 > 0.3 > half  # 5 of 2,000 papers against half of them


def test_a_title_and_abstract_hit_saturates_instead_of_adding_up() -> None:
    both = make_paper("9999.00003", "Speculative decoding", "Speculative decoding speculative decoding.")
    title_only = make_paper("9999.00013", "Speculative decoding", "Draft models for faster generation.")
    scores = {s.paper.arxiv_id: s.score for s in ranked([both, title_only], "speculative decoding")}
    # An abstract hit on top of a title hit adds a little (BM25 saturation), far from doubling the score.
    assert scores["9999.00013"] < scores["9999.00003"] < 1.25 * scores["9999.00013"]


def test_phrase_words_reach_papers_that_split_the_phrase_and_rank_them_below_the_phrase() -> None:
    split = make_paper("9999.00004", "Agents that plan", "An LLM-based agent for web tasks.")
    whole = make_paper("9999.00005", "Planning", "We build an LLM agent for web tasks.")
    relevance = ranked([split, whole], "LLM agent")
    assert position(relevance, "9999.00005") < position(relevance, "9999.00004")
    found = relevance[position(relevance, "9999.00004")]
    assert found.related
    assert {m.source for m in found.matches} == {PHRASE_WORD}
    assert all(m.via == "LLM agent" for m in found.matches)
    assert "9999.00004" not in [s.paper.arxiv_id for s in ranked([split, whole], "LLM agent", ranking="classic")]


def test_a_word_in_several_phrases_collects_each_share() -> None:
    words = dict((keyword.term, keyword.weight) for keyword, _ in phrase_words((Keyword("LLM agent"), Keyword("web agent"))))
    assert words == {"llm": 0.2, "agent": 0.4, "web": 0.2}


def test_min_score_still_counts_keyword_points_under_relevance() -> None:
    split = make_paper("9999.00004", "Agents that plan", "An LLM-based agent for web tasks.")
    titled = make_paper("9999.00006", "An LLM agent that plans", "Planning.")
    picked = [s.paper.arxiv_id for s in ranked([split, titled], "LLM agent", min_score=2.5)]
    # a title keyword is 3 points; phrase words none
    assert "9999.00006" in picked
    assert "9999.00004" not in picked


def test_an_acronym_and_its_expansion_are_one_term_unless_switched_off() -> None:
    spelled_out = make_paper("9999.00007", "Reasoning in large language models", "We probe large language models.")
    relevance = ranked([spelled_out], "LLM")
    [match] = relevance[position(relevance, "9999.00007")].matches
    assert (match.term, match.source, match.in_title) == ("LLM", KEYWORD, True)
    assert "9999.00007" not in [s.paper.arxiv_id for s in ranked([spelled_out], "LLM", ranking="classic")]
    assert "9999.00007" not in [s.paper.arxiv_id for s in ranked([spelled_out], Keyword("LLM", aliases=False))]
    both = make_paper("9999.00008", "LLMs", "Large language models (LLMs) count once.")
    [counted_once] = ranked([both], "LLM")[position(ranked([both], "LLM"), "9999.00008")].matches
    assert counted_once.term == "LLM"


def test_papers_teach_acronyms_and_only_one_dominant_expansion_is_learned() -> None:
    defined = {pair for paper in DAY for pair in paper_definitions(paper.title, paper.abstract)}
    assert ("llm", "large language model") in defined
    assert len(defined) > 50
    assert ("MoE", "mixture of experts") in defined_acronyms("sparse Mixture-of-Experts (MoE) layers")
    assert not defined_acronyms("as shown in the figure (Fig) and (see Table)")
    table = table_with([("cl", "continual learning", 5), ("cl", "contrastive learning", 4), ("ppo", "proximal policy optimization", 3)])
    assert table.spelled_aliases("CL") == ()
    assert table.spelled_aliases("PPO") == ("proximal policy optimization",)
    assert table.spelled_aliases("proximal policy optimization") == ("ppo",)
    assert table.spelled_aliases("LLMs") == CURATED.spelled_aliases("LLM") == ("large language model",)


def test_aliases_never_chain_through_a_shared_acronym() -> None:
    table = AliasTable.of([("CL", "continual learning"), ("CL", "contrastive learning")])
    assert table.spelled_aliases("continual learning") == ("cl",)
    assert "contrastive learning" not in table.spelled_aliases("continual learning")


def test_the_ranking_of_a_chat_is_its_own_choice_in_one_pass() -> None:
    generic = make_paper("9999.00001", "An Efficient Framework for Everything", "We propose a network.")
    specific = make_paper("9999.00002", "Draft trees", "We study speculative decoding for faster generation.")
    keywords = tuple(Keyword(term) for term in ("efficient", "framework", "speculative decoding"))
    classic = Subscription("classic", keywords, ranking="classic", max_papers=2000)
    relevance = dataclasses.replace(classic, subscriber="relevance", ranking="relevance")
    selection = score_day([*DAY, generic, specific], [classic, relevance], SCORING)
    assert selection["classic"] == ranked([generic, specific], *keywords, ranking="classic")
    assert selection["relevance"] == ranked([generic, specific], *keywords)


def test_the_explanation_names_keywords_then_split_phrase_words_then_learned_words() -> None:
    from core.models import LEARNED, KeywordMatch, ScoredPaper
    from core.render.view import matched_terms_text

    paper = make_paper("9999.00009", "t", "a")
    matches = (
        KeywordMatch("LLM agent", True, False, 2.0),
        KeywordMatch("llm", True, False, 0.2, PHRASE_WORD, "LLM agent"),
        KeywordMatch("tool", False, True, 0.1, PHRASE_WORD, "tool use"),
        KeywordMatch("web", False, True, 0.1, LEARNED),
    )
    text = matched_terms_text(ScoredPaper(paper, 2.4, matches))
    assert text == "LLM agent (title); words of your phrases: tool; learned from 👍: web"
