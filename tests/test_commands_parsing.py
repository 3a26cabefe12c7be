"""Command text parsing: names, term lists with quotes and weights, numbers, clock times, zones."""
from __future__ import annotations

import datetime as dt

import pytest

from core.limits import MAX_KEYWORD_LENGTH
from core.commands.parsing import (
    CommandError,
    RawTerm,
    clean_term,
    parse_clock,
    parse_keywords,
    parse_plain_terms,
    parse_switch,
    parse_whole_number,
    resolve_timezone,
    split_command,
    split_terms,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/subscribe llm", ("subscribe", "llm")),
        ("Subscribe@arxiv_digest_bot  llm, rl ", ("subscribe", "llm, rl")),
        ("keywords", ("keywords", "")),
        ("time\t08:30\nEurope/Berlin", ("time", "08:30\nEurope/Berlin")),
        ("   ", ("", "")),
        ("/", ("", "")),
    ],
)
def test_split_command(text, expected):
    assert split_command(text) == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("llm rl", [RawTerm("llm"), RawTerm("rl")]),
        ("large language model, rl", [RawTerm("large language model"), RawTerm(" rl")]),
        ('"large language model":2 rl:0.5', [RawTerm("large language model", "2"), RawTerm("rl", "0.5")]),
        ("\u201cmixture of experts\u201d llm", [RawTerm("mixture of experts"), RawTerm("llm")]),
        ('"a, b", c', [RawTerm("a, b"), RawTerm(" c")]),
        ('"c:2"', [RawTerm("c:2")]),
        ("c++:3", [RawTerm("c++", "3")]),
        ("a:b:2", [RawTerm("a:b", "2")]),
        (",, ,", []),
        ("llm:1,5", [RawTerm("llm", "1,5")]),  # a decimal comma, not a second keyword "5"
        ("llm:1,5 rl:2", [RawTerm("llm", "1,5"), RawTerm("rl", "2")]),
        ("rl:2,3D", [RawTerm("rl", "2"), RawTerm("3D")]),
        ("\u201eduże modele\u201d", [RawTerm("duże modele")]),  # Polish
        ("\u201estora modeller\u201c", [RawTerm("stora modeller")]),  # German
        ("\u201dsnabba modeller\u201d", [RawTerm("snabba modeller")]),  # Swedish
        ("\u00bbstore modeller\u00ab:2", [RawTerm("store modeller", "2")]),  # Danish
        ("\u2018single quotes\u2019", [RawTerm("single quotes")]),
    ],
)
def test_split_terms_quotes_commas_and_weights(args, expected):
    assert split_terms(args) == expected


def test_authors_keep_spaces_unless_commas():
    assert split_terms("Yann LeCun", spaces_separate=False) == [RawTerm("Yann LeCun")]
    assert parse_plain_terms("Yann LeCun, Geoffrey  Hinton", "author", spaces_separate=False) == [
        "Yann LeCun",
        "Geoffrey Hinton",
    ]


def test_unclosed_quote_is_refused():
    with pytest.raises(CommandError, match="quote"):
        split_terms('"large language')


def test_keywords_with_weights_are_normalized():
    assert parse_keywords('LLM:2, "Mixture  of\u00a0Experts", ﬁne-tuning:0.5') == (
        [("LLM", 2.0), ("Mixture of Experts", 1.0), ("fine-tuning", 0.5)],
        [],
    )


@pytest.mark.parametrize("weight", ["0", "0.05", "10.5", "nan", "inf", "-1", "two"])
def test_bad_weights_are_refused(weight):
    accepted, [refused] = parse_keywords(f"rl, llm:{weight}")
    assert accepted == [("rl", 1.0)]
    assert refused.typed == f"llm:{weight}"
    assert "weight" in refused.reason


def test_keyword_length_boundary():
    assert clean_term("k" * MAX_KEYWORD_LENGTH) == "k" * MAX_KEYWORD_LENGTH
    with pytest.raises(CommandError, match=str(MAX_KEYWORD_LENGTH)):
        clean_term("k" * (MAX_KEYWORD_LENGTH + 1))


@pytest.mark.parametrize("term", ["a\x00b", "bell\x07", "zero\u200bwidth", "\ud800"])
def test_unprintable_terms_are_refused(term):
    with pytest.raises(CommandError, match="cannot be printed"):
        clean_term(term)


def test_weight_on_plain_terms_is_refused_not_dropped():
    with pytest.raises(CommandError, match="no weight"):
        parse_plain_terms("survey:2", "excluded word")


@pytest.mark.parametrize(("text", "value"), [("on", True), ("OFF", False), ("yes", True), (" 0 ", False)])
def test_switches(text, value):
    assert parse_switch(text, "summaries") is value


def test_bad_switch_names_both_forms():
    with pytest.raises(CommandError, match='"summaries on" or "summaries off"'):
        parse_switch("maybe", "summaries")


@pytest.mark.parametrize(("text", "value"), [("1", 1), ("+100", 100), ("007", 7)])
def test_whole_numbers(text, value):
    assert parse_whole_number(text, "number", 1, 100) == value


@pytest.mark.parametrize("text", ["0", "101", "1.5", "-3", "", "1e3", "99999999999999"])
def test_whole_numbers_out_of_range_or_malformed(text):
    with pytest.raises(CommandError):
        parse_whole_number(text, "number", 1, 100)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("08:30", dt.time(8, 30)), ("8:05", dt.time(8, 5)), ("23.59", dt.time(23, 59)), ("7h00", dt.time(7, 0)),
        ("8", dt.time(8, 0)), ("8am", dt.time(8, 0)), ("8:30pm", dt.time(20, 30)), ("8:30 PM", dt.time(20, 30)),
        ("12am", dt.time(0, 0)), ("12pm", dt.time(12, 0)), ("12:15a.m.", dt.time(0, 15)),
    ],
)
def test_clock_times(text, value):
    assert parse_clock(text) == value


def test_clock_time_out_of_range_is_refused_and_words_are_not_times():
    with pytest.raises(CommandError, match="HH:MM"):
        parse_clock("24:00")
    with pytest.raises(CommandError):
        parse_clock("12:60")
    with pytest.raises(CommandError, match="1 to 12"):
        parse_clock("13pm")
    assert parse_clock("Europe/Berlin") is None
    assert parse_clock("830") is None


def test_time_zones_are_canonicalized_and_validated():
    assert resolve_timezone("europe/berlin") == "Europe/Berlin"
    assert resolve_timezone("UTC") == "UTC"
    assert resolve_timezone("Pacific/Kiritimati") == "Pacific/Kiritimati"
    assert resolve_timezone("Mars/Olympus_Mons") is None
    assert resolve_timezone("localtime") is None
    assert resolve_timezone("Factory") is None
    assert resolve_timezone("../../etc/passwd") is None
    assert resolve_timezone("") is None
