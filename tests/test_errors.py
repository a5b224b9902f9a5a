"""Engine exceptions and the one form in which messages name an option to set."""

from __future__ import annotations

from dff_core.errors import DataError, option_hint


def test_option_hint_names_the_keyword_and_the_flag():
    assert option_hint("match_distance") == "match_distance (command line: --match-distance)"
    assert option_hint("zero_speeds", "keep") == "zero_speeds='keep' (command line: --zero-speeds keep)"
    assert option_hint("value", "count", "--alloc-value") == "value='count' (command line: --alloc-value count)"


def test_data_error_lists_every_problem():
    err = DataError(["a.csv line 2: bad", "a.csv line 3: worse"])
    assert err.problems == ["a.csv line 2: bad", "a.csv line 3: worse"] and str(err).count("\n") == 1
