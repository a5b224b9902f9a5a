"""One typed description of a scenario, and the one factory that builds it.

:class:`ScenarioSpec` holds every option of a scenario: where the data come from (files, the
bundled sample city, the METR-LA week or an items table), how to read them, and the decision
problem's settings (horizon, trips, budget...). The command line maps its arguments onto it
(:func:`spec_fields` lists the options, so new fields appear as flags by themselves), a sweep
config embeds it as its ``[scenario]`` table, and the dashboard's settings are one. Adding a
scenario option means adding a field here and using it in :func:`build`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from dff_core.data import ValidationReport, load_dataset, load_metr_la, sample_paths
from dff_core.data.crs import check_crs
from dff_core.data.io import regular_file_problem
from dff_core.data.parsing import parse_duration
from dff_core.data.roadnet import DEFAULT_MATCH_M, RoadNetwork, SensorMatch, load_road_network, match_sensors
from dff_core.data.timezones import resolve_zone
from dff_core.errors import DataError
from dff_core.scenarios.allocation import build_allocation_scenario
from dff_core.scenarios.base import Scenario
from dff_core.scenarios.choices import default_allocation_value
from dff_core.scenarios.network import build_network_scenario
from dff_core.scenarios.traffic import build_traffic_scenario

if TYPE_CHECKING:
    from dff_core.data import Dataset


#: Options naming input files (their contents enter run keys through the data digest, not the path).
PATH_FIELDS = ("readings", "sensors", "links", "items", "network", "network_nodes")
#: Options saying where data come from and how to read them (shared by ``validate`` and ``compare``).
DATA_FIELDS = (
    "readings", "sample", "metr_la", "items", "sensors", "links", "value", "start", "freq",
    "duplicates", "zero_speeds", "timezone", "crs", "count_unit", "network", "network_nodes", "network_crs",
    "match_distance",
)  # fmt: skip
#: How to read the data files, beyond naming them (passed to :func:`~dff_core.data.load_dataset`).
READ_FIELDS = ("value", "start", "freq", "duplicates", "zero_speeds", "timezone", "crs", "count_unit")


class ScenarioSpec(BaseModel):
    """Everything that defines a scenario (JSON/TOML-able; validated on construction).

    With no data option (``readings``, ``metr_la``, ``items``) the bundled sample city is used.
    Relative paths are looked up in ``base_dir`` (e.g. a sweep config's folder) first, then in the
    current directory.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["traffic", "allocation"] = Field(
        default="traffic", description="what is decided: traffic routing or an allocation of units"
    )
    # --- data -------------------------------------------------------------------------------
    readings: str | None = Field(default=None, description="readings CSV (long: timestamp,sensor_id,value; or wide)")
    sample: bool = Field(default=False, description="use the bundled synthetic city")
    metr_la: str | None = Field(
        default=None, description="use the METR-LA week ('' = $DFF_SHARED_DATA/metr-la-week or ../shared/data)"
    )
    items: str | None = Field(
        default=None, description="allocation items CSV (period,item_id,value,features...); 'sample' = bundled"
    )
    sensors: str | None = Field(default=None, description="sensors CSV (sensor_id,latitude,longitude[,name])")
    links: str | None = Field(
        default=None, description="links CSV (from_id,to_id[,length_km,capacity]); default: nearest"
    )
    value: Literal["speed_kmh", "speed_mph", "count"] | None = Field(default=None, description="what readings measure")
    start: str | None = Field(default=None, description="time of the first row of a wide file without timestamps")
    freq: str | None = Field(default=None, description="reading interval, e.g. 5min (or coarser, to average)")
    duplicates: Literal["error", "mean", "sum", "first", "last"] | None = Field(
        default=None, description="rows giving a sensor different values at one time: error (default) or combine them"
    )
    zero_speeds: Literal["missing", "keep"] | None = Field(
        default=None, description="speeds of exactly 0: missing (default; a failed detector) or keep (standstill)"
    )
    timezone: str | None = Field(
        default=None,
        description="local time zone for timestamps with UTC offsets (default: the file's), e.g. Europe/Paris",
    )
    crs: str | None = Field(
        default=None, description="coordinate system of the sensors' x/y (e.g. EPSG:32721; default WGS84)"
    )
    count_unit: str | None = Field(default=None, description="what counts count, e.g. boardings (default vehicles)")
    network: str | None = Field(
        default=None,
        description="traffic: road network to route on (TNTP _net.tntp, links CSV, GeoJSON/GeoPackage of links); "
        "default: the sensor graph",
    )
    network_nodes: str | None = Field(
        default=None, description="node coordinates of the network (default: X_node.tntp next to X_net.tntp)"
    )
    network_crs: str | None = Field(
        default=None, description="coordinate system of the network's coordinates (e.g. EPSG:26771; default WGS84)"
    )
    match_distance: float | None = Field(
        default=None,
        gt=0,
        description=f"metres within which a sensor is put on its nearest network link (default {DEFAULT_MATCH_M:g})",
    )
    # --- decisions --------------------------------------------------------------------------
    horizon: str | None = Field(
        default=None, description="how far ahead to predict (default: the smallest multiple of the interval >= 30min)"
    )
    split: tuple[float, float, float] | tuple[str, str, str] = Field(
        default=(0.6, 0.2, 0.2), description="train,val,test: fractions 0.6,0.2,0.2 or durations 5D,1D,1D"
    )
    every: str | None = Field(
        default="auto", description="spacing of decision times ('auto': 15min when finer; none: all)"
    )
    pairs: list[tuple[str, str]] | None = Field(
        default=None,
        min_length=1,
        description="traffic: trips as ORIGIN:DEST sensor ids (network node ids with network), comma separated",
    )
    n_pairs: int = Field(default=5, ge=1, description="traffic: number of default long trips")
    demand: float | None = Field(default=None, gt=0, description="traffic: vehicles per trip (default 1)")
    capacities: bool = Field(default=False, description="traffic: route as one flow under the links' capacity column")
    bpr_alpha: float | None = Field(default=None, ge=0, description="traffic from counts: BPR alpha (default 0.15)")
    bpr_beta: float | None = Field(default=None, gt=0, description="traffic from counts: BPR beta (default 4)")
    free_flow_kmh: float | None = Field(
        default=None, gt=0, description="traffic from counts: free-flow speed where links give none (default 50)"
    )
    lane_capacity: float | None = Field(
        default=None, gt=0, description="traffic from counts: vehicles per hour per lane (default 1800)"
    )
    budget: float = Field(default=5.0, gt=0, description="allocation: units to allocate")
    alloc_value: Literal["delay", "count"] | None = Field(default=None, description="allocation: value to rank by")
    corridor_cap: float | None = Field(default=None, gt=0, description="allocation: cap of units per corridor")
    source: Literal["readings", "items"] | None = Field(
        default=None, description="allocation: allocate to sensors of the readings or to items (default: what is given)"
    )
    seed: int = Field(default=0, ge=0, description="seeds the scenario (default trips, corridors)")
    base_dir: str | None = Field(default=None, exclude=True, description="folder relative paths are resolved against")

    # ----------------------------------------------------------------------- validation
    @field_validator("horizon", "freq")
    @classmethod
    def _durations(cls, v: str | None, info: Any) -> str | None:
        if v is not None and str(v).strip().lower() in ("auto", ""):
            return None
        if v is not None:
            parse_duration(v, info.field_name)
        return v

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, v: str | None) -> str | None:
        if v is not None:
            resolve_zone(v)
        return v

    @field_validator("crs", "network_crs")
    @classmethod
    def _crs(cls, v: str | None) -> str | None:
        if v is not None:
            check_crs(v)
        return v

    @field_validator("count_unit")
    @classmethod
    def _count_unit(cls, v: str | None) -> str | None:
        if v is not None and not str(v).strip():
            raise ValueError("count_unit names what is counted, e.g. 'boardings'; it cannot be empty")
        return None if v is None else str(v).strip()

    @field_validator("every", mode="before")
    @classmethod
    def _every(cls, v: Any) -> Any:
        return None if v is None or str(v).strip().lower() in ("none", "all") else (v or "auto")

    @field_validator("split", mode="before")
    @classmethod
    def _split(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [s.strip() for s in v.split(",")]
        if isinstance(v, (list, tuple)):
            if len(v) != 3:
                raise ValueError(f"split needs three parts, e.g. 0.6,0.2,0.2 or 5D,1D,1D; got {v!r}")
            try:
                return tuple(float(s) for s in v)
            except (TypeError, ValueError):
                return tuple(str(s) for s in v)
        return v

    @field_validator("pairs", mode="before")
    @classmethod
    def _pairs(cls, v: Any) -> Any:
        if v is None:
            return v
        chunks = v.split(",") if isinstance(v, str) else v
        out = []
        for chunk in chunks:
            if isinstance(chunk, str):
                a, sep, b = chunk.strip().partition(":")
                if not (sep and a and b):
                    raise ValueError(f"pairs are 'ORIGIN:DESTINATION' sensor ids, e.g. 'S1:S9'; got {chunk!r}")
                out.append((a, b))
            else:
                out.append(tuple(chunk))
        return out

    # ----------------------------------------------------------------------- files
    def resolve(self, key: str) -> Path | None:
        """Absolute path of file option ``key`` (``None`` when unset); raises if not found."""
        raw = getattr(self, key)
        if raw is None or (key == "items" and raw == "sample"):
            return None
        p = Path(raw).expanduser()
        candidates = [p] if p.is_absolute() else [Path(self.base_dir or ".") / p, Path.cwd() / p]
        for c in candidates:
            if c.is_file():
                return c.resolve()
        for c in candidates:
            if c.exists():  # a folder, device, pipe or socket: refused before anything is read
                raise DataError([f"scenario.{key}: {regular_file_problem(c)}"])
        where = " or ".join(dict.fromkeys(str(c.parent.resolve()) for c in candidates))
        raise FileNotFoundError(f"scenario.{key}: file {raw!r} not found (looked in {where})")

    def metr_la_folder(self) -> str | None:
        """The METR-LA folder option with relative paths resolved against ``base_dir``."""
        if not self.metr_la:
            return self.metr_la
        folder = Path(self.metr_la).expanduser()
        return str(folder if folder.is_absolute() else (Path(self.base_dir or ".") / folder).resolve())

    def problems(self) -> list[str]:
        """Missing files and contradicting options, one line each (empty when the spec is usable)."""
        out = []
        for key in PATH_FIELDS:
            try:
                self.resolve(key)
            except (FileNotFoundError, DataError) as exc:
                out.append(str(exc))
        folder = self.metr_la_folder()
        if folder and not Path(folder).is_dir():
            out.append(f"scenario.metr_la: folder {self.metr_la!r} not found")
        chosen = [self.readings is not None, self.sample, self.metr_la is not None]
        if sum(chosen) > 1:
            out.append("scenario: give only one of readings, sample and metr_la")
        if self.kind == "traffic" and self.items is not None:
            out.append("scenario.items: only used by kind = 'allocation' (traffic routing needs sensor readings)")
        if self.kind != "traffic" and (self.network is not None or self.network_nodes is not None):
            out.append("scenario.network: only used by kind = 'traffic' (routing on a road network)")
        if self.network is None and (self.network_nodes is not None or self.network_crs is not None):
            out.append("scenario.network_nodes/network_crs: give the network file too (network = ...)")
        if self.network is not None and self.capacities:
            out.append("scenario.capacities: not available on a road network yet; leave it unset with network")
        if self.items is not None and (self.readings is not None or self.metr_la is not None):
            out.append("scenario.items: give either items or readings/metr_la for an allocation scenario, not both")
        return out

    @property
    def uses_sample(self) -> bool:
        """Whether the bundled sample city is the data (explicitly, or because no data was named)."""
        return self.sample or (self.readings is None and self.metr_la is None and self.items is None)

    def options(self) -> dict[str, Any]:
        """The non-file options (file contents enter run keys through the data digest instead)."""
        return {k: v for k, v in self.model_dump(exclude_none=True, mode="json").items() if k not in PATH_FIELDS}

    def build(self, dataset: Dataset | None = None, items: pd.DataFrame | None = None) -> Scenario:
        """Shorthand for :func:`build` ``(self, ...)``."""
        return build(self, dataset=dataset, items=items)


def spec_fields(names: tuple[str, ...] | None = None) -> Iterator[tuple[str, Any]]:
    """``(name, FieldInfo)`` of the spec's user-facing options (all, or those in ``names``)."""
    for name, info in ScenarioSpec.model_fields.items():
        if name == "base_dir" or (names is not None and name not in names):
            continue
        yield name, info


def load_data(spec: ScenarioSpec) -> tuple[Dataset | None, ValidationReport | None]:
    """The readings dataset a spec names and its validation report.

    ``(None, None)`` when the spec names only an items table; the METR-LA loader has no report
    (unless a road network is given). With ``network``, the report also holds the network's checks
    and which link each sensor was matched onto.
    """
    ds, report = _load_readings(spec)
    if ds is not None and spec.network is not None and spec.kind == "traffic":
        report = report if report is not None else ValidationReport()
        road_network(spec, ds, report)
    return ds, report


def road_network(
    spec: ScenarioSpec, dataset: Dataset, report: ValidationReport | None = None
) -> tuple[RoadNetwork, SensorMatch]:
    """The road network a spec names, and the matching of the dataset's sensors onto its links.

    With ``report``, the network's warnings and notes and the matching are added to it.
    """
    path = spec.resolve("network")
    if path is None:
        raise ValueError("road_network: the spec names no road network; set network (command line: --network FILE).")
    network = load_road_network(path, nodes=spec.resolve("network_nodes"), crs=spec.network_crs)
    match = match_sensors(network, dataset.sensors, spec.match_distance or DEFAULT_MATCH_M, report)
    if report is not None:
        report.warnings.extend(network.report.warnings)
        report.info.extend(network.report.info)
    return network, match


def _load_readings(spec: ScenarioSpec) -> tuple[Dataset | None, ValidationReport | None]:
    if sum([spec.readings is not None, spec.sample, spec.metr_la is not None]) > 1:
        raise ValueError("give only one of --readings, --sample and --metr-la.")
    if spec.metr_la is not None:
        return load_metr_la(spec.metr_la_folder() or None), None
    kw: dict[str, Any] = {k: getattr(spec, k) for k in READ_FIELDS if getattr(spec, k) is not None}
    kw["value"] = spec.value or "speed_kmh"
    if spec.readings is None:
        if spec.items is not None and not spec.sample:
            return None, None
        paths = sample_paths()
        if not paths["readings"].exists():
            raise FileNotFoundError(f"sample data not found at {paths['readings'].parent}")
        kw = {"value": "speed_kmh", **{k: v for k, v in kw.items() if k in ("duplicates", "zero_speeds")}}
        return load_dataset(paths["readings"], paths["sensors"], paths["links"], source="sample", **kw)
    files = {k: spec.resolve(k) for k in ("readings", "sensors", "links")}
    return load_dataset(files["readings"], files["sensors"], files["links"], **kw)


def items_path(spec: ScenarioSpec) -> Path | None:
    """The items file a spec names (``None`` when it names none)."""
    if spec.items is None:
        return None
    return sample_paths()["items"] if spec.items == "sample" else spec.resolve("items")


def absolute(spec: ScenarioSpec) -> ScenarioSpec:
    """The same spec with every file option an absolute path (so it can be rebuilt from any folder)."""
    update: dict[str, Any] = {k: str(p) for k in PATH_FIELDS if (p := spec.resolve(k)) is not None}
    if spec.metr_la:
        update["metr_la"] = spec.metr_la_folder()
    return spec.model_copy(update={**update, "base_dir": None})


def build(spec: ScenarioSpec, dataset: Dataset | None = None, items: pd.DataFrame | None = None) -> Scenario:
    """The scenario ``spec`` describes; it keeps the spec (paths made absolute) as ``scenario.spec``.

    The data are loaded from the files the spec names, unless ``dataset`` (readings already
    loaded, e.g. uploaded in the dashboard) or ``items`` (a validated items table) are given.
    """
    scenario = _build(spec, dataset, items)
    scenario.spec = absolute(spec).model_dump(mode="json", exclude_none=True)
    return scenario


def _build(spec: ScenarioSpec, dataset: Dataset | None, items: pd.DataFrame | None) -> Scenario:
    if spec.kind == "traffic":
        if spec.items is not None and dataset is None:
            raise ValueError("--items is for --scenario allocation; traffic routing needs sensor readings.")
        ds = dataset if dataset is not None else load_data(spec)[0]
        if ds is None:
            raise ValueError("no data: give --readings FILE (with --sensors), --sample or --metr-la.")
        bpr = {k: getattr(spec, k) for k in ("bpr_alpha", "bpr_beta", "free_flow_kmh", "lane_capacity")}
        bpr = {k: v for k, v in bpr.items() if v is not None}
        if spec.network is not None:
            if spec.capacities:
                raise ValueError("--capacities is not available with --network yet; leave it out.")
            network, match = road_network(spec, ds)
            return build_network_scenario(
                ds, network, match, horizon=spec.horizon, pairs=spec.pairs, n_pairs=spec.n_pairs,
                demand=spec.demand, split=spec.split, seed=spec.seed, every=spec.every, **bpr,
            )  # fmt: skip
        return build_traffic_scenario(
            ds, horizon=spec.horizon, pairs=spec.pairs, n_pairs=spec.n_pairs, demand=spec.demand,
            capacities=spec.capacities, split=spec.split, seed=spec.seed, every=spec.every, **bpr,
        )  # fmt: skip
    use_items = spec.source == "items" or (
        spec.source is None and (items is not None or spec.items is not None) and dataset is None
    )
    if spec.items is not None and dataset is None and (spec.readings is not None or spec.metr_la is not None):
        raise ValueError("give either --items or readings (--readings/--metr-la) for the allocation scenario.")
    if use_items:
        table = items if items is not None else items_path(spec)
        if table is None:
            raise ValueError("the allocation scenario from items needs an items table (--items FILE or 'sample').")
        return build_allocation_scenario(items=table, budget=spec.budget, split=spec.split)
    ds = dataset if dataset is not None else load_data(spec)[0]
    if ds is None:
        raise ValueError("no data: give --readings FILE (with --sensors), --sample, --metr-la or --items.")
    value = spec.alloc_value or default_allocation_value(ds)
    return build_allocation_scenario(
        ds, budget=spec.budget, value=value, corridor_caps=spec.corridor_cap, horizon=spec.horizon,
        split=spec.split, seed=spec.seed, every=spec.every,
    )  # fmt: skip
