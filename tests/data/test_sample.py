"""The bundled synthetic city: reproducible from its seed and clean to load."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dff_core.data import load_dataset, load_items, load_sample, load_sample_items, sample_paths
from dff_core.data.synthetic import SEED, write_sample


def test_generator_reproduces_committed_files(tmp_path):
    written = write_sample(tmp_path, SEED)
    for key, committed in sample_paths().items():
        fresh = written[key].read_bytes()
        old = committed.read_bytes()
        if fresh != old:
            a, b = old.decode().splitlines(), fresh.decode().splitlines()
            diff = [i + 1 for i, (x, y) in enumerate(zip(a, b)) if x != y][:5]
            raise AssertionError(f"{committed.name}: regenerated file differs (lines {diff}, {len(a)} vs {len(b)})")
    total = sum(p.stat().st_size for p in sample_paths().values())
    assert total < 4.2e6


def test_another_seed_gives_another_city(tmp_path):
    written = write_sample(tmp_path, SEED + 1)
    assert written["readings"].read_bytes() != sample_paths()["readings"].read_bytes()


def test_sample_loads_clean():
    p = sample_paths()
    ds, rep = load_dataset(p["readings"], p["sensors"], p["links"], value="speed_kmh")
    assert rep.ok, str(rep)
    # the only warning is the 4-hour outage, whose 16 time steps are removed
    assert len(rep.warnings) == 1 and "16 time step(s)" in rep.warnings[0].message
    assert rep.dropped_timestamps == 16 and not rep.dropped_sensors and rep.filled_values > 0
    assert ds.readings.shape == (28 * 96 - 16, 50) and ds.freq == pd.Timedelta("15min")
    assert len(ds.links) == 176 and ds.links["capacity"].notna().all() and not ds.graph_inferred
    v = ds.readings.to_numpy()
    assert v.min() >= 3.0 and v.max() < 100.0


@pytest.fixture(scope="module")
def sample():
    return load_sample()


def test_sample_has_weekday_peaks_and_quiet_weekends(sample):
    r = sample.readings
    weekday = r[r.index.day_of_week < 5]
    weekend = r[r.index.day_of_week >= 5]
    am = weekday.between_time("07:30", "08:30").mean().mean()
    night = weekday.between_time("02:00", "04:00").mean().mean()
    assert am < 0.8 * night
    assert weekend.between_time("07:30", "08:30").mean().mean() > 0.95 * night
    # peak timing differs by corridor: the ring's AM minimum comes earlier than local streets'
    prof = weekday.groupby(weekday.index.time).mean()
    am_prof = prof[(prof.index >= pd.Timestamp("05:00").time()) & (prof.index <= pd.Timestamp("11:00").time())]
    ring = [f"S{i:02d}" for i in range(37, 51)]
    local = ["S01", "S02", "S07", "S08"]
    t_ring = am_prof[ring].mean(axis=1).idxmin()
    t_local = am_prof[local].mean(axis=1).idxmin()
    assert t_ring < t_local


def test_sample_speeds_predictable_but_not_from_time_alone(sample):
    """Recent readings help beyond the time-of-day profile (day-level state and incidents)."""
    r = sample.readings.asfreq("15min").interpolate(limit_direction="both")
    key = [r.index.day_of_week >= 5, r.index.time]
    profile = r.groupby(key).transform("mean")
    y, last = r.shift(-1), r
    resid_now = last - profile
    # profile + current deviation beats the profile alone one step ahead
    mae_profile = (y - profile.shift(-1)).abs().mean().mean()
    mae_state = (y - (profile.shift(-1) + 0.8 * resid_now)).abs().mean().mean()
    assert mae_state < 0.8 * mae_profile


def test_sample_items():
    items = load_sample_items()
    assert list(items.columns[:3]) == ["period", "item_id", "value"]
    assert items["item_id"].nunique() == 6 and items["period"].nunique() == 28 * 24
    assert (items["value"] >= 0).all() and np.allclose(items["value"], items["value"].round())
    _, rep = load_items(sample_paths()["items"])
    assert rep.ok and not rep.warnings
