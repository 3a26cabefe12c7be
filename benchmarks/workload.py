"""The benchmarks' day and subscribers: real papers, and keywords spread over several hundred distinct terms.

Subscribers draw 3 to 15 keywords from a vocabulary of ~600 terms (hand-picked field terms, the config
defaults and the most frequent title bigrams of the real papers) with a Zipf-like popularity in that order:
a few terms are common, most are rare. 15 % keep the config's default keywords, as a chat that never changed
them does. Filters follow what chats set: category choices, excludes, min_score, max_papers.
"""
from __future__ import annotations

import dataclasses
import random
import re
from collections import Counter
from collections.abc import Sequence

from core.config import DefaultsSettings
from core.models import Keyword, Paper, Subscription
from tests.scoring_support import real_papers

# Real terms and phrases from cs.CL/cs.LG/cs.CV digests.
FIELD_TERMS = (
    "diffusion", "transformer", "reinforcement learning", "large language models", "vision-language",
    "retrieval-augmented generation", "graph neural network", "federated learning", "knowledge distillation",
    "benchmark", "agents", "reasoning", "chain-of-thought", "multimodal", "segmentation", "3D", "point cloud",
    "gaussian splatting", "NeRF", "pre-training", "fine-tuning", "LoRA", "in-context learning", "hallucination",
    "alignment", "robustness", "adversarial", "privacy", "contrastive learning", "self-supervised", "zero-shot",
    "few-shot", "object detection", "tracking", "video generation", "text-to-image", "image editing",
    "super-resolution", "depth estimation", "SLAM", "autonomous driving", "medical imaging", "speech",
    "machine translation", "question answering", "summarization", "tokenization", "mixture of experts",
    "KV cache", "long context", "state space model", "Mamba", "vision transformer", "CLIP", "embodied", "robot",
    "world model", "planning", "code generation", "mathematical reasoning", "evaluation", "dataset",
    "interpretability", "uncertainty", "calibration", "continual learning", "domain adaptation",
    "out-of-distribution", "anomaly detection", "recommendation", "retrieval", "knowledge graph", "causal",
    "time series", "*training", "quantiz*", "token pruning", "compression", "reward model",
    "preference optimization", "DPO", "PPO", "GRPO", "instruction tuning", "prompt", "jailbreak", "safety",
    "bias", "fairness", "multilingual", "low-resource", "OCR", "document understanding",
    "visual question answering", "captioning", "grounding", "open-vocabulary", "semantic segmentation",
    "pose estimation", "human motion", "avatar", "3D reconstruction", "neural rendering", "LiDAR",
    "remote sensing", "hyperspectral", "event camera", "spiking", "edge devices", "graph", "clustering",
    "flow matching", "consistency model", "autoregressive", "scaling laws", "synthetic data", "test-time",
    "web agent", "tool use", "function calling", "vision-language-action", "imitation learning", "sim-to-real",
    "diffusion policy", "inpainting", "inversion", "manipulation", "multi-agent", "visuomotor",
)
TITLE_BIGRAMS = 450  # the most frequent title bigrams of the real papers join the vocabulary
DEFAULT_SHARE = 0.15  # subscribers that kept the config's default keywords
CATEGORY_CHOICES = (
    (0.5, ("cs.AI", "cs.CL", "cs.DC", "cs.LG")),
    (0.2, ("cs.CV",)),
    (0.15, ()),
    (0.1, ("cs.CL",)),
    (0.05, ("cs.LG", "stat.ML")),
)
_WORD = re.compile(r"[A-Za-z][A-Za-z-]{2,}")
_STOP = frozenset("the and for with from via into using towards toward based its their our are can how what when".split())


def benchmark_day(paper_count: int) -> list[Paper]:
    """`paper_count` papers: the real fixtures, replicated with fresh ids when more are asked for; undated, so any
    announcement day takes them."""
    source = real_papers()
    return [
        dataclasses.replace(source[index % len(source)], arxiv_id=f"2611.{index:05d}", version=1 + index // len(source), announced=None)
        for index in range(paper_count)
    ]


def vocabulary(papers: Sequence[Paper], defaults: DefaultsSettings) -> list[str]:
    """Field terms, the default keywords and frequent title bigrams: several hundred distinct terms."""
    bigrams: Counter[str] = Counter()
    for paper in papers:
        words = [word.lower() for word in _WORD.findall(paper.title)]
        bigrams.update(f"{a} {b}" for a, b in zip(words, words[1:]) if a not in _STOP and b not in _STOP)
    frequent = [bigram for bigram, _ in bigrams.most_common(TITLE_BIGRAMS)]
    return list(dict.fromkeys([*FIELD_TERMS, *(keyword.term for keyword in defaults.keywords), *frequent]))


def benchmark_subscriptions(count: int, papers: Sequence[Paper], defaults: DefaultsSettings, seed: int = 7) -> list[Subscription]:
    """`count` subscribers named bench:0, bench:1, ... with realistic keywords and filters."""
    rng = random.Random(seed)
    terms = vocabulary(papers, defaults)
    popularity = [1.0 / (1 + rank) ** 0.8 for rank in range(len(terms))]
    default_keywords = tuple(Keyword(keyword.term, keyword.weight) for keyword in defaults.keywords)
    some_authors = [name for paper in papers[:300] for name in paper.authors[:1]]
    subscriptions = []
    for number in range(count):
        if rng.random() < DEFAULT_SHARE:
            keywords = default_keywords
        else:
            chosen: set[str] = set()
            wanted = rng.randint(3, 15)
            while len(chosen) < wanted:
                chosen.add(rng.choices(terms, popularity)[0])
            keywords = tuple(Keyword(term, rng.choice((1.0, 1.0, 1.0, 1.5, 2.0))) for term in sorted(chosen))
        categories = rng.choices([choice for _, choice in CATEGORY_CHOICES], [share for share, _ in CATEGORY_CHOICES])[0]
        subscriptions.append(
            Subscription(
                subscriber=f"bench:{number}",
                keywords=keywords,
                excludes=tuple(defaults.exclude) if rng.random() < 0.8 else (),
                categories=categories,
                authors=tuple(rng.sample(some_authors, 2)) if rng.random() < 0.1 else (),
                crosslists=rng.random() < 0.8,
                min_score=rng.choices((2.5, 0.0, 1.0, 5.0), (0.6, 0.15, 0.15, 0.1))[0],
                max_papers=rng.choices((30, 10, 50), (0.6, 0.2, 0.2))[0],
            )
        )
    return subscriptions


def distinct_terms(subscriptions: Sequence[Subscription]) -> int:
    return len({keyword.term for subscription in subscriptions for keyword in subscription.keywords})
