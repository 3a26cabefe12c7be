"""The versioned prompt templates in core/prompts/ and the chat messages built from them for one paper."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from string import Template

from core.config import ConfigError
from core.models import Paper

SECTION_MARK = re.compile(r"^@@ (?P<name>[a-z]+(?: [a-z-]+)?)\s*$", re.MULTILINE)
COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
SOURCE_LABELS = {"abstract": "abstract", "fulltext": "full text (may be cut short)"}
MAX_AUTHORS_SHOWN = 12


class PromptError(ConfigError):
    """summaries.prompt_version names a template that is missing or lacks a section the summarizer needs."""


@dataclass(frozen=True)
class PromptTemplate:
    """One prompt file: its version (the file name) and its named sections."""

    version: str
    sections: dict[str, str]

    def instructions(self, language: str) -> str:
        code = language.lower()
        text = (
            self.sections.get(f"instructions {code}")
            or self.sections.get(f"instructions {code.split('-')[0]}")
            or self.sections["instructions other"]
        )
        return Template(text).safe_substitute(language=language)

    def messages(self, paper: Paper, language: str, source_kind: str, source_text: str) -> list[dict[str, str]]:
        """The chat messages for one paper; the paper id is in them so logs and fakes can tell papers apart."""
        authors = ", ".join(paper.authors[:MAX_AUTHORS_SHOWN])
        if len(paper.authors) > MAX_AUTHORS_SHOWN:
            authors += f" and {len(paper.authors) - MAX_AUTHORS_SHOWN} more"
        user = Template(self.sections["user"]).safe_substitute(
            instructions=self.instructions(language),
            arxiv_id=paper.arxiv_id,
            version=paper.version,
            title=" ".join(paper.title.split()),
            authors=authors or "(unknown)",
            source_label=SOURCE_LABELS.get(source_kind, source_kind),
            source_text=source_text.strip(),
        )
        return [{"role": "system", "content": self.sections["system"]}, {"role": "user", "content": user}]


REQUIRED_SECTIONS = ("system", "user", "instructions en", "instructions other")


def parse_template(version: str, text: str) -> PromptTemplate:
    body = COMMENT.sub("", text)
    marks = list(SECTION_MARK.finditer(body))
    sections = {
        mark.group("name"): body[mark.end() : marks[index + 1].start() if index + 1 < len(marks) else len(body)].strip()
        for index, mark in enumerate(marks)
    }
    missing = [name for name in REQUIRED_SECTIONS if not sections.get(name)]
    if missing:
        raise PromptError(f"prompt {version} lacks the section(s): {', '.join(missing)}")
    return PromptTemplate(version=version, sections=sections)


@lru_cache(maxsize=8)
def load_template(version: str) -> PromptTemplate:
    """The template core/prompts/<version>.md shipped with the package."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", version):
        raise PromptError(f"prompt version {version!r} is not a plain file name")
    try:
        text = resources.files("core").joinpath("prompts", f"{version}.md").read_text(encoding="utf-8")
    except (FileNotFoundError, OSError) as exc:
        raise PromptError(f"prompt template {version}.md not found in core/prompts/") from exc
    return parse_template(version, text)
