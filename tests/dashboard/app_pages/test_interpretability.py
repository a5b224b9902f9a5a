"""Interpretability page: the correction heatmap shows the top-k sensors, searchable and ordered."""

from __future__ import annotations

from tests.dashboard.saved_runs import chart, open_run

PAGE = "app_pages/interpretability.py"


def _rows(at) -> list[str]:
    return chart(at, "correction_heatmap")["data"][0]["y"]


def test_heatmap_shows_the_top_k_sensors_not_all(traffic_run):
    at = open_run(traffic_run, PAGE)
    total = len(at.session_state["result"].output_names)
    assert total > 20
    fig = chart(at, "correction_heatmap")
    assert len(fig["data"][0]["y"]) == 20
    assert f"top 20 of {total}" in fig["layout"]["title"]["text"]
    assert fig["layout"]["height"] < 1000  # not one tall strip of every sensor
    at.number_input(key="correction_top_k").set_value(5).run()
    assert not at.exception, at.exception
    assert len(_rows(at)) == 5


def test_heatmap_order_and_search(traffic_run):
    at = open_run(traffic_run, PAGE)
    at.selectbox(key="correction_order").set_value("name").run()
    rows = _rows(at)
    assert rows == sorted(rows)
    wanted = rows[0].split()[0]
    at.text_input(key="correction_search").input(wanted).run()
    assert not at.exception, at.exception
    assert all(wanted.lower() in r.lower() for r in _rows(at))
    at.text_input(key="correction_search").input("no such sensor").run()
    assert not at.get("plotly_chart") or "correction_heatmap" not in str([e.proto.id for e in at.get("plotly_chart")])
    assert any("No sensor matches" in c.value for c in at.caption)
