"""The shared look of the figures."""

from __future__ import annotations

from dashboard import figures as F


def test_colours_cover_every_method_and_are_distinct():
    assert set(F.COLORS) == {"two_stage", "dff", "dfl", "hindsight"}
    assert len(set(F.COLORS.values())) == 4
