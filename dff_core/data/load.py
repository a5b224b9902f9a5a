"""Load and validate sensor readings, sensor locations and road links into a :class:`Dataset`.

:func:`load_dataset` reads every file, collects every problem it finds as an :class:`Issue`
(file, line, column, what to do) and either returns the validated data with a
:class:`ValidationReport` or raises one :class:`DataError` that lists all errors at once.
Problems that leave the rest usable (a few bad coordinates, short gaps, rare impossible values)
become warnings and the data is repaired as the warning says. The steps live in their own
modules: :mod:`~dff_core.data.sensors`, :mod:`~dff_core.data.readings` (layouts),
:mod:`~dff_core.data.timegrid` (values and time grid) and :mod:`~dff_core.data.links`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from dff_core.data.crs import check_crs
from dff_core.data.dataset import VALUE_KINDS, Dataset
from dff_core.data.fastcsv import read_table_fast
from dff_core.data.graph import n_components
from dff_core.data.io import Source, display_name, read_table
from dff_core.data.links import OPTIONAL_LINK_COLUMNS, infer_links, parse_links
from dff_core.data.parsing import DurationLike, TimestampLike, format_duration, parse_duration, parse_timestamp
from dff_core.data.readings import LongReadings, detect_layout, to_long, warn_unit_mismatch
from dff_core.data.report import Issue, IssueCollector, ValidationReport
from dff_core.data.sensors import Sensors, parse_sensors, read_sensor_rows
from dff_core.data.timegrid import fill_gaps, to_grid
from dff_core.data.timezones import resolve_zone
from dff_core.data.values import DUPLICATE_POLICIES, ZERO_SPEED_POLICIES

__all__ = ["DEFAULT_MIN_STEPS", "load_dataset"]

#: Fewest complete time steps accepted: lag features plus train/validation/test splits need
#: at least about a day of 15-minute data.
DEFAULT_MIN_STEPS = 96


def _check_arguments(
    value: str,
    max_gap_steps: int,
    k_neighbours: int,
    min_steps: int,
    options: dict[str, str | None],
) -> None:
    """``ValueError`` naming the argument for settings that are not the caller's data's fault."""
    if value not in VALUE_KINDS:
        raise ValueError(f"value={value!r} is not supported; use one of {', '.join(VALUE_KINDS)}.")
    if options["duplicates"] not in DUPLICATE_POLICIES:
        raise ValueError(f"duplicates={options['duplicates']!r}; use one of {', '.join(DUPLICATE_POLICIES)}.")
    if options["duplicates"] == "sum" and value != "count":
        raise ValueError("duplicates='sum' adds readings up, which suits counts, not speeds; use 'mean' for speeds.")
    if options["zero_speeds"] not in ZERO_SPEED_POLICIES:
        raise ValueError(f"zero_speeds={options['zero_speeds']!r}; use one of {', '.join(ZERO_SPEED_POLICIES)}.")
    if options["timezone"] is not None:
        resolve_zone(options["timezone"])
    if options["crs"] is not None:
        check_crs(options["crs"])
    unit = options["count_unit"]
    if unit is not None and (not str(unit).strip() or value != "count"):
        raise ValueError(
            f"count_unit={unit!r} names what counts count (e.g. 'boardings'); give it only with value='count'."
        )
    if not isinstance(max_gap_steps, (int, np.integer)) or max_gap_steps < 0:
        raise ValueError(f"max_gap_steps={max_gap_steps!r} must be a non-negative integer.")
    if not isinstance(k_neighbours, (int, np.integer)) or k_neighbours < 1:
        raise ValueError(f"k_neighbours={k_neighbours!r} must be a positive integer.")
    if not isinstance(min_steps, (int, np.integer)) or min_steps < 2:
        raise ValueError(f"min_steps={min_steps!r} must be an integer of at least 2.")


def _source_label(readings: Source) -> str:
    """What :attr:`Dataset.source` says: the readings' path, or ``"upload"`` for content."""
    if hasattr(readings, "__fspath__") or (isinstance(readings, str) and "\n" not in readings):
        return str(readings)
    return "upload"


