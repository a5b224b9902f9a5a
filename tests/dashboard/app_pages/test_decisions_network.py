"""A comparison on an uploaded road network, end to end: trips between its nodes, routes drawn along its links."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dashboard import services as S
from dashboard.services import views as V
from dff_core.results import read_run_meta
from tests.dashboard.apps import new_app, train, upload
from tests.dashboard.networks import TOY_LINKS, coords, segments, upload_files, write_toy
from tests.dashboard.saved_runs import chart
from tests.roadnet_toy import toy_nodes

pytestmark = pytest.mark.usefixtures("fresh_caches")
PAGE = "app_pages/decisions.py"


def _trace(fig: dict, **meta) -> dict:
    return next(t for t in fig["data"] if all((t.get("meta") or {}).get(k) == v for k, v in meta.items()))


def test_a_run_on_an_uploaded_network_routes_on_its_links_and_draws_them(tmp_path: Path):
    at = upload(new_app(), upload_files(write_toy(tmp_path / "toy")))
    loaded = at.session_state["loaded"]
    at.switch_page("app_pages/train.py").run()
    assert any("Routes on the road network **Toy_net.tntp** (128 links" in c.value for c in at.caption)
    at = train(at, epochs=2)
    result, cfg = at.session_state["result"], at.session_state["result_config"]
    assert result.config["network"] == "Toy_net.tntp"
    assert cfg["scenario"]["network"] == loaded.network.spec["network"]
    assert at.session_state["result_digest"] == S.run_digest(loaded.digest, cfg)
    stored = read_run_meta(S.run_dir(at.session_state["result_digest"]))["config"]
    assert S.run_config_of(stored) == cfg  # a browser refresh finds the run again from its own folder
    nodes = toy_nodes()
    pairs = [tuple(p) for p in result.extra["pairs"]]
    assert all(int(a) <= 4 and int(b) <= 4 for a, b in pairs)  # default trips join the TNTP zones

    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    fig = chart(at, "route_map")
    assert fig["layout"]["yaxis"]["scaleanchor"] == "x" and "map" not in fig["layout"]  # offline plane map
    roads = fig["data"][0]
    assert segments(roads) == TOY_LINKS
    i = at.session_state["decision_i"]
    flows, _ = V.route_decisions(result, i, None)
    hindsight = _trace(fig, method="hindsight")
    used = np.flatnonzero(np.asarray(flows["hindsight"]) > 1e-9)
    assert segments(hindsight) == len(used)
    ends = np.array([nodes[int(n)] for k in used for n in result.extra["links"].iloc[k][["from_id", "to_id"]]])
    drawn = np.column_stack([coords(hindsight, "lon"), coords(hindsight, "lat")])
    drawn = drawn[np.isfinite(drawn[:, 0])]
    gap = np.abs(drawn[:, None, :] - ends[None, :, :]).max(axis=2)  # float32 on the wire: 1e-5 degree steps
    assert (gap.min(axis=1) < 1e-5).all() and (gap.min(axis=0) < 1e-5).all()  # the route's links, end to end
    origin = _trace(fig, role="origin")
    assert set(zip(origin["x"], origin["y"])) == {nodes[int(a)] for a, _ in pairs}  # at the zones, not sensors
    for page in ("app_pages/interpretability.py", "app_pages/export.py"):
        at.switch_page(page).run()
        assert not at.exception, at.exception
        assert not [e for e in at.error if "Something went wrong" in e.value]
