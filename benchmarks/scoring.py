"""Benchmark: one day of 2,000 real papers x 10,000 subscribers, our engine against the original bot's loop.

Run from the repository root: ``python -m benchmarks.scoring [--subscribers N] [--papers N] [--naive-sample N]``.
The naive loop (for each subscriber, paper and keyword: ``kw.lower() in text.lower()``) is timed on a
sample of subscribers and extrapolated linearly; the output says so.
"""
from __future__ import annotations

import argparse
import dataclasses
import random
import statistics
import time
from collections.abc import Callable, Sequence

from core.config import DefaultsSettings, ScoringSettings, load_settings
from core.models import Keyword, Paper, Subscription
from core.scoring import score_day
from tests.scoring_support import real_papers

# Real terms and phrases from cs.CL/cs.LG/cs.CV digests, next to the 30 config defaults.
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
)
CATEGORY_CHOICES = (
    (0.5, ("cs.AI", "cs.CL", "cs.DC", "cs.LG")),
    (0.2, ("cs.CV",)),
    (0.15, ()),
    (0.1, ("cs.CL",)),
    (0.05, ("cs.LG", "stat.ML")),
)


def benchmark_day(paper_count: int) -> list[Paper]:
    """`paper_count` papers: the real fixtures, replicated with fresh ids when more are asked for."""
    source = real_papers()
    return [
        dataclasses.replace(source[index % len(source)], arxiv_id=f"2611.{index:05d}", version=1 + index // len(source))
        for index in range(paper_count)
    ]


def benchmark_subscriptions(count: int, papers: Sequence[Paper], defaults: DefaultsSettings, seed: int = 7) -> list[Subscription]:
    """`count` subscribers with 10 keywords each, mostly popular defaults, realistic filters."""
    rng = random.Random(seed)
    default_terms = tuple(keyword.term for keyword in defaults.keywords)
    vocabulary = default_terms + FIELD_TERMS
    popularity = [3.0] * len(default_terms) + [1.0 / (1 + rank / 20) for rank in range(len(FIELD_TERMS))]
    some_authors = [name for paper in papers[:300] for name in paper.authors[:1]]
    subscriptions = []
    for number in range(count):
        terms: set[str] = set()
        while len(terms) < 10:
            terms.add(rng.choices(vocabulary, popularity)[0])
        keywords = tuple(Keyword(term, rng.choice((1.0, 1.0, 1.0, 1.5, 2.0))) for term in sorted(terms))
        categories = rng.choices([choice for _, choice in CATEGORY_CHOICES], [share for share, _ in CATEGORY_CHOICES])[0]
        subscriptions.append(
            Subscription(
                subscriber=f"bench:{number}",
                keywords=keywords,
                excludes=tuple(defaults.exclude) if rng.random() < 0.8 else (),
                categories=categories,
                authors=tuple(rng.sample(some_authors, 2)) if rng.random() < 0.1 else (),
                crosslists=rng.random() < 0.8,
                replacements=rng.random() < 0.1,
                min_score=rng.choices((2.5, 0.0, 1.0, 5.0), (0.6, 0.15, 0.15, 0.1))[0],
                max_papers=rng.choices((30, 10, 50), (0.6, 0.2, 0.2))[0],
            )
        )
    return subscriptions


def naive_select(papers: Sequence[Paper], subscription: Subscription, scoring: ScoringSettings) -> list[tuple[float, str]]:
    """The original bot's algorithm: substring tests of every keyword against every paper."""
    selected = []
    for paper in papers:
        if subscription.categories and not set(paper.categories) & set(subscription.categories):
            continue
        if paper.is_crosslist and not subscription.crosslists or paper.is_replacement and not subscription.replacements:
            continue
        text = paper.title + " " + paper.abstract
        if any(word.lower() in text.lower() for word in subscription.excludes):
            continue
        score = 0.0
        for keyword in subscription.keywords:
            if keyword.term.lower() in paper.title.lower():
                score += keyword.weight * (1 + scoring.title_bonus)
            elif keyword.term.lower() in text.lower():
                score += keyword.weight
        if score >= subscription.min_score and score > 0:
            selected.append((score, paper.arxiv_id))
    selected.sort(key=lambda item: (-item[0], item[1]))
    return selected[: subscription.max_papers]


def _timed(action: Callable[[], object], repeats: int) -> tuple[float, float, float, object]:
    """Best wall and CPU seconds over `repeats` runs, the first (cold) run's wall seconds, and the last result."""
    walls, cpus, result = [], [], None
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        result = action()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus), walls[0], result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=2000)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--naive-sample", type=int, default=100, help="subscribers timed with the naive loop")
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args()

    settings = load_settings()
    papers = benchmark_day(options.papers)
    subscriptions = benchmark_subscriptions(options.subscribers, papers, settings.defaults)
    scoring = settings.scoring
    print(f"day: {len(papers)} papers ({len({p.arxiv_id for p in real_papers()})} real, replicated); "
          f"{len(subscriptions)} subscribers x 10 keywords from {len(FIELD_TERMS) + len(settings.defaults.keywords)} terms")

    wall, cpu, cold, selection = _timed(lambda: score_day(papers, subscriptions, scoring), options.repeats)
    selected = sum(len(selection.selected_ids(s.subscriber)) for s in subscriptions)
    print(f"ours:  {wall:.3f} s wall, {cpu:.3f} s CPU (best of {options.repeats}; first run {cold:.3f} s) for all {len(subscriptions)} subscribers; "
          f"{selected} papers selected, {selected / len(subscriptions):.1f} per subscriber")
    build_wall, _, _, _ = _timed(lambda: [selection[s.subscriber] for s in subscriptions], 1)
    print(f"       building every subscriber's ScoredPaper lists (done lazily, per delivery): {build_wall:.3f} s more")

    sample = subscriptions[: min(options.naive_sample, len(subscriptions))]
    naive_wall, naive_cpu, _, _ = _timed(lambda: [naive_select(papers, s, scoring) for s in sample], 1)
    factor = len(subscriptions) / len(sample)
    extrapolated = "" if factor == 1 else f" (timed on {len(sample)} subscribers, extrapolated linearly x{factor:g})"
    print(f"naive: {naive_wall * factor:.1f} s wall, {naive_cpu * factor:.1f} s CPU{extrapolated}")
    print(f"ratio: {naive_wall * factor / wall:.0f}x faster (wall), {naive_cpu * factor / cpu:.0f}x (CPU)")
    overlap = statistics.mean(
        len(set(selection.selected_ids(s.subscriber)) & {arxiv_id for _, arxiv_id in naive_select(papers, s, scoring)})
        / max(1, len(selection.selected_ids(s.subscriber)))
        for s in sample[:20]
    )
    print(f"agreement with the substring loop on 20 subscribers: {overlap:.0%} of our picks "
          "(the rest differ by design: whole words, plurals, phrases)")


if __name__ == "__main__":
    main()
