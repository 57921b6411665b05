"""Field patterns: refused when they backtrack exponentially or need backtracking, and
matched in time linear in the value (RE2) when accepted."""

from __future__ import annotations

import re
import time

import pytest
from metadata_support import Writer, one_field

from engine.metadata import pattern_matcher, validate_path


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        ("(a+)+$", "nested quantifiers"),
        ("(a*)*", "nested quantifiers"),
        (r"(\w+\s?)+", "nested quantifiers"),
        ("(a|b+)+", "nested quantifiers"),
        ("((a+){2})+", "nested quantifiers"),
        (r"([a-z]+)*@example\.com", "nested quantifiers"),
        (r"(a)\1", "backreferences"),
        (r"(?P<x>a)(?P=x)", "backreferences"),
        (r"(?=.*\d)[a-z\d]{6}", "lookahead"),
        (r"(?<!x)y", "negative lookahead"),
        (r"(?>a+)b", "atomic groups"),
        ("a++", "possessive"),
        (r"(a)?(?(1)b|c)", "conditional"),
        (r"abc\Z", "\\Z"),
        ("(", "not a valid regular expression"),
    ],
)
def test_a_pattern_that_cannot_run_in_bounded_time_is_refused(write: Writer, pattern: str, words: str) -> None:
    [found] = validate_path(write("deal.json", one_field(type="string", pattern=pattern)))
    assert (found.code, found.file, found.pointer) == ("invalid_pattern", "deal.json", "/fields/f/pattern")
    assert words in found.message


@pytest.mark.parametrize(
    "pattern",
    [
        r"[A-Z]{2}-\d{6}",
        r"[a-z]+(-[a-z]+)*",
        r"(\d{3})+",
        r"(CN|US|DE)\d{4}[a-z]?",
        r"(ab?)+",
        r"(?P<code>[A-Z]{3})-\d+",
        r"(a|aa)+",
    ],
)
def test_ordinary_patterns_are_accepted(write: Writer, pattern: str) -> None:
    assert validate_path(write("deal.json", one_field(type="string", pattern=pattern))) == []


def test_the_default_is_checked_with_the_same_matcher(write: Writer) -> None:
    [found] = validate_path(write("deal.json", one_field(type="string", pattern=r"[A-Z]{2}", default="abc")))
    assert (found.code, found.pointer) == ("invalid_default", "/fields/f/default")


def test_matching_a_long_value_is_linear_even_where_backtracking_explodes() -> None:
    # (a|aa)+ is accepted (no nested quantifier) yet exponential on a backtracking engine:
    # 28 characters already take a noticeable time with Python's re.
    started = time.perf_counter()
    assert re.fullmatch("(a|aa)+", "a" * 28 + "!") is None
    backtracking = time.perf_counter() - started
    for pattern in ("(a|aa)+", "(a+)+$"):
        matches = pattern_matcher(pattern)
        started = time.perf_counter()
        assert not matches("a" * 5000 + "!")
        assert matches("a" * 5000)
        bounded = time.perf_counter() - started
        assert bounded < 0.1
        assert bounded < backtracking


def test_a_lone_surrogate_matches_no_pattern() -> None:
    assert not pattern_matcher(".*")("a\ud800")