def _match_sensors(
    readings: LongReadings, sensors: Sensors, rname: str, sname: str, issues: IssueCollector, report: ValidationReport
) -> Sensors:
    """Cross-check the two files: readings of unlisted sensors are errors, sensors without readings are left out."""
    for sid in [c for c in readings.first_line if c not in sensors.listed]:
        issues.error(
            rname,
            readings.first_line[sid],
            readings.column_of(sid),
            f"sensor '{sid}' has readings but is not in {sname}. Add it (with coordinates) to {sname}, "
            "or remove its readings.",
            kind="unknown sensor",
        )
    have = set(readings.first_line)
    unused = [sid for sid in sensors.frame.index if sid not in have]
    if unused:
        report.unused_sensors += len(unused)
        issues.warn(
            sname,
            None,
            None,
            f"{len(unused)} sensor(s) have no readings in {rname} and were left out: "
            f"{', '.join(unused[:20])}{', ...' if len(unused) > 20 else ''}.",
        )
    return dataclasses.replace(sensors, frame=sensors.frame.loc[[sid for sid in sensors.frame.index if sid in have]])


def _check_size(
    wide: pd.DataFrame, step: pd.Timedelta, min_steps: int, rname: str, time_column: str, issues: IssueCollector
) -> None:
    """Errors when fewer than 2 sensors or ``min_steps`` time steps survived validation."""
    if wide.shape[1] < 2:
        issues.error(
            rname,
            None,
            None,
            f"only {wide.shape[1]} usable sensor(s) remain; a road network needs at least 2. Check the warnings above.",
        )
    elif len(wide) < min_steps:
        issues.error(
            rname,
            None,
            time_column,
            f"only {len(wide)} complete time step(s) of {format_duration(step)}; at least {min_steps} are needed "
            f"to build lag features and train/validation/test splits. Give a longer period "
            f"(at least {format_duration(step * min_steps)}).",
        )


