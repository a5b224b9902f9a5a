"""Export page: tables as CSV and every figure as PNG, SVG and HTML."""

from __future__ import annotations

from tests.dashboard.saved_runs import open_run

PAGE = "app_pages/export.py"
TABLES = {"dl_summary", "dl_instances", "dl_metrics", "dl_decisions", "dl_factors"}
FIGURES = {"dl_fig_png", "dl_fig_svg", "dl_fig_html", "dl_figures", "dl_figures_png"}


def _buttons(at) -> dict:
    return {b.key: b for b in at.download_button}


def test_every_table_and_figure_format_offered(traffic_run):
    at = open_run(traffic_run, PAGE)
    buttons = _buttons(at)
    assert set(buttons) >= TABLES | FIGURES
    options = at.selectbox(key="export_figure").options  # shown by their titles
    assert any(o.startswith("Routes and realised travel times") for o in options)
    assert any(o.startswith("DFF correction factor") for o in options)
    assert any(o.startswith("Validation regret per epoch") for o in options)
    assert not buttons["dl_fig_png"].disabled  # the system Chromium draws images


def test_allocation_run_exports_allocation_figures(allocation_run):
    at = open_run(allocation_run, PAGE)
    assert set(_buttons(at)) >= TABLES | FIGURES
    at.selectbox(key="export_figure").set_value("allocation_map_dff").run()
    assert not at.exception, at.exception
