"""Downloads: figures as PNG, SVG and HTML, every result figure in one file, and tables as CSV.

PNG and SVG come from kaleido (v1), which drives the system's Chromium through ``choreographer``;
nothing downloads a browser. :func:`chromium_path` finds it (``$BROWSER_PATH``, then ``chromium`` on
the ``PATH``, then ``/usr/bin/chromium``) and :func:`images_available` says whether images can be
made, so the page can disable those buttons with a reason. HTML needs nothing: every figure file
opens offline, and the all-figures file carries plotly.js once rather than once per figure.
"""

from __future__ import annotations

import html
import importlib.util
import io
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from dashboard import figures as F
from dashboard.services import views as V

#: Image formats :func:`figure_image` makes, with their MIME types.
IMAGE_FORMATS = {"png": "image/png", "svg": "image/svg+xml"}
_T = TypeVar("_T")

#: Tries of one kaleido render when the browser ran the call before its page had loaded (see :func:`_render`).
RENDER_TRIES = 3
#: Size of exported images in CSS pixels when a figure does not set its own height; PNGs are drawn at 2x.
IMAGE_WIDTH, IMAGE_HEIGHT, PNG_SCALE = 1200, 700, 2


def chromium_path() -> str | None:
    """The Chromium (or Chrome) executable kaleido should use, or ``None`` when there is none."""
    env = os.environ.get("BROWSER_PATH")
    if env and Path(env).is_file():
        return env
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None


def images_available() -> tuple[bool, str]:
    """Whether PNG/SVG export works here, and why not (a sentence for the page) when it does not."""
    if importlib.util.find_spec("kaleido") is None:
        return False, "PNG and SVG need the kaleido package (pip install -r requirements.txt)."
    if chromium_path() is None:
        return False, "PNG and SVG need Chromium (e.g. apt-get install chromium); HTML works without it."
    return True, ""


def _use_system_browser() -> None:
    path = chromium_path()
    if path is None:
        raise RuntimeError("No Chromium found for image export; install chromium or set BROWSER_PATH.")
    os.environ.setdefault("BROWSER_PATH", path)  # choreographer reads it: kaleido never fetches its own browser


def _size(fig: go.Figure) -> tuple[int, int]:
    return int(fig.layout.width or IMAGE_WIDTH), int(fig.layout.height or IMAGE_HEIGHT)


def _page_not_ready(err: Exception) -> bool:
    """Whether ``err`` is kaleido's page-load race: on a busy machine its render call can reach the tab before
    the page defining ``kaleido_scopes`` has loaded (a JavaScript ``ReferenceError``); the same render then
    succeeds on a fresh try."""
    return type(err).__name__ == "JavascriptError" and "kaleido_scopes is not defined" in str(err)


def _render(call: Callable[[], _T]) -> _T:
    """``call()`` (a kaleido render), tried again up to :data:`RENDER_TRIES` times on the page-load race only;
    every other error is raised at once."""
    for attempt in range(1, RENDER_TRIES + 1):
        try:
            return call()
        except Exception as err:
            if attempt == RENDER_TRIES or not _page_not_ready(err):
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def figure_image(fig: go.Figure, fmt: str) -> bytes:
    """``fig`` as ``png`` or ``svg`` bytes, drawn by the system Chromium (a few seconds: it starts a browser)."""
    if fmt not in IMAGE_FORMATS:
        raise ValueError(f"figure_image: fmt must be one of {list(IMAGE_FORMATS)}; got {fmt!r}.")
    _use_system_browser()
    w, h = _size(fig)
    scale = PNG_SCALE if fmt == "png" else 1
    return _render(lambda: pio.to_image(fig, format=fmt, width=w, height=h, scale=scale))


def figure_images(figs: Mapping[str, go.Figure], fmt: str = "png") -> dict[str, bytes]:
    """Several figures as images with one browser start (much faster than one :func:`figure_image` each)."""
    if fmt not in IMAGE_FORMATS:
        raise ValueError(f"figure_images: fmt must be one of {list(IMAGE_FORMATS)}; got {fmt!r}.")
    if not figs:
        return {}
    _use_system_browser()
    with tempfile.TemporaryDirectory(prefix="dff-figures-") as tmp:
        paths = [Path(tmp) / f"{k:02d}.{fmt}" for k in range(len(figs))]
        sizes = [_size(f) for f in figs.values()]
        _render(
            lambda: pio.write_images(
                list(figs.values()),
                paths,
                format=fmt,
                width=[w for w, _ in sizes],
                height=[h for _, h in sizes],
                scale=PNG_SCALE if fmt == "png" else 1,
            )
        )
        missing = [name for name, p in zip(figs, paths) if not p.is_file()]
        if missing:  # kaleido can fail without raising (e.g. map text that needs fonts from the internet)
            raise RuntimeError(f"figure_images: the browser drew no image for {missing}; save it as HTML instead.")
        return {name: p.read_bytes() for name, p in zip(figs, paths)}


