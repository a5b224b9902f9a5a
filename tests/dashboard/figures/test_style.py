"""The shared look of the figures."""

from __future__ import annotations

from dashboard import figures as F


def test_colours_cover_every_method_and_are_distinct():
    assert {"two_stage", "dff", "dfl", "hindsight", "dfl_backbone", "dfl_scratch", "dff_unbounded"} <= set(F.COLORS)
    assert len(set(F.COLORS.values())) == len(F.COLORS)
