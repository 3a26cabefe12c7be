"""Whole-word, phrase, plural, wildcard, unicode and LaTeX matching of one term against one text."""
from __future__ import annotations

import pytest

from core.matching import FieldWords, InvalidTerm, fold, normalize_author, parse_term, word_forms


def occurs(term: str, text: str) -> bool:
    return parse_term(term).occurs_in(FieldWords.of(text))


@pytest.mark.parametrize(
    ("term", "text"),
    [
        ("LLM", "We study LLMs at scale"),
        ("LLM", "the LLM's answers"),
        ("LLM", "LLM-based agents"),
        ("llm", "An LLM."),
        ("LLMs", "a single LLM"),
        ("RL", "deep RL for control"),
        ("RL", "(RL) fine-tuning"),
        ("cache", "KV caches grow"),
        ("batch", "larger batches"),
        ("study", "case studies"),
        ("bias", "social biases"),
        ("process", "decoding processes"),
        ("class", "classes of models"),
        ("Attention", "ATTENTION is all you need"),
        ("FP8", "training in FP8 precision"),
        ("3D", "3D Gaussian splatting"),
    ],
)
def test_whole_words_match_with_case_and_plural_tolerance(term: str, text: str) -> None:
    assert occurs(term, text)


@pytest.mark.parametrize(
    ("term", "text"),
    [
        ("RL", "a world model"),
        ("RL", "early stopping"),
        ("RL", "RLHF pipelines"),
        ("Training", "large-scale pretraining"),
        ("review", "a preview of results"),
        ("LLM", "LLaMA models"),
        ("MOE", "remove the noise"),
        ("Fast", "breakfast"),
        ("Network", "networking stacks"),
        ("class", "a subclass"),
    ],
)
def test_parts_of_words_never_match(term: str, text: str) -> None:
    assert not occurs(term, text)


def test_word_forms_drop_plural_endings_only_where_plausible() -> None:
    assert word_forms("llms") == ("llms", "llm")
    assert word_forms("studies") == ("studies", "study", "studie")
    assert word_forms("process") == ("process",)
    assert word_forms("analysis") == ("analysis",)
    assert word_forms("corpus") == ("corpus",)
    assert word_forms("rl") == ("rl",)


@pytest.mark.parametrize("text", ["pre-training data", "pre training data", "pre\u2013training data", "Pre-Training"])
def test_phrases_match_across_hyphens_spaces_and_dashes(text: str) -> None:
    assert occurs("pre-training", text)
    assert occurs("pre training", text)


def test_phrase_needs_its_words_adjacent_and_in_order() -> None:
    assert occurs("large language model", "Large Language Models (LLMs) are")
    assert not occurs("large language model", "large models of language")
    assert not occurs("language model", "model language")
    assert not occurs("pre-training", "pretraining is expensive")


def test_closed_term_matches_its_hyphenated_spelling_but_not_the_reverse() -> None:
    assert occurs("pretraining", "continued pre-training")
    assert not occurs("pre-training", "continued pretraining")


@pytest.mark.parametrize(
    ("term", "text", "expected"),
    [
        ("*training", "pretraining and post-training", True),
        ("*training", "training", True),
        ("*training", "pretrainings", True),
        ("*training", "trainings", True),
        ("*training", "train", False),
        ("quantiz*", "quantized weights", True),
        ("quantiz*", "Quantization", True),
        ("quantiz*", "dequantization", False),
        ("*former*", "Transformers", True),
        ("*former*", "formal", False),
        ("*former* model", "transformer models", True),
        ("*former* model", "transformer based models", False),
    ],
)
def test_wildcards_at_word_edges(term: str, text: str, expected: bool) -> None:
    assert occurs(term, text) is expected


@pytest.mark.parametrize("term", ["", "   ", "*", "**", "+-+", "a*", "pre*training", "$$", "C++", "C#", ".NET", "C++ compiler"])
def test_terms_that_cannot_match_are_rejected(term: str) -> None:
    with pytest.raises(InvalidTerm):
        parse_term(term)


