"""Acronyms and their expansions as one term (LLM ~ "large language model"): a curated table, and pairs papers define.

Papers define their acronyms as they go ("large language models (LLMs)", "Mixture-of-Experts
(MoE)"); ``defined_acronyms`` reads those definitions from titles and abstracts, and a pair that
several papers define the same way joins the curated ones (``AliasTable``). The relevance ranking
then matches a keyword and its aliases as one term (counted once), and `keywords` shows them.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from core.matching import InvalidTerm, TermPattern, parse_term, word_forms

# Well-known pairs of the fields our users read; papers teach the rest.
CURATED_ALIASES: tuple[tuple[str, str], ...] = (
    ("LLM", "large language model"),
    ("VLM", "vision-language model"),
    ("MLLM", "multimodal large language model"),
    ("VLA", "vision-language-action"),
    ("RL", "reinforcement learning"),
    ("RLHF", "reinforcement learning from human feedback"),
    ("MoE", "mixture of experts"),
    ("RAG", "retrieval-augmented generation"),
    ("GNN", "graph neural network"),
    ("NeRF", "neural radiance field"),
    ("ViT", "vision transformer"),
    ("CoT", "chain-of-thought"),
    ("ICL", "in-context learning"),
    ("KD", "knowledge distillation"),
    ("DPO", "direct preference optimization"),
    ("SLAM", "simultaneous localization and mapping"),
    ("NLP", "natural language processing"),
    ("ASR", "automatic speech recognition"),
    ("OCR", "optical character recognition"),
    ("VQA", "visual question answering"),
    ("SSM", "state space model"),
    ("LoRA", "low-rank adaptation"),
    ("PEFT", "parameter-efficient fine-tuning"),
    ("GAN", "generative adversarial network"),
    ("VAE", "variational autoencoder"),
    ("KG", "knowledge graph"),
    ("MARL", "multi-agent reinforcement learning"),
    ("VLN", "vision-language navigation"),
)
MIN_PAPERS_FOR_LEARNED_ALIAS = 2  # one paper's private acronym is not the field's
DOMINANT_SHARE = 0.75  # an acronym papers expand in several ways is learned only when one way dominates
MAX_ACRONYM_LETTERS = 8
# "large language models (LLMs)": up to eight words, then an acronym in parentheses.
_DEFINITION = re.compile(r"((?:[A-Za-z][\w-]*[\s-]+){1,8}?)[(]\s*([A-Z][A-Za-z0-9]{1,%d}?)s?\s*[)]" % MAX_ACRONYM_LETTERS)
_WORD_START = re.compile(r"[A-Za-z][a-z]*|[A-Z]+(?![a-z])")


def _initials_match(words: list[str], acronym: str) -> bool:
    """Whether the words spell the acronym by their initials (parts of hyphenated words count: Mixture-of-Experts)."""
    letters = "".join(ch for ch in acronym if ch.isalpha()).lower()
    initials = "".join(word[0].lower() for word in words)
    return initials == letters


def defined_acronyms(text: str) -> set[tuple[str, str]]:
    """(acronym, expansion) pairs a text defines, e.g. ("LLM", "large language models")."""
    found = set()
    for match in _DEFINITION.finditer(" ".join(text.split())):
        phrase, acronym = match.group(1), match.group(2)
        if not any(ch.isupper() for ch in acronym[1:]) and len(acronym) > 2:
            continue  # "(Fig)", "(Table)": an ordinary capitalised word, not an acronym
        words = re.split(r"[\s-]+", phrase.strip())
        letters = sum(ch.isalpha() for ch in acronym)
        for start in range(len(words)):
            if len(words) - start == letters and _initials_match(words[start:], acronym):
                found.add((acronym, " ".join(words[start:]).lower()))
                break
    return found


def canonical(pattern: TermPattern) -> tuple[str, ...]:
    """A term's words with plurals dropped: "LLMs" and "LLM", "large language models" and "... model" are one key."""
    return tuple(min(word_forms(word.stem), key=len) if word.kind == "word" else word.spelled for word in pattern.words)


@dataclass(frozen=True)
class AliasTable:
    """Each acronym's expansions and each expansion's acronym; never transitive (CL's two expansions,
    "continual learning" and "contrastive learning", do not become aliases of each other)."""

    by_term: Mapping[tuple[str, ...], tuple[TermPattern, ...]]

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str]]) -> AliasTable:
        by_term: dict[tuple[str, ...], list[TermPattern]] = {}
        for short, long in pairs:
            try:
                acronym, expansion = parse_term(short), parse_term(long)
            except InvalidTerm:
                continue
            for term, alias in ((acronym, expansion), (expansion, acronym)):
                known = by_term.setdefault(canonical(term), [])
                if canonical(alias) != canonical(term) and all(canonical(alias) != canonical(k) for k in known):
                    known.append(alias)
        return cls({key: tuple(aliases) for key, aliases in by_term.items()})

    def aliases_of(self, term: str) -> tuple[TermPattern, ...]:
        """The terms that mean the same as `term` (empty when it has none or cannot be parsed)."""
        try:
            return self.by_term.get(canonical(parse_term(term)), ())
        except InvalidTerm:
            return ()

    def spelled_aliases(self, term: str) -> tuple[str, ...]:
        """What `keywords` shows: the aliases as words ("large language model")."""
        return tuple(" ".join(word.spelled for word in alias.words) for alias in self.aliases_of(term))


CURATED = AliasTable.of(CURATED_ALIASES)


def paper_definitions(title: str, abstract: str) -> set[tuple[str, str]]:
    """The (acronym, expansion) pairs one paper defines, in canonical form ("llm", "large language model")."""
    pairs = set()
    for acronym, expansion in defined_acronyms(f"{title}. {abstract}"):
        try:
            pairs.add((" ".join(canonical(parse_term(acronym))), " ".join(canonical(parse_term(expansion)))))
        except InvalidTerm:
            continue
    return pairs


def table_with(definitions: Iterable[tuple[str, str, int]]) -> AliasTable:
    """The curated pairs plus each acronym that stored papers define (acronym, expansion, papers) one dominant way."""
    by_acronym: dict[str, list[tuple[int, str]]] = {}
    for acronym, expansion, papers in definitions:
        by_acronym.setdefault(acronym, []).append((papers, expansion))
    pairs = list(CURATED_ALIASES)
    for acronym, expansions in by_acronym.items():
        papers, expansion = max(expansions)
        if papers >= MIN_PAPERS_FOR_LEARNED_ALIAS and papers >= DOMINANT_SHARE * sum(count for count, _ in expansions):
            pairs.append((acronym, expansion))
    return AliasTable.of(pairs)
