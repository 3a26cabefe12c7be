"""Pure text parts of summarization: the sanitizer, the output checks, the extractive fallback, the prompt template."""
from __future__ import annotations

import html as html_lib
import re

import pytest
from markdown_it import MarkdownIt

from core.models import Paper
from core.summaries.fallback import FALLBACK_LABELS, KEY_SENTENCES, extractive_summary, key_sentences
from core.summaries.prompt import PromptError, load_template, parse_template
from core.summaries.sanitize import MAX_SUMMARY_CHARS, MalformedSummary, check_summary, sanitize_summary

GOOD_EN = "**1. Main contributions and novelty**\n- A faster attention kernel with 2x speedup on H100 GPUs."
GOOD_ZH = "**1. 主要贡献与创新点**\n- 提出了一种新的 attention kernel，在 H100 上速度提升 2 倍。"


@pytest.mark.parametrize(
    ("raw", "absent", "present"),
    [
        ("### Heading\ntext", "#", "**Heading**"),
        ("# Title #\ntext", "#", "**Title**"),
        ("ok </details> more", "</details>", "ok  more"),
        ("<summary>x</summary>y", "<summary>", "xy"),
        ('<script>alert("x")</script>kept', "alert", "kept"),
        ("<SCRIPT src=x>unclosed", "SCRIPT", ""),
        ("<img src=x onerror=alert(1)>after", "onerror", "after"),
        ("<!-- hidden -->shown", "hidden", "shown"),
        ("![alt text](http://example.invalid/x.png)", "](", "alt text"),
        ("[click](javascript:alert(document.cookie))", "javascript", "[click]"),
        ("Title\n=====\nbody", "===", "Title"),
        ("a\n---\nb", "---", "a"),
        ("<div\nunfinished", "<div", "< div"),
        ("bell\x07char\u202eflip", "\x07", "bellcharflip"),
        ("gain\uffff 2x\ufffe", "\uffff", "gain 2x"),
        ("<think>the user wants a summary, so</think>**Contributions**", "user wants", "**Contributions**"),
        ("a\n\n\n\n\nb", "\n\n\n", "a\n\nb"),
    ],
)
def test_sanitize_removes_what_could_escape_the_block(raw: str, absent: str, present: str) -> None:
    cleaned = sanitize_summary(raw)
    assert absent not in cleaned
    assert present in cleaned


def test_sanitize_closes_an_open_code_fence_and_keeps_its_content() -> None:
    cleaned = sanitize_summary("before\n```python\n# a comment, not a heading\nx = 1")
    assert cleaned.endswith("```")
    assert "# a comment, not a heading" in cleaned
    assert cleaned.count("```") == 2


def test_sanitize_keeps_ordinary_markdown_and_math() -> None:
    text = "**1. Results**\n- Accuracy 93.1% vs 90.2% (p < 0.05), 2 > 1\n- `code` and *emphasis*"
    assert sanitize_summary(text) == text


def test_check_accepts_good_answers() -> None:
    assert check_summary(GOOD_EN, "en") == GOOD_EN
    assert check_summary(GOOD_ZH, "zh") == GOOD_ZH
    assert check_summary(GOOD_ZH, "zh-CN") == GOOD_ZH


@pytest.mark.parametrize(
    ("text", "language", "truncated", "reason"),
    [
        (None, "en", False, "empty"),
        ("   ", "en", False, "empty"),
        (GOOD_EN, "en", True, "cut off"),
        (GOOD_EN + "x" * MAX_SUMMARY_CHARS, "en", False, "runaway"),
        (GOOD_EN, "zh", False, "not in it"),
        (GOOD_ZH + GOOD_ZH, "en", False, "mostly CJK"),
    ],
)
def test_check_rejects_unpublishable_answers(text: str | None, language: str, truncated: bool, reason: str) -> None:
    with pytest.raises(MalformedSummary, match=reason):
        check_summary(text, language, truncated)


ABSTRACT = (
    "Large language models are expensive to serve. "
    "Existing systems batch requests statically. "
    "We propose FlexBatch, a novel scheduler that adapts batch sizes online. "
    "It uses a cost model of the GPU. "
    "Experiments show that FlexBatch improves throughput by 37% over vLLM. "
    "Code is available at a public repository."
)


def test_key_sentences_prefer_contribution_and_results_in_original_order() -> None:
    chosen = key_sentences(ABSTRACT)
    assert len(chosen) == KEY_SENTENCES
    assert chosen == [
        "Large language models are expensive to serve.",
        "We propose FlexBatch, a novel scheduler that adapts batch sizes online.",
        "Experiments show that FlexBatch improves throughput by 37% over vLLM.",
    ]


def test_extractive_summary_is_labelled_in_the_requested_language() -> None:
    assert extractive_summary(ABSTRACT, "en").startswith(f"*{FALLBACK_LABELS['en']}*")
    assert extractive_summary(ABSTRACT, "zh").startswith(f"*{FALLBACK_LABELS['zh']}*")
    assert "- We propose FlexBatch" in extractive_summary(ABSTRACT, "en")


