"""Decisions page: routes and allocations on the map, the trip's regret, the optional street basemap."""

from __future__ import annotations

import pytest

from dashboard.services import views as V
from tests.dashboard.saved_runs import chart, chart_keys, open_run

PAGE = "app_pages/decisions.py"


def _traces(fig: dict, **meta) -> list[dict]:
    return [t for t in fig["data"] if all((t.get("meta") or {}).get(k) == v for k, v in meta.items())]


def test_route_map_is_large_offline_with_distinct_ends_and_a_scale(traffic_run):
    at = open_run(traffic_run, PAGE)
    fig = chart(at, "route_map")
    assert fig["layout"]["height"] >= 600
    assert {t["type"] for t in fig["data"]} == {"scatter"}  # offline: SVG, no tiles or WebGL
    assert fig["layout"]["yaxis"]["scaleanchor"] == "x"
    origin, dest = _traces(fig, role="origin")[0], _traces(fig, role="destination")[0]
    assert origin["marker"]["color"] != dest["marker"]["color"]
    assert [t for t in fig["data"] if "scale_km" in (t.get("meta") or {})]
    sensors = next(t for t in fig["data"] if t.get("name", "").startswith("Sensors ("))
    assert sensors["marker"]["cmin"] < sensors["marker"]["cmax"]  # robust colour limits are set


def test_street_basemap_toggle(traffic_run):
    at = open_run(traffic_run, PAGE)
    at.toggle(key="decision_street").set_value(True).run()
    assert not at.exception, at.exception
    fig = chart(at, "route_map")
    assert fig["layout"]["map"]["style"] == "open-street-map" and {t["type"] for t in fig["data"]} == {"scattermap"}
    assert any("internet" in c.value for c in at.caption)


def _trip_regret(result, i: int, pair: int | None) -> list[float]:
    _, tt = V.route_decisions(result, i, pair)
    return [tt[m] - tt["hindsight"] for m in result.methods]


def test_regret_table_follows_the_selected_trip(traffic_run):
    at = open_run(traffic_run, PAGE)
    result = at.session_state["result"]
    # A time and trip where the trip's regret differs from the all-trip total, so the table must choose.
    i, pair = next(
        (i, p)
        for i in range(result.n_test)
        for p in (0, 1)
        if _trip_regret(result, i, p) != pytest.approx(_trip_regret(result, i, None))
    )
    at.select_slider(key="decision_i").set_value(i).run()
    at.selectbox(key="decision_pair").set_value(pair).run()
    assert not at.exception, at.exception
    table = next(d.value for d in at.dataframe if "Regret" in d.value.columns)
    assert list(table["Regret"]) == pytest.approx(_trip_regret(result, i, pair))
    assert any("Regret at this trip" in c.value for c in at.caption)
    at.selectbox(key="decision_pair").set_value(None).run()
    table = next(d.value for d in at.dataframe if "Regret" in d.value.columns)
    assert list(table["Regret"]) == pytest.approx([result.methods[m].regret[i] for m in result.methods])


def test_allocation_on_maps_side_by_side_or_one_large(allocation_run):
    at = open_run(allocation_run, PAGE)
    keys = chart_keys(at)
    assert {"allocation_map_two_stage", "allocation_map_dff", "allocation_map_dfl", "allocation_map_hindsight"} <= set(
        keys
    )
    limits = {(chart(at, k)["data"][-2]["marker"]["cmin"], chart(at, k)["data"][-2]["marker"]["cmax"]) for k in keys
              if k.startswith("allocation_map_")}  # fmt: skip
    assert len(limits) == 1  # one colour scale for every method's map, so they compare
    assert "allocation_chart" in keys
    table = next(d.value for d in at.dataframe if "Item" in d.value.columns)
    realised = next(c for c in table.columns if c.startswith("Realised"))
    assert list(table[realised]) == sorted(table[realised], reverse=True)  # ranked, best first

    at.segmented_control(key="decision_view").set_value("One method").run()
    at.selectbox(key="decision_method").set_value("dff").run()
    assert not at.exception, at.exception
    fig = chart(at, "allocation_map")
    assert _traces(fig, method="dff") and fig["layout"]["height"] >= 600
    assert not [k for k in chart_keys(at) if k.startswith("allocation_map_")]