def load_dataset(
    readings: Source,
    sensors: Source | None = None,
    links: Source | None = None,
    *,
    value: str = "speed_kmh",
    start: TimestampLike | None = None,
    freq: DurationLike | None = None,
    readings_name: str | None = None,
    sensors_name: str | None = None,
    links_name: str | None = None,
    max_gap_steps: int = 3,
    k_neighbours: int = 3,
    min_steps: int = DEFAULT_MIN_STEPS,
    source: str | None = None,
    duplicates: str = "error",
    zero_speeds: str = "missing",
    timezone: str | None = None,
    crs: str | None = None,
    count_unit: str | None = None,
) -> tuple[Dataset, ValidationReport]:
    """Read, validate and assemble a traffic :class:`Dataset`.

    Each of ``readings``, ``sensors``, ``links`` may be a path, CSV bytes, a file-like object
    (e.g. a Streamlit upload) or a DataFrame. ``value`` declares what the readings measure:
    ``"speed_kmh"``, ``"speed_mph"`` or ``"count"`` (``count_unit`` names what is counted, e.g.
    ``"boardings"``; default vehicles). ``start``/``freq`` give the time axis of a wide file without
    timestamps; ``freq`` coarser than the data averages onto that step. Without ``links`` a connected
    ``k_neighbours``-nearest-neighbour road graph is built. Without ``sensors`` the long-format
    readings must carry coordinate columns.

    Data semantics: ``duplicates`` says what to do with rows giving one sensor different values at
    one timestamp (``"error"``, or combine them: ``"mean"``, ``"sum"``, ``"first"``, ``"last"``);
    ``zero_speeds="missing"`` treats speeds of exactly 0 as failed readings (``"keep"``: standstill);
    timestamps with UTC offsets are converted to ``timezone`` (default: the zone of the file's
    offsets); ``crs`` names the coordinate system of the sensors' coordinates (x/y or lat/lon
    columns), converted to WGS84 degrees.

    Returns the dataset and a report of warnings, notes and repairs (``report.summary_lines()``);
    raises :class:`DataError` listing every error (with file, line and column) when the input cannot
    be used.
    """
    options = {
        "duplicates": duplicates,
        "zero_speeds": zero_speeds,
        "timezone": timezone,
        "crs": crs,
        "count_unit": count_unit,
    }
    _check_arguments(value, max_gap_steps, k_neighbours, min_steps, options)
    step = parse_duration(freq, "freq")
    start_ts = parse_timestamp(start, "start") if start is not None else None

    report = ValidationReport()
    issues = IssueCollector(report)
    rname = display_name(readings, readings_name, "readings.csv")
    sname = display_name(sensors, sensors_name, "sensors.csv") if sensors is not None else "sensors.csv"
    lname = display_name(links, links_name, "links.csv") if links is not None else "links.csv"
    source = _source_label(readings) if source is None else source

    rt = read_table_fast(readings, rname, issues)
    st = read_table(sensors, sname, issues) if sensors is not None else None
    lt = read_table(links, lname, issues) if links is not None else None
    sensor_rows = read_sensor_rows(st, issues) if st is not None else None

    wide = None
    long = None
    if rt is not None and rt.rows:
        layout = detect_layout(rt, sensor_rows.ids if sensor_rows is not None else None, start)
        if start is not None and layout in ("wide", "long"):
            issues.warn(rname, 1, None, "has its own timestamps; start= was ignored.")
        long = to_long(rt, layout, start_ts, step, issues)
        if long is not None:
            warn_unit_mismatch(long.value_column, value, rname, issues)
            grid = to_grid(
                long, rname, value, step, issues, report, duplicates=duplicates, zero_speeds=zero_speeds,
                timezone=timezone,
            )  # fmt: skip
            if grid is not None:
                wide, step = grid

    if st is None and long is not None and long.locations is not None:
        sensor_rows = long.locations
        report.info.append(f"sensor locations were taken from the latitude/longitude columns of {rname}")
        sname = rname
    elif st is None and long is not None:
        issues.error(
            sname,
            None,
            None,
            "no sensor file was given. Give a sensors file (sensor_id,latitude,longitude[,name]) so the sensors "
            f"can be placed on the map and joined into a road graph, or add latitude/longitude columns to {rname}.",
        )
    located = parse_sensors(sensor_rows, sname, issues, report, crs) if sensor_rows is not None else None

    # cross-file checks run whenever both sides could be read, even if other problems were found
    if long is not None and located is not None:
        located = _match_sensors(long, located, rname, sname, issues, report)
    if wide is not None and long is not None and located is not None and not issues.has_errors():
        wide = wide[[c for c in wide.columns if c in located.frame.index]]  # drops sensors with bad coordinates
        wide = fill_gaps(wide, int(max_gap_steps), rname, step, issues, report)
        located = dataclasses.replace(located, frame=located.frame.loc[list(wide.columns)])
        _check_size(wide, step, min_steps, rname, long.time_column, issues)
    links_df = None
    if lt is not None and located is not None:
        links_df = parse_links(lt, located, issues, report)
        if links_df is not None and not issues.has_errors():
            parts = n_components(list(located.frame.index), links_df)
            if parts > 1:
                issues.warn(
                    lname,
                    None,
                    None,
                    f"the links form {parts} separate parts; no route exists between sensors in different parts. "
                    "Add links that join them.",
                )
    elif lt is None and wide is not None and located is not None and not issues.has_errors():
        links_df = infer_links(located, int(k_neighbours), report)
    issues.flush()
    if report.ok and (wide is None or located is None or links_df is None or step is None):
        # defensive: every failure path above records an error
        report.errors.append(Issue(rname, None, None, "could not be loaded; see the warnings.", "error"))
    report.raise_if_errors()
    # raise_if_errors raised unless every part above was loaded
    assert wide is not None and located is not None and links_df is not None and step is not None
    wide.columns = pd.Index([str(c) for c in wide.columns], dtype=object)
    types = {"from_id": object, "to_id": object, "length_km": float, "capacity": float}
    types.update({c: float for c in OPTIONAL_LINK_COLUMNS if c in links_df.columns})
    ds = Dataset(
        readings=wide,
        sensors=located.frame.copy(),
        links=links_df.astype(types),
        value_kind=value,
        freq=pd.Timedelta(step),
        graph_inferred=lt is None,
        source=source,
        count_unit=str(count_unit).strip() if count_unit is not None else None,
    )
    report.info.insert(
        0,
        f"loaded {wide.shape[1]} sensors x {len(wide)} time steps of {format_duration(step)} "
        f"({wide.index[0]} to {wide.index[-1]}), {len(links_df)} links",
    )
    return ds, report
