"""Downloads: figures as PNG/SVG (system Chromium) and HTML, the small figures zip, tables as CSV."""

from __future__ import annotations

import io
import zipfile

import pandas as pd
import plotly.graph_objects as go
import pytest

from dashboard.services import export as X

FIGS = {
    "one": go.Figure(go.Scatter(x=[1, 2], y=[3, 4]), layout={"title": {"text": "One"}}),
    "two": go.Figure(go.Bar(x=["a"], y=[1]), layout={"title": {"text": "Two"}, "height": 300}),
}
#: A line that occurs once in plotly.js itself.
PLOTLY_MARK = "plotly.js v"


def test_chromium_path_prefers_browser_path(monkeypatch, tmp_path):
    exe = tmp_path / "my-chromium"
    exe.write_text("")
    monkeypatch.setenv("BROWSER_PATH", str(exe))
    assert X.chromium_path() == str(exe)
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "missing"))
    assert X.chromium_path() != str(tmp_path / "missing")


def test_figures_html_carries_plotly_js_once():
    page = X.figures_html(FIGS, title="Run <1>")
    assert page.count(PLOTLY_MARK) == 1
    assert 'id="fig-one"' in page and 'id="fig-two"' in page
    assert "Run &lt;1&gt;" in page  # escaped


def test_figures_zip_is_small():
    data = X.figures_zip(FIGS)
    z = zipfile.ZipFile(io.BytesIO(data))
    assert z.namelist() == ["figures.html"]
    one_each = sum(len(X.figure_html(f).encode()) for f in FIGS.values())
    assert len(data) < one_each / 4  # plotly.js once and compressed, not once per figure


def test_csv_bytes_without_index():
    assert X.csv_bytes(pd.DataFrame({"a": [1], "b": ["x"]}, index=[7])) == b"a,b\n1,x\n"


def test_bad_image_format_is_named():
    with pytest.raises(ValueError, match="fmt must be one of"):
        X.figure_image(FIGS["one"], "gif")


def test_result_figures_for_routing_and_allocation(traffic_result, allocation_result):
    routing = X.result_figures(traffic_result, "run", sensors=None)
    assert {"regret_distribution", "training_curves", "paired_regret", "correction_heatmap"} <= set(routing)
    assert not any(k.startswith("allocation") for k in routing)  # routes are not allocations
    sensors = pd.DataFrame({"sensor_id": [f"S{j}" for j in range(5)], "lat": range(5), "lon": 0.5})
    alloc = X.result_figures(allocation_result, "run", sensors=sensors)
    assert {"allocation_ranked", "allocation_map_two_stage", "allocation_map_dff", "allocation_map_hindsight"} <= set(
        alloc
    )
    sweep = pd.DataFrame({"epsilon": [0.1], "regret_mean": [1.0], "mean_relative_shift": [0.05]})
    assert "epsilon_tradeoff" in X.result_figures(allocation_result, "run", None, sweep)


@pytest.mark.skipif(not X.images_available()[0], reason="needs kaleido and a system Chromium")
def test_png_and_svg_from_the_system_chromium():
    pngs = X.figure_images(FIGS, "png")
    assert list(pngs) == ["one", "two"]
    assert all(b.startswith(b"\x89PNG") for b in pngs.values())
    svg = X.figure_image(FIGS["two"], "svg")
    assert svg.lstrip().startswith(b"<svg") and b"Two" in svg
    z = zipfile.ZipFile(io.BytesIO(X.figures_zip(FIGS, png=True)))
    assert sorted(z.namelist()) == ["figures.html", "one.png", "two.png"]


@pytest.mark.skipif(not X.images_available()[0], reason="needs kaleido and a system Chromium")
def test_a_figure_the_browser_cannot_draw_is_named():
    online_text = go.Figure(go.Scattermap(lon=[0], lat=[0], mode="text", text=["needs online glyphs"]))
    with pytest.raises(RuntimeError, match=r"drew no image for \['bad'\]"):
        X.figure_images({"bad": online_text}, "png")


class JavascriptError(Exception):
    """Stands in for kaleido's error class of that name (matched by name, as the module does)."""


def test_a_render_that_beat_the_page_load_is_tried_again(monkeypatch):
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise JavascriptError("ReferenceError: kaleido_scopes is not defined")
        return b"<svg>Two</svg>"

    monkeypatch.setattr(X.pio, "to_image", flaky)
    monkeypatch.setattr(X, "_use_system_browser", lambda: None)
    assert X.figure_image(FIGS["two"], "svg") == b"<svg>Two</svg>"
    assert len(calls) == 2


def test_other_render_errors_and_a_lasting_race_are_raised(monkeypatch):
    monkeypatch.setattr(X, "_use_system_browser", lambda: None)
    calls = []

    def broken(*args, **kwargs):
        calls.append(1)
        raise JavascriptError("TypeError: cannot read properties of undefined")

    monkeypatch.setattr(X.pio, "to_image", broken)
    with pytest.raises(JavascriptError, match="TypeError"):
        X.figure_image(FIGS["one"], "png")
    assert len(calls) == 1  # not a page-load race: no second try

    def never_ready(*args, **kwargs):
        calls.append(1)
        raise JavascriptError("ReferenceError: kaleido_scopes is not defined")

    calls.clear()
    monkeypatch.setattr(X.pio, "to_image", never_ready)
    with pytest.raises(JavascriptError, match="kaleido_scopes"):
        X.figure_image(FIGS["one"], "png")
    assert len(calls) == X.RENDER_TRIES