@pytest.mark.parametrize("term", ["LLM+RL", "A+B testing", "node.js", "GPT-4", "Q&A"])
def test_symbols_between_words_are_separators(term: str) -> None:
    assert parse_term(term).words


def test_unicode_is_folded_nfkc_accents_and_case() -> None:
    assert occurs("Schrodinger", "the Schrödinger equation")
    assert occurs("schrödinger", "SCHRODINGER bridges")
    assert occurs("naive", "a naïve baseline")
    assert occurs("fine-tuning", "ﬁne-tuning")  # the fi ligature
    assert occurs("LLM", "ＬＬＭ")  # full-width letters
    assert occurs("strasse", "Straße")
    assert occurs("模型", "大 模型 训练")


def test_latex_and_punctuation_do_not_break_words() -> None:
    assert occurs("LLM", r"\textbf{LLM}s outperform")
    assert occurs("Schrodinger", r"Schr\"odinger")
    assert occurs("Schrodinger", r"Schr\"{o}dinger")
    assert occurs("attention", "$\\mathcal{O}(n)$ attention; (attention)")
    assert occurs("DP", "DP$^2$O-SR: Direct Perceptual")
    assert not occurs("mathcal", r"$\mathcal{O}(n)$")
    assert occurs("speculative decoding", "speculative\ndecoding")
    assert occurs("GPT-4", "GPT 4 and GPT-4o")


def test_fold_is_idempotent_and_lowercase() -> None:
    text = "Ünïcode — LaTeX \\emph{Mixed} CASE’s"
    once = fold(text)
    assert fold(once) == once
    assert once == once.lower()


def test_author_names_compare_by_folded_words() -> None:
    assert normalize_author("José  García-López") == normalize_author("jose garcia lopez")
    assert normalize_author("Yann LeCun") == "yann lecun"
    assert normalize_author("Lecun, Yann") != normalize_author("Yann LeCun")
    assert normalize_author("  ") == ""


@pytest.mark.parametrize(
    ("term", "text", "found"),
    [
        ("GPU", "Training on many GPUs", True),
        ("GPUs", "one GPU is enough", True),
        ("API", "Calling APIs with LLMs", True),
        ("IoU", "higher IoUs", True),
        ("IT", "We show its limits", False),
        ("ITS", "we evaluate it on roads", False),
        ("GA", "a gas turbine", False),
        ("DOE", "It does work", False),
        ("corpus", "two corpora", False),
        ("virus", "viruses", True),
    ],
)
def test_acronym_plurals_match_and_short_words_are_not_plurals(term: str, text: str, found: bool) -> None:
    assert parse_term(term).occurs_in(FieldWords.of(text)) is found


@pytest.mark.parametrize(
    ("written", "plain"),
    [("Søren Hauberg", "Soren Hauberg"), ("Łukasz Kaiser", "Lukasz Kaiser"), ("Đorđe Nikolić", "Dorde Nikolic"),
     (r"S{\o}ren Hauberg", "Soren Hauberg"), (r"\L{}ukasz Kaiser", "Lukasz Kaiser"), (r"Mart\'{\i}nez", "Martinez")],
)
def test_letters_unicode_does_not_decompose_and_latex_letters_fold_to_plain_ones(written: str, plain: str) -> None:
    assert normalize_author(written) == normalize_author(plain)


@pytest.mark.parametrize(
    ("term", "text"),
    [("alpha", r"$\alpha$-divergence minimization"), ("α", r"$\alpha$-divergence"), ("alpha", "α-divergence"),
     ("epsilon-greedy", r"$\varepsilon$-greedy exploration"), ("Omega", "the Ω set")],
)
def test_greek_letters_match_by_name_in_unicode_and_latex(term: str, text: str) -> None:
    assert occurs(term, text)