def test_extractive_summary_survives_empty_and_hostile_abstracts() -> None:
    assert "empty" in extractive_summary("", "en")
    hostile = extractive_summary("### Big. <script>x()</script> We propose </details> things.", "en")
    assert "<script" not in hostile
    assert "</details>" not in hostile
    assert "\n#" not in hostile


PAPER = Paper("2604.00001", 3, "A  Title\n on two lines", tuple(f"Author {n}" for n in range(15)), "The abstract.", ("cs.LG",), "cs.LG")


def test_prompt_has_four_sections_paper_id_and_language() -> None:
    template = load_template("summary-v1")
    system, user = template.messages(PAPER, "en", "abstract", PAPER.abstract)
    assert system["role"] == "system"
    assert user["role"] == "user"
    for section in ("Main contributions", "Method and experimental setup", "Key results", "Conclusions, limitations"):
        assert section in user["content"]
    assert "arXiv:2604.00001 (version 3)" in user["content"]
    assert "Title: A Title on two lines" in user["content"]
    assert "and 3 more" in user["content"]
    assert "The abstract." in user["content"]
    chinese = template.messages(PAPER, "zh", "abstract", PAPER.abstract)[1]["content"]
    assert "简体中文" in chinese
    assert "不要翻译" in chinese
    other = template.messages(PAPER, "de", "abstract", PAPER.abstract)[1]["content"]
    assert 'code "de"' in other


def test_prompt_keeps_dollar_signs_and_braces_of_latex_abstracts() -> None:
    template = load_template("summary-v1")
    text = "We bound $O(n^{2})$ and {curly} $title terms."
    assert text in template.messages(PAPER, "en", "abstract", text)[1]["content"]


def test_bad_templates_are_refused() -> None:
    with pytest.raises(PromptError, match="user"):
        parse_template("broken", "@@ system\nhello\n@@ instructions en\nx\n@@ instructions other\ny\n")
    with pytest.raises(PromptError):
        load_template("../etc/passwd")
    with pytest.raises(PromptError, match="not found"):
        load_template("summary-v999")


def permissive_markdown() -> MarkdownIt:
    """A parser that trusts every link target, like a careless renderer: only the sanitizer stands in the way."""
    parser = MarkdownIt("commonmark", {"html": True})
    parser.validateLink = lambda url: True  # type: ignore[method-assign]
    return parser


def rendered_hrefs(markdown: str) -> list[str]:
    html = permissive_markdown().render(markdown)
    return [html_lib.unescape(href) for href in re.findall(r'<a href="([^"]*)"', html)]


HOSTILE_LINKS = (
    "[a](&#106;avascript:alert(1)) [b](java&#x73;cript:alert(2)) [c](JaVaScRiPt:alert(3))\n"
    "[d](<java\tscript:alert(4)>) [e](&#x20;javascript:alert(5)) [f](\x01javascript:alert(6))\n"
    "[g](javascript:a((7))) [h](vbscript:msgbox(8)) [i](data:text/html;base64,PHNjcmlwdD4=)\n"
    "[j](\njavascript:alert(9)) [k](java\\script:alert(10)) [l](&#0000106;avascript:alert(11))\n\n"
    "[ref1]: javascript:alert(12)\n\n   [REF2]: <&#106;avascript:alert(13)> \"t\"\n\n[ref3]:\n  JAVASCRIPT:alert(14)\n\n"
    "Use [one][ref1], [two][REF2], [three][ref3] and <javascript:alert(15)>.\n\n"
    "[ok](https://arxiv.org/abs/2604.00001) [mail](mailto:a@example.org) [okref][good]\n\n[good]: https://example.org/x\n"
)


def test_sanitize_disarms_encoded_script_links_and_definitions() -> None:
    assert sum(1 for href in rendered_hrefs(HOSTILE_LINKS) if not href.startswith(("http", "mailto:"))) >= 10
    cleaned = sanitize_summary(HOSTILE_LINKS)
    hrefs = rendered_hrefs(cleaned)
    assert hrefs == ["https://arxiv.org/abs/2604.00001", "mailto:a@example.org", "https://example.org/x"]
    assert "[a]" in cleaned
    assert "[one]" in cleaned
    assert "Use" in cleaned


@pytest.mark.parametrize(
    "raw",
    [
        "Code:\n```\nx = 1\n~~~\n# not a heading, still code\ny = 2",
        "Code:\n~~~python\nx = 1\n```\nstill code",
        "Code:\n````\n```\ninner\n```\nstill code",
        "Code:\n```\nx\n```` \nafter",
        "Code:\n``` not `a fence` opener\n# heading\n```js\nopen",
    ],
)
def test_fences_close_only_by_their_own_kind_and_never_stay_open(raw: str) -> None:
    cleaned = sanitize_summary(raw)
    tokens = permissive_markdown().parse(cleaned + "\n\n# After the summary\n")
    headings = [tokens[i + 1].content for i, token in enumerate(tokens) if token.type == "heading_open"]
    assert headings == ["After the summary"]
    code = "".join(token.content for token in tokens if token.type in ("fence", "code_block"))
    for line in raw.split("\n")[2:]:
        if "still code" in line or "not a heading" in line:
            assert line in code
