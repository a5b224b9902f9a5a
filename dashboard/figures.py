"""Pure figure builders: engine results and display tables in, plotly figures out.

No Streamlit here, so every chart is unit-tested without a browser. Every chart uses the same
method colours (:data:`COLORS`) and labels, puts units on its axes and shows the sensor id,
time and value on hover. Maps use ``map_style="white-bg"`` with our own layers, so they render
without internet access (tile styles fetch from CDNs; ``*_mapbox`` traces are gone in plotly 7).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dff_core.results import METHOD_LABELS, METHODS, ComparisonResult

#: One colour per method, used on every chart (plain grey, DFF blue, DFL amber, hindsight black).
COLORS: dict[str, str] = {
    "two_stage": "#64748B",
    "dff": "#1D4ED8",
    "dfl": "#D97706",
    "hindsight": "#111827",
}
#: Display order of methods (hindsight last).
ORDER: tuple[str, ...] = (*METHODS, "hindsight")
SENSOR_COLOR = "#0F766E"
#: Colours for individual sensors: none of them is a method colour.
SENSOR_PALETTE = ("#0F766E", "#7C3AED", "#DB2777", "#65A30D", "#0891B2", "#9F1239", "#A16207", "#4338CA")
SELECTED_COLOR = "#DB2777"
LINK_COLOR = "#CBD5E1"
CONTEXT_FILL = "rgba(148, 163, 184, 0.12)"
#: Diverging scale for correction factors, centred on 1 (blue = cheaper, red = costlier).
DIVERGING = "RdBu_r"

_BASE_LAYOUT = {
    "margin": {"l": 60, "r": 20, "t": 50, "b": 110},
    # Legends sit under the plot so they never collide with the title.
    "legend": {"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0},
    "hoverlabel": {"namelength": -1},
}


#: Short labels for tight spaces (KPI tiles).
SHORT_LABELS = {"two_stage": "Plain", "dff": "DFF", "dfl": "DFL", "hindsight": "Hindsight"}


def label(method: str, short: bool = False) -> str:
    """Human label of a method key."""
    if short:
        return SHORT_LABELS.get(method, method)
    return METHOD_LABELS.get(method, method)


def _unit(result: ComparisonResult) -> str:
    return result.unit or "cost units"


def _methods(result: ComparisonResult) -> list[str]:
    return [m for m in METHODS if m in result.methods]


def _times(result: ComparisonResult) -> list[str]:
    if result.times is not None and len(result.times) == result.n_test:
        return [pd.Timestamp(t).strftime("%Y-%m-%d %H:%M") for t in result.times]
    return [f"instance {i}" for i in range(result.n_test)]


def _layout(fig: go.Figure, title: str, x: str | None = None, y: str | None = None, **kw) -> go.Figure:
    fig.update_layout(title={"text": title}, **_BASE_LAYOUT, **kw)
    if x is not None:
        fig.update_layout(xaxis_title_text=x)
    if y is not None:
        fig.update_layout(yaxis_title_text=y)
    return fig


# ----------------------------------------------------------------------------- KPIs
def kpi_table(result: ComparisonResult) -> pd.DataFrame:
    """One row per method: mean regret, relative change vs plain, shift, min cosine and their bounds.

    ``rel_change`` is (regret − plain regret) / plain regret (negative = better than plain).
    ``shift_bound`` is ε (|c̃−ĉ| ≤ ε|ĉ|) and ``cosine_bound`` is √(1−ε²), both for DFF only.
    """
    eps = result.config.get("epsilon")
    m = result.metrics
    base = float(m.loc["two_stage", "regret_mean"]) if "two_stage" in m.index else np.nan
    rows = []
    for name in _methods(result):
        r = float(m.loc[name, "regret_mean"]) if name in m.index else float(np.mean(result.methods[name].regret))
        rel = (r - base) / base if np.isfinite(base) and base > 0 else np.nan
        is_dff = name == "dff" and eps is not None
        rows.append(
            {
                "method": name,
                "label": label(name),
                "regret_mean": r,
                "regret_median": float(m.loc[name, "regret_median"]) if "regret_median" in m else np.nan,
                "normalized_regret": float(m.loc[name, "normalized_regret"]) if "normalized_regret" in m else np.nan,
                "rel_change": rel,
                "max_relative_shift": float(m.loc[name, "max_relative_shift"]) if "max_relative_shift" in m else np.nan,
                "min_cosine": float(m.loc[name, "min_cosine"]) if "min_cosine" in m else np.nan,
                "shift_bound": float(eps) if is_dff else np.nan,
                "cosine_bound": float(np.sqrt(max(0.0, 1 - float(eps) ** 2))) if is_dff else np.nan,
                "seconds": float(m.loc[name, "seconds"]) if "seconds" in m else np.nan,
            }
        )
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- regret charts
def regret_distribution(result: ComparisonResult) -> go.Figure:
    """Per-instance test regret per method (box + points), lower is better."""
    unit = _unit(result)
    times = _times(result)
    fig = go.Figure()
    for name in _methods(result):
        reg = np.asarray(result.methods[name].regret, dtype=float)
        fig.add_trace(
            go.Box(
                y=reg,
                name=label(name),
                marker_color=COLORS[name],
                boxpoints="all",
                jitter=0.4,
                pointpos=0,
                boxmean=True,
                customdata=np.asarray(times[: len(reg)], dtype=object),
                hovertemplate=f"%{{customdata}}<br>regret %{{y:.3f}} {unit}<extra>{label(name)}</extra>",
                meta={"method": name},
            )
        )
    return _layout(
        fig, "Per-instance test regret (lower is better)", x="Method", y=f"Regret ({unit})", showlegend=False
    )


def paired_regret_scatter(result: ComparisonResult, other: str = "dff") -> go.Figure:
    """Regret of plain (x) against ``other`` (y) per test instance; points below y = x are wins."""
    if other not in result.methods or "two_stage" not in result.methods:
        raise ValueError(f"paired_regret_scatter: the result needs methods 'two_stage' and {other!r}.")
    unit = _unit(result)
    x = np.asarray(result.methods["two_stage"].regret, dtype=float)
    y = np.asarray(result.methods[other].regret, dtype=float)
    hi = float(max(np.max(x, initial=0.0), np.max(y, initial=0.0))) * 1.05 or 1.0
    wins, losses = int(np.sum(y < x - 1e-9)), int(np.sum(y > x + 1e-9))
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[0, hi],
            y=[0, hi],
            mode="lines",
            name="y = x (no change)",
            line={"color": COLORS["hindsight"], "dash": "dash", "width": 1},
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=y,
            mode="markers",
            name=f"{label(other)} vs plain: {wins} better, {losses} worse",
            marker={"color": COLORS[other], "size": 7, "opacity": 0.75},
            customdata=np.asarray(_times(result), dtype=object),
            hovertemplate=(
                f"%{{customdata}}<br>plain %{{x:.3f}} {unit}<br>{label(other)} %{{y:.3f}} {unit}<extra></extra>"
            ),
            meta={"method": other},
        )
    )
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return _layout(
        fig,
        f"Paired regret: plain vs {label(other)} (below the line = {label(other)} better)",
        x=f"Plain regret ({unit})",
        y=f"{label(other)} regret ({unit})",
    )


def training_curves(result: ComparisonResult) -> go.Figure:
    """Validation regret per epoch for each trained method (epoch 0 = starting point)."""
    unit = _unit(result)
    fig = go.Figure()
    for name in _methods(result):
        h = result.methods[name].history
        if h is None or len(h) == 0 or "val_regret" not in h:
            continue
        fig.add_trace(
            go.Scatter(
                x=h["epoch"],
                y=h["val_regret"],
                mode="lines+markers",
                name=label(name),
                line={"color": COLORS[name]},
                hovertemplate=f"epoch %{{x}}<br>validation regret %{{y:.3f}} {unit}<extra>{label(name)}</extra>",
                meta={"method": name},
            )
        )
    return _layout(fig, "Training curves (epoch 0 = the plain backbone)", x="Epoch", y=f"Validation regret ({unit})")


def progress_curve(records: Sequence[Mapping[str, object]], unit: str = "") -> go.Figure:
    """Live validation regret from progress records ``{"method", "epoch", "val_regret"}``."""
    df = pd.DataFrame([r for r in records if r.get("val_regret") is not None and r.get("epoch") is not None])
    fig = go.Figure()
    if len(df):
        for name, g in df.groupby("method", sort=False):
            fig.add_trace(
                go.Scatter(
                    x=g["epoch"],
                    y=g["val_regret"],
                    mode="lines+markers",
                    name=label(str(name)),
                    line={"color": COLORS.get(str(name), SENSOR_COLOR)},
                )
            )
    return _layout(
        fig, "Validation regret while training", x="Epoch", y=f"Validation regret ({unit or 'cost units'})", height=300
    )


# ----------------------------------------------------------------------------- maps
def _bounds(lat: np.ndarray, lon: np.ndarray) -> tuple[float, float, float, float]:
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    lat, lon = lat[np.isfinite(lat)], lon[np.isfinite(lon)]
    if lat.size == 0:
        return -1.0, 1.0, -1.0, 1.0
    return float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())


def _map_view(lon0: float, lat0: float, lon1: float, lat1: float) -> dict:
    span = max(lon1 - lon0, (lat1 - lat0) * 1.6, 1e-3)
    zoom = float(np.clip(np.log2(360.0 / span) - 0.6, 1, 16))
    return {"center": {"lat": (lat0 + lat1) / 2, "lon": (lon0 + lon1) / 2}, "zoom": zoom}


def _context_layer(lon0: float, lat0: float, lon1: float, lat1: float) -> dict:
    """A shaded study-area rectangle drawn from our own GeoJSON (no network needed)."""
    px_, py_ = (lon1 - lon0) * 0.08 + 1e-3, (lat1 - lat0) * 0.08 + 1e-3
    ring = [[lon0 - px_, lat0 - py_], [lon1 + px_, lat0 - py_], [lon1 + px_, lat1 + py_], [lon0 - px_, lat1 + py_]]
    ring.append(ring[0])
    geo = {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring]}}
    return {"source": geo, "sourcetype": "geojson", "type": "fill", "color": CONTEXT_FILL, "below": "traces"}


def _links_trace(links: pd.DataFrame) -> go.Scattermap:
    """The road network as one line trace (the base layer of every map)."""
    lon, lat, text = _segments(links)
    return go.Scattermap(
        lon=lon,
        lat=lat,
        mode="lines",
        line={"color": LINK_COLOR, "width": 2},
        name="Road links",
        text=text,
        hovertemplate="link %{text}<extra></extra>",
    )


def _segments(links: pd.DataFrame, mask: np.ndarray | None = None) -> tuple[list, list, list]:
    """Line coordinates for link segments (None-separated), with hover text per vertex."""
    L = links if mask is None else links.loc[np.asarray(mask, bool)]
    lon, lat, text = [], [], []
    for row in L.itertuples(index=False):
        d = row._asdict()
        tip = str(d.get("link_id", ""))
        lon += [d["lon0"], d["lon1"], None]
        lat += [d["lat0"], d["lat1"], None]
        text += [tip, tip, None]
    return lon, lat, text


def _finish_map(fig: go.Figure, lon: np.ndarray, lat: np.ndarray, title: str, height: int = 640) -> go.Figure:
    b = _bounds(lat, lon)
    fig.update_layout(
        map={"style": "white-bg", "layers": [_context_layer(*b)], **_map_view(*b)},
        title={"text": title},
        margin={"l": 0, "r": 0, "t": 40, "b": 10},
        legend={"orientation": "h", "yanchor": "top", "y": -0.01, "x": 0},
        height=height,
    )
    return fig


def sensor_map(
    sensors: pd.DataFrame,
    links: pd.DataFrame | None = None,
    value: str | None = None,
    value_label: str = "",
    selected: Sequence[str] = (),
) -> go.Figure:
    """Sensors as markers over the road links (our own layers; renders offline).

    ``sensors`` has ``sensor_id``, ``lat``, ``lon`` (and optionally ``value``, e.g. mean speed);
    ``links`` has ``lon0, lat0, lon1, lat1`` (and optionally ``link_id``).
    """
    fig = go.Figure()
    lon_all = list(sensors["lon"])
    lat_all = list(sensors["lat"])
    if links is not None and len(links):
        base = _links_trace(links)
        fig.add_trace(base)
        lon_all += [v for v in base.lon if v is not None]
        lat_all += [v for v in base.lat if v is not None]
    marker: dict = {"size": 9, "color": SENSOR_COLOR}
    if value is not None and value in sensors:
        marker = {
            "size": 10,
            "color": sensors[value],
            "colorscale": "Viridis",
            "colorbar": {"title": {"text": value_label or value}},
        }
    vals = sensors[value] if value is not None and value in sensors else pd.Series([np.nan] * len(sensors))
    fig.add_trace(
        go.Scattermap(
            lon=sensors["lon"],
            lat=sensors["lat"],
            mode="markers",
            marker=marker,
            name="Sensors",
            customdata=np.column_stack([sensors["sensor_id"].astype(str), vals.to_numpy()]),
            hovertemplate=(
                "sensor %{customdata[0]}<br>lat %{lat:.4f}, lon %{lon:.4f}"
                + (f"<br>{value_label or value} %{{customdata[1]:.2f}}" if value is not None else "")
                + "<extra></extra>"
            ),
        )
    )
    if len(selected):
        sel = sensors[sensors["sensor_id"].astype(str).isin([str(s) for s in selected])]
        fig.add_trace(
            go.Scattermap(
                lon=sel["lon"],
                lat=sel["lat"],
                mode="markers",
                marker={"size": 15, "color": SELECTED_COLOR},
                name="Selected sensors",
                text=sel["sensor_id"].astype(str),
                hovertemplate="sensor %{text}<extra>selected</extra>",
            )
        )
    return _finish_map(fig, np.asarray(lon_all, float), np.asarray(lat_all, float), "Sensors and road links")


def route_map(
    links: pd.DataFrame,
    routes: Mapping[str, np.ndarray],
    travel_times: Mapping[str, float],
    unit: str = "min",
    sensors: pd.DataFrame | None = None,
    od: Sequence[tuple[float, float, str]] = (),
    time_label: str = "",
) -> go.Figure:
    """Routes chosen by each method (link masks over ``links``) with their realised travel times.

    ``routes`` maps method key (incl. ``"hindsight"``) -> boolean/flow array over the rows of
    ``links``; ``od`` lists ``(lon, lat, name)`` of the origin and destination.
    """
    fig = go.Figure()
    base = _links_trace(links)
    fig.add_trace(base)
    widths = {"hindsight": 12, "two_stage": 8, "dfl": 5.5, "dff": 3.5}
    # Widest first, so every route stays visible where they share links (hindsight at the bottom).
    for name in [m for m in ("hindsight", "two_stage", "dfl", "dff") if m in routes]:
        mask = np.asarray(routes[name]) > 1e-9
        rlon, rlat, rtext = _segments(links, mask)
        tt = travel_times.get(name)
        tt_txt = f"{tt:.1f} {unit}" if tt is not None else "n/a"
        fig.add_trace(
            go.Scattermap(
                lon=rlon,
                lat=rlat,
                mode="lines",
                line={"color": COLORS[name], "width": widths.get(name, 4)},
                opacity=0.35 if name == "hindsight" else 0.95,
                name=f"{label(name)}: {tt_txt}",
                text=rtext,
                hovertemplate=f"{label(name)} route<br>link %{{text}}<br>realised {tt_txt} {time_label}<extra></extra>",
                meta={"method": name},
            )
        )
    if sensors is not None and len(sensors):
        fig.add_trace(
            go.Scattermap(
                lon=sensors["lon"],
                lat=sensors["lat"],
                mode="markers",
                marker={"size": 5, "color": SENSOR_COLOR},
                name="Sensors",
                text=sensors["sensor_id"].astype(str),
                hovertemplate="sensor %{text}<extra></extra>",
            )
        )
    if od:
        fig.add_trace(
            go.Scattermap(
                lon=[p[0] for p in od],
                lat=[p[1] for p in od],
                mode="markers",
                marker={"size": 16, "color": "#DC2626"},
                name="Origin / destination",
                text=[p[2] for p in od],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    all_lon = np.asarray([v for v in base.lon if v is not None], float)
    all_lat = np.asarray([v for v in base.lat if v is not None], float)
    title = "Routes and realised travel times" + (f" at {time_label}" if time_label else "")
    return _finish_map(fig, all_lon, all_lat, title)


# ----------------------------------------------------------------------------- data preview
def timeseries(readings: pd.DataFrame, value_label: str = "Speed (mph)") -> go.Figure:
    """Readings over time for a few sensors: ``readings`` has ``time``, ``sensor_id``, ``value``."""
    fig = go.Figure()
    for k, (sid, g) in enumerate(readings.groupby("sensor_id", sort=True)):
        fig.add_trace(
            go.Scatter(
                x=g["time"],
                y=g["value"],
                mode="lines",
                line={"color": SENSOR_PALETTE[k % len(SENSOR_PALETTE)], "width": 1.2},
                name=f"sensor {sid}",
                customdata=np.full(len(g), str(sid), dtype=object),
                hovertemplate=(
                    f"sensor %{{customdata}}<br>%{{x|%Y-%m-%d %H:%M}}<br>{value_label} %{{y:.2f}}<extra></extra>"
                ),
            )
        )
    return _layout(fig, "Readings of the selected sensors", x="Time", y=value_label, height=360)


# ----------------------------------------------------------------------------- allocation
def allocation_bars(
    items: Sequence[str],
    allocations: Mapping[str, np.ndarray],
    realised: np.ndarray,
    unit: str = "value units",
    time_label: str = "",
) -> go.Figure:
    """Units allocated to each item by each method (bars) against the realised value per unit (line)."""
    items = [str(i) for i in items]
    fig = go.Figure()
    for name in [m for m in ORDER if m in allocations]:
        fig.add_trace(
            go.Bar(
                x=items,
                y=np.asarray(allocations[name], float),
                name=label(name),
                marker_color=COLORS[name],
                hovertemplate=f"item %{{x}}<br>%{{y:.2f}} units<extra>{label(name)}</extra>",
                meta={"method": name},
            )
        )
    fig.add_trace(
        go.Scatter(
            x=items,
            y=np.asarray(realised, float),
            mode="markers+lines",
            name="Realised value per unit",
            yaxis="y2",
            line={"color": "#DC2626", "dash": "dot"},
            hovertemplate=f"item %{{x}}<br>realised %{{y:.2f}} {unit} per unit<extra></extra>",
        )
    )
    fig.update_layout(
        barmode="group",
        yaxis2={"title": {"text": f"Realised value ({unit} per unit)"}, "overlaying": "y", "side": "right"},
    )
    title = "Units allocated vs realised value" + (f" at {time_label}" if time_label else "")
    return _layout(fig, title, x="Item", y="Units allocated (units)")


# ----------------------------------------------------------------------------- interpretability
def correction_heatmap(factors: pd.DataFrame, epsilon: float | None = None, row_label: str = "Sensor") -> go.Figure:
    """Mean DFF correction factor φ per sensor (rows) and hour of day (columns), centred on 1.

    ``factors`` is a wide frame: index = sensor/item ids, columns = hours (0-23).
    φ > 1 (red): DFF raises the predicted cost; φ < 1 (blue): lowers it.
    """
    z = factors.to_numpy(dtype=float)
    span = float(epsilon) if epsilon else float(np.nanmax(np.abs(z - 1.0), initial=0.05)) or 0.05
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[str(c) for c in factors.columns],
            y=[str(i) for i in factors.index],
            colorscale=DIVERGING,
            zmid=1.0,
            zmin=1.0 - span,
            zmax=1.0 + span,
            colorbar={"title": {"text": "φ (×)"}},
            hovertemplate=f"{row_label.lower()} %{{y}}<br>hour %{{x}}:00<br>factor φ %{{z:.3f}}<extra></extra>",
        )
    )
    fig.update_yaxes(type="category", autorange="reversed")  # first sensor on top
    fig.update_xaxes(type="category")
    return _layout(
        fig,
        f"DFF correction factor by {row_label.lower()} and hour (1 = unchanged)",
        x="Hour of day (h)",
        y=row_label,
        height=max(320, 16 * len(factors) + 120),
    )


def attribution_bars(attr: pd.DataFrame, value_label: str = "Attribution") -> go.Figure:
    """Horizontal bars, one per feature (top 25 by |value|), largest on top.

    ``attr`` has ``feature`` and ``value``; the colour is the sign of ``signed`` when given
    (direction in which the feature moves the correction), else of ``value``.
    """
    df = attr.assign(_abs=attr["value"].abs()).sort_values("_abs", kind="stable").tail(25)
    sign = df["signed"] if "signed" in df else df["value"]
    colors = np.where(sign >= 0, COLORS["dff"], "#DC2626")
    direction = np.where(sign >= 0, "raises predictions", "lowers predictions")
    fig = go.Figure(
        go.Bar(
            x=df["value"],
            y=df["feature"].astype(str),
            orientation="h",
            marker_color=colors,
            customdata=direction,
            hovertemplate=f"%{{y}}<br>{value_label} %{{x:.4f}}<br>on average %{{customdata}}<extra></extra>",
        )
    )
    fig.add_vline(x=0, line={"color": "#111827", "width": 1})
    return _layout(
        fig, "Which inputs drive the correction", x=value_label, y="Feature", height=max(320, 22 * len(df) + 120)
    )


def decision_changes(diff: pd.DataFrame, unit: str = "cost units") -> go.Figure:
    """Regret saved by DFF at each test instance where its decision differs from plain.

    ``diff`` has ``time`` (or ``instance``) and ``saved`` (plain regret − DFF regret; > 0 = DFF better).
    """
    x = diff["time"] if "time" in diff else diff["instance"]
    saved = diff["saved"].to_numpy(float)
    colors = np.where(saved >= 0, COLORS["dff"], COLORS["two_stage"])
    fig = go.Figure(
        go.Bar(
            x=x,
            y=saved,
            marker_color=colors,
            name="Regret saved by DFF",
            hovertemplate=f"%{{x}}<br>saved %{{y:.3f}} {unit}<extra></extra>",
        )
    )
    fig.add_hline(y=0, line={"color": "#111827", "width": 1})
    if len(diff) < 5:  # a date axis would zoom into milliseconds around one or two bars
        fig.update_xaxes(type="category")
    return _layout(
        fig,
        f"Decisions DFF changed: {len(diff)}; total saved {np.sum(saved):.2f} {unit}",
        x="Test time" if "time" in diff else "Test instance",
        y=f"Regret saved ({unit})",
    )


def epsilon_tradeoff(sweep: pd.DataFrame, unit: str = "cost units") -> go.Figure:
    """Test regret against the mean prediction shift for each ε of a sweep.

    ``sweep`` has ``epsilon``, ``regret_mean`` and ``mean_relative_shift`` (and optionally a
    ``plain_regret`` reference).
    """
    df = sweep.sort_values("epsilon")
    fig = go.Figure(
        go.Scatter(
            x=df["mean_relative_shift"] * 100.0,
            y=df["regret_mean"],
            mode="lines+markers+text",
            text=[f"ε={e:g}" for e in df["epsilon"]],
            textposition="top center",
            name=label("dff"),
            line={"color": COLORS["dff"]},
            customdata=df["epsilon"],
            hovertemplate=f"ε %{{customdata:g}}<br>mean shift %{{x:.2f}} %<br>regret %{{y:.3f}} {unit}<extra></extra>",
        )
    )
    if "plain_regret" in df and df["plain_regret"].notna().any():
        fig.add_hline(
            y=float(df["plain_regret"].dropna().iloc[0]),
            line={"color": COLORS["two_stage"], "dash": "dot"},
            annotation_text="plain",
        )
    return _layout(
        fig,
        "Trade-off: decision quality vs how far DFF moves the predictions",
        x="Mean prediction shift |c̃−ĉ|/|ĉ| (%)",
        y=f"Mean test regret ({unit})",
    )
