"""The digest as JSON for scripts: one versioned shape, described by core/data/digest.schema.json."""
from __future__ import annotations

import json
from typing import Any

from core.models import Digest, ScoredPaper, Summary

FORMAT_VERSION = 1  # raised only when a key is renamed or removed; new keys keep it


def _summary(summary: Summary | None) -> dict[str, Any] | None:
    if summary is None:
        return None
    return {
        "text": summary.text,
        "model": summary.model,
        "language": summary.language,
        "is_fallback": summary.is_fallback,
        "prompt_tokens": summary.prompt_tokens,
        "completion_tokens": summary.completion_tokens,
    }


def _paper(rank: int, scored: ScoredPaper, summary: Summary | None) -> dict[str, Any]:
    paper = scored.paper
    return {
        "rank": rank,
        "arxiv_id": paper.arxiv_id,
        "version": paper.version,
        "title": paper.title,
        "authors": list(paper.authors),
        "abstract": paper.abstract,
        "primary_category": paper.primary_category,
        "categories": list(paper.categories),
        "announce_type": paper.announce_type,
        "announced": paper.announced.isoformat() if paper.announced else None,
        "published": paper.published.isoformat() if paper.published else None,
        "url": paper.abs_url,
        "pdf_url": paper.pdf_url,
        "comment": paper.comment,
        "journal_ref": paper.journal_ref,
        "doi": paper.doi,
        "score": scored.score,
        "matches": [
            {"term": match.term, "in_title": match.in_title, "in_abstract": match.in_abstract, "points": match.points}
            for match in scored.matches
        ],
        "matched_authors": list(scored.matched_authors),
        "summary": _summary(summary),
    }


def digest_document(digest: Digest) -> dict[str, Any]:
    """The digest as plain JSON values: the day, the rules it was picked by, its counts, its papers in order."""
    return {
        "format_version": FORMAT_VERSION,
        "announcement_day": digest.announcement_day.isoformat(),
        "generated_at": digest.generated_at.isoformat(),
        "categories": list(digest.categories),
        "keywords": [{"term": keyword.term, "weight": keyword.weight} for keyword in digest.keywords],
        "excludes": list(digest.excludes),
        "min_score": digest.min_score,
        "max_papers": digest.max_papers,
        "announced": digest.considered,
        "matched": digest.matched,
        "papers": [
            _paper(rank, scored, digest.summary_for(scored.paper)) for rank, scored in enumerate(digest.papers, start=1)
        ],
    }


def render_json(digest: Digest) -> str:
    """The document as UTF-8 JSON text (not ASCII-escaped), indented for reading, ending with a newline."""
    return json.dumps(digest_document(digest), ensure_ascii=False, indent=2) + "\n"
