"""The real-data gauntlet through the app: each agency-shaped file set uploaded on the Data page (with the one
reading option it needs) and compared in both scenarios with Streamlit's AppTest, with no exception or error.

The variants are the command line gauntlet's (tests/data/test_gauntlet.py), written from the METR-LA week in
the shared data folder; skipped when it is absent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer

from tests.dashboard.apps import new_app, train, upload
from tests.data.test_gauntlet import METR, _long, base  # noqa: F401  (base is the shared fixture)

pytestmark = [
    pytest.mark.skipif(METR is None or not (METR / "los_speed.csv").exists(), reason="metr-la-week not found"),
    pytest.mark.usefixtures("fresh_caches"),
]


def _csv(name: str, frame: pd.DataFrame) -> tuple[str, bytes]:
    return name, frame.to_csv(index=False).encode()


def _variant(name: str, b: dict[str, pd.DataFrame]) -> tuple[dict[str, tuple[str, bytes]], dict[str, str]]:
    """Files and reading options of one variant."""
    sensors, speed = b["sensors"], _long(b["speed"], "speed")
    if name == "hourly boardings":
        hourly = _long(b["counts"].resample("1h").sum(), "count")
        files = {"readings": _csv("boardings.csv", hourly), "sensors": _csv("stops.csv", sensors)}
        return files, {"upload_value": "count", "upload_count_unit": "boardings"}
    if name == "conflicting duplicates":
        long = _long(b["counts"], "count")
        again = long[long["sensor_id"] == sensors["sensor_id"].iloc[0]].iloc[::3].copy()
        again["count"] += 7
        files = {"readings": _csv("counts.csv", pd.concat([long, again])), "sensors": _csv("s.csv", sensors)}
        return files, {"upload_value": "count", "upload_duplicates": "mean"}
    if name == "utm metres":
        x, y = Transformer.from_crs("EPSG:4326", "EPSG:32611", always_xy=True).transform(
            sensors["longitude"].to_numpy(), sensors["latitude"].to_numpy()
        )
        utm = pd.DataFrame({"sensor_id": sensors["sensor_id"], "x": np.round(x, 1), "y": np.round(y, 1)})
        return {"readings": _csv("speeds.csv", speed), "sensors": _csv("utm.csv", utm)}, {"upload_crs": "EPSG:32611"}
    if name == "sensor at 0/0":
        s = sensors.copy()
        s.loc[3, ["latitude", "longitude"]] = 0.0
        return {"readings": _csv("speeds.csv", speed), "sensors": _csv("s.csv", s)}, {}
    if name == "days missing":
        t = pd.to_datetime(speed["timestamp"])
        gone = speed["sensor_id"].isin(sensors["sensor_id"].iloc[:2]) & t.dt.day.isin([2, 3])
        return {"readings": _csv("speeds.csv", speed[~gone]), "sensors": _csv("s.csv", sensors)}, {}
    # a links file with lengths in metres
    s = sensors.set_index("sensor_id")
    ids = list(s.index)
    pairs = [(a, c) for i, a in enumerate(ids) for c in ids[i + 1 : i + 4]]
    pairs += [(c, a) for a, c in pairs]
    lat, lon = np.radians(s["latitude"]), np.radians(s["longitude"])
    metres = [round(1200 * 6371 * np.hypot(lat[c] - lat[a], (lon[c] - lon[a]) * np.cos(lat[a])), 1) for a, c in pairs]
    links = pd.DataFrame({"from_id": [a for a, _ in pairs], "to_id": [c for _, c in pairs], "length_m": metres})
    files = {"readings": _csv("c.csv", _long(b["counts"], "count")), "sensors": _csv("s.csv", sensors)}
    files["links"] = _csv("links.csv", links)
    return files, {"upload_value": "count"}


VARIANTS = ["hourly boardings", "conflicting duplicates", "utm metres", "sensor at 0/0", "days missing", "links"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_each_variant_uploads_and_compares_in_both_scenarios(base, variant: str) -> None:  # noqa: F811
    files, options = _variant(variant, base)
    at = upload(new_app(), files, **options)
    assert not at.error, [e.value for e in at.error]
    assert at.subheader[0].value == "Loaded: Uploaded data"
    for scenario in ("traffic", "allocation"):
        at.switch_page("app_pages/train.py").run()
        at.radio(key="cfg_scenario").set_value(scenario).run()
        at = train(at, epochs=1, methods=("two_stage", "dff"))
        assert at.session_state["result_config"]["scenario"]["kind"] == scenario
        assert not at.error, (scenario, [e.value for e in at.error])