def figure_html(fig: go.Figure) -> str:
    """One interactive figure as a standalone HTML page (plotly.js inside: opens offline)."""
    return fig.to_html(include_plotlyjs=True, full_html=True)


def figures_html(figs: Mapping[str, go.Figure], title: str = "DFF Studio figures") -> str:
    """Every figure on one offline HTML page, with plotly.js included once."""
    parts = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        f'<script type="text/javascript">{get_plotlyjs()}</script>',
        "<style>body{font-family:sans-serif;margin:24px} section{margin-bottom:40px}</style>",
        "</head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for name, fig in figs.items():
        parts.append(f'<section id="{html.escape(name)}">')
        parts.append(fig.to_html(include_plotlyjs=False, full_html=False, div_id=f"fig-{html.escape(name)}"))
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def figures_zip(figs: Mapping[str, go.Figure], png: bool = False, title: str = "DFF Studio figures") -> bytes:
    """A zip with ``figures.html`` (every figure, plotly.js once) and, with ``png``, one PNG per figure."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("figures.html", figures_html(figs, title))
        if png:
            for name, data in figure_images(figs, "png").items():
                z.writestr(f"{name}.png", data)
    return buf.getvalue()


def csv_bytes(table: pd.DataFrame) -> bytes:
    """A table as UTF-8 CSV without the index."""
    return table.to_csv(index=False).encode("utf-8")


def result_figures(result, run: str, sensors: pd.DataFrame | None, sweep: pd.DataFrame | None = None) -> dict:
    """Every figure of the result pages for this run, by file name: the Train charts, the decisions at the
    test time DFF changed most, the top corrections, the attribution, the changed decisions and the ε trade-off
    (when a sweep is stored). ``sensors`` places the decisions on a map (``None``: no map)."""
    figs: dict[str, go.Figure] = {
        "regret_distribution": F.regret_distribution(result),
        "training_curves": F.training_curves(result),
    }
    if "dff" in result.methods and "two_stage" in result.methods:
        figs["paired_regret"] = F.paired_regret_scatter(result)
    i = V.most_changed_instance(result)
    label = V.time_labels(result)[i]
    sites = V.site_frame(result, sensors)
    if V.is_routing(result) and sensors is not None and len(sensors):
        flows, tt = V.route_decisions(result, i)
        links, geometry, places = V.route_layers(result, sensors)
        pairs = result.extra.get("pairs") or [tuple(p) for p in result.config.get("pairs") or []]
        figs["routes"] = F.route_map(
            links, flows, tt, unit=result.unit, sensors=sites if sites is not None else sensors,
            od=V.trip_points(pairs, places), time_label=label,
            sensor_values=result.C_test[i] if sites is not None else None, value_label="realised pace (min/km)",
            geometry=geometry,
        )  # fmt: skip
    elif not V.is_routing(result):
        alloc, _ = V.allocation_decisions(result, i)
        items = list(result.output_names) or [str(k) for k in range(result.C_test.shape[1])]
        table = V.allocation_table(items, alloc, result.C_test[i])
        figs["allocation_ranked"] = F.allocation_ranked(table, unit=result.unit, time_label=label)
        if sites is not None:
            limits = F.robust_limits(result.C_test[i])
            for m in (m for m in F.ORDER if m in alloc):
                figs[f"allocation_map_{m}"] = F.allocation_map(sites, alloc[m], result.C_test[i], m, result.unit,
                                                               limits=limits)  # fmt: skip
    factors = V.corrections_by_hour(result)
    if factors is not None:
        top = V.rank_corrections(factors, 20, "largest", "", V.sensor_names(result))
        figs["correction_heatmap"] = F.correction_heatmap(
            top, epsilon=result.config.get("epsilon"), row_label=V.row_label(result), total=len(factors)
        )
    attr = V.feature_attribution(result, run)
    if attr is not None and not attr.empty:
        figs["feature_attribution"] = F.attribution_bars(
            V.readable_features(attr, result), value_label="Mean influence on the correction"
        )
    diff = V.decision_differences(result)
    if diff is not None and not diff.empty:
        figs["decisions_changed"] = F.decision_changes(diff, unit=result.unit)
    if sweep is not None and len(sweep):
        figs["epsilon_tradeoff"] = F.epsilon_tradeoff(V.tradeoff_table(sweep, result), unit=result.unit)
    return figs
