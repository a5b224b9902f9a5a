"""Causal features, horizon targets and chronological splits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dff_core.scenarios.features import CALENDAR_COLUMNS, chronological_split, make_features, resolve_timing


def _frame(n: int = 400, d: int = 3, freq: str = "5min", seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2024-01-01", periods=n, freq=freq)
    return pd.DataFrame(rng.normal(60, 5, (n, d)), index=idx, columns=[f"s{i}" for i in range(d)])


def test_target_is_value_at_t_plus_horizon() -> None:
    df = _frame()
    fs = make_features(df, horizon="30min")
    assert fs.horizon_steps == 6
    for k in (0, 17, len(fs.times) - 1):
        t = fs.times[k]
        np.testing.assert_allclose(fs.C[k], df.loc[t + pd.Timedelta("30min")].to_numpy())
        np.testing.assert_allclose(fs.X[k, :3], df.loc[t].to_numpy())  # lag 0 block
        np.testing.assert_allclose(fs.X[k, 3:6], df.loc[t - pd.Timedelta("5min")].to_numpy())
    assert fs.feature_names[-len(CALENDAR_COLUMNS) :] == list(CALENDAR_COLUMNS)
    assert fs.X.shape[1] == 3 * 3 + len(CALENDAR_COLUMNS)  # lags t, t-1, rolling mean + calendar


def test_no_look_ahead_future_values_never_change_features() -> None:
    """Changing every reading after t (including the target at t + h) leaves features at t unchanged."""
    df = _frame()
    fs = make_features(df, horizon="30min")
    k = 150
    t = fs.times[k]
    changed = df.copy()
    changed.loc[changed.index > t] += 1000.0
    fs2 = make_features(changed, horizon="30min")
    k2 = fs2.times.get_loc(t)
    np.testing.assert_array_equal(fs.X[k], fs2.X[k2])
    assert np.all(fs2.C[k2] > fs.C[k] + 999)  # ...while the target did move


def test_last_instances_without_target_are_dropped_and_every_spacing() -> None:
    df = _frame(n=100)
    fs = make_features(df, horizon="1h", every="15min")
    assert fs.times[-1] + pd.Timedelta("1h") <= df.index[-1]
    assert all(t.minute % 15 == 0 for t in fs.times)
    np.testing.assert_array_equal(fs.target_times, fs.times + pd.Timedelta("1h"))


def test_gaps_in_the_index_do_not_shift_lags() -> None:
    df = _frame(n=60).drop(index=pd.date_range("2024-01-01 01:00", periods=5, freq="5min"))
    fs = make_features(df, horizon="10min", freq="5min", target_fill_steps=0)
    for k, t in enumerate(fs.times):
        np.testing.assert_allclose(fs.C[k], df.loc[t + pd.Timedelta("10min")].to_numpy())
        np.testing.assert_allclose(fs.X[k, 3:6], df.loc[t - pd.Timedelta("5min")].to_numpy())


def test_calendar_and_slot_of_week() -> None:
    df = _frame(n=2 * 288)
    fs = make_features(df, horizon="5min")
    slot = fs.X[:, fs.slot_column]
    expect = fs.times.day_of_week * 24 + fs.times.hour
    np.testing.assert_array_equal(slot, expect.to_numpy(dtype=float))
    weekend = fs.X[:, fs.feature_names.index("weekend")]
    np.testing.assert_array_equal(weekend, (fs.times.day_of_week >= 5).astype(float))


def test_daily_lag_auto_only_with_enough_days() -> None:
    short = make_features(_frame(n=3 * 288), horizon="30min")
    assert not any(n.endswith("@t-1d") for n in short.feature_names)
    long = make_features(_frame(n=9 * 288, d=2), horizon="30min")
    assert sum(n.endswith("@t-1d") for n in long.feature_names) == 2
    k = 10
    t = long.times[k]
    assert t >= long.times[0]
    assert long.times[0] >= pd.Timestamp("2024-01-02")  # first day has no lag-1d values


def test_bad_horizon_is_named() -> None:
    df = _frame()
    with pytest.raises(ValueError, match="horizon"):
        make_features(df, horizon="7min")
    with pytest.raises(ValueError, match="horizon"):
        make_features(df, horizon="soon")


def test_chronological_split_fractions_in_time_order_with_purge() -> None:
    times = pd.date_range("2024-01-01", periods=100, freq="15min")
    parts = chronological_split(times, (0.6, 0.2, 0.2), target_times=times + pd.Timedelta("30min"))
    tr, va, te = parts["train"], parts["val"], parts["test"]
    assert times[tr].max() < times[va].min() < times[va].max() < times[te].min()
    assert len(te) == 20
    # purge: no training target lies at or after the first validation time
    assert (times[tr] + pd.Timedelta("30min")).max() < times[va].min()
    assert len(tr) == 60 - 2
    assert not set(tr) & set(va) and not set(va) & set(te)


def test_chronological_split_by_days() -> None:
    times = pd.date_range("2024-01-01", periods=7 * 96, freq="15min")
    parts = chronological_split(times, ("5D", "1D", "1D"))
    assert times[parts["train"]].max() < pd.Timestamp("2024-01-06")
    assert times[parts["test"]].min() == pd.Timestamp("2024-01-07")
    assert len(parts["test"]) == 96


def test_split_errors() -> None:
    times = pd.date_range("2024-01-01", periods=10, freq="h")
    with pytest.raises(ValueError, match="sum to 1"):
        chronological_split(times, (0.5, 0.2, 0.2))
    with pytest.raises(ValueError, match="no test"):
        chronological_split(times, ("1D", "1D", "1D"))


def test_rolling_mean_covers_the_last_hour_up_to_t() -> None:
    df = _frame(n=200)
    fs = make_features(df, horizon="30min")
    k = 50
    t = fs.times[k]
    window = df.loc[t - pd.Timedelta("55min") : t]
    assert len(window) == 12
    cols = [fs.feature_names.index(f"s{i}@mean1h") for i in range(3)]
    np.testing.assert_allclose(fs.X[k, cols], window.mean().to_numpy())


@pytest.mark.parametrize(
    ("freq", "horizon", "every"),
    [("5min", "30min", "15min"), ("15min", "30min", "15min"), ("1h", "1h", "1h"), ("7min", "35min", "21min")],
)
def test_default_horizon_and_spacing_are_multiples_of_the_interval(freq: str, horizon: str, every: str) -> None:
    t = resolve_timing(pd.Timedelta(freq))
    assert t.horizon == pd.Timedelta(horizon) and t.every == pd.Timedelta(every) and t.auto == ("horizon", "every")
    assert "auto" in t.describe() and t.options()["horizon"] == horizon.replace("1h", "1h")


def test_given_horizon_and_spacing_are_kept_or_refused_by_name() -> None:
    t = resolve_timing(pd.Timedelta("1h"), "2h", None)
    assert t.horizon == pd.Timedelta("2h") and t.every is None and t.auto == ()
    with pytest.raises(ValueError, match=r"horizon \(30min\) must be a whole multiple"):
        resolve_timing(pd.Timedelta("1h"), "30min")


def test_calendar_follows_the_local_clock_across_a_daylight_saving_change() -> None:
    # 2025-03-30 02:00 Europe/Amsterdam: clocks jump to 03:00; the grid stays regular in real time
    idx = pd.date_range("2025-03-29 12:00", periods=48, freq="1h", tz="Europe/Amsterdam")
    df = pd.DataFrame({"a": np.arange(48.0)}, index=idx)
    fs = make_features(df, horizon="1h", daily_lag=False)
    hours = fs.X[:, fs.feature_names.index("slot_of_day")]
    np.testing.assert_array_equal(hours, fs.times.hour)
    assert 2 not in set(fs.times[fs.times.day == 30].hour)  # the skipped hour never appears
    assert (fs.target_times - fs.times == pd.Timedelta("1h")).all()
