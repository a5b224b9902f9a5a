"""The dashboard's road network map on real networks: building the figure and sending it to the browser.

    python benchmarks/bench_network_map.py

For Chicago Sketch (2,950 links) and Philadelphia (40,003 links) from ``../shared/data`` (skipped
when absent), 200 sensors are placed on the network (the synthetic generator) and matched onto it,
then the Data page's map (:func:`dashboard.figures.network_map`) is built and serialised as Streamlit
does (``plotly.io.to_json``). The competitor, measured in the same run, is the usual way of drawing
many lines in plotly: one trace whose coordinate lists hold ``None`` between links (what the sensor
graph's map does). The ratios of build time, serialisation time and JSON size are printed. Each time
is the best of 3.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from bench_network_e2e import NETWORKS

from dashboard.figures import network_map
from dashboard.services.data import sensors_frame
from dff_core.data import shared_data_dir
from dff_core.data.roadnet import load_road_network, match_sensors
from dff_core.data.synthetic import write_network_readings

REPEAT = 3


def _best(fn) -> tuple[float, object]:
    out, best = None, float("inf")
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _none_separated(geometry) -> go.Figure:
    """The competitor: the links as one trace of Python lists with None between links."""
    lon: list = []
    lat: list = []
    for g in geometry:
        xs, ys = g.xy
        lon += [*xs, None]
        lat += [*ys, None]
    fig = go.Figure(go.Scattermap(lon=lon, lat=lat, mode="lines", line={"width": 1}, hoverinfo="skip"))
    return fig.update_layout(map={"style": "white-bg"})


def _row(name: str, net) -> str:
    """One table row: our map against the None-separated lists, on network ``net``."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_network_readings(net, Path(tmp), sensors=200, days=1)
        sensors = pd.read_csv(paths["sensors"], dtype={"sensor_id": str}).set_index("sensor_id")
    match = match_sensors(net, sensors)
    shown = sensors_frame(sensors).assign(mean_value=np.linspace(30, 90, len(sensors)))
    t_ours, fig = _best(lambda: network_map(net.geometry, net.links, shown, match.table, value="mean_value"))
    t_lists, rival = _best(lambda: _none_separated(net.geometry))
    j_ours, text = _best(lambda: pio.to_json(fig, validate=False))
    j_lists, rival_text = _best(lambda: pio.to_json(rival, validate=False))
    mb, rival_mb = len(text) / 1e6, len(rival_text) / 1e6
    return (f"{name:<14}{len(net.links):>8,}  {t_ours:>8.3f} {t_lists:>8.3f} {t_lists / t_ours:>5.1f}x  "
            f"{j_ours:>7.3f} {j_lists:>8.3f} {j_lists / j_ours:>5.1f}x  {mb:>6.2f} {rival_mb:>9.2f} "
            f"{rival_mb / mb:>5.1f}x")  # fmt: skip


def main() -> None:
    root = shared_data_dir()
    if root is None:
        print("shared data not found: nothing to measure")
        return
    print(f"{'network':<14}{'links':>8}  {'build s':>8} {'lists s':>8} {'ratio':>6}  "
          f"{'json s':>7} {'lists s':>8} {'ratio':>6}  {'MB':>6} {'lists MB':>9} {'ratio':>6}")  # fmt: skip
    for name, (folder, net_file, crs, _) in NETWORKS.items():
        path = root / folder / net_file
        if not path.is_file():
            print(f"{name}: {path} not found, skipped")
            continue
        print(_row(name, load_road_network(path, crs=crs)))
    print("ours: the full Data page map (links, matched links, sensors, scale bar; links are named on hover up to")
    print("5,000 links, so Chicago Sketch's map carries a label per point); lists: the links layer alone, no hover")


if __name__ == "__main__":
    main()
