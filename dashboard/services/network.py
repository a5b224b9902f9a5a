"""An uploaded road network as the decision graph: its files, its checks and its sensors' matches.

The engine reads networks from files (:func:`dff_core.data.roadnet.load_road_network`) and a run's
scenario spec names them by path, so uploaded network files are written once to a folder named by
the digest of their bytes (``<cache dir>/networks/<digest>/``, under the user's file names so every
message names the file the user knows). The same bytes always land at the same path: the path in
a run's spec, and so the run's digest, changes exactly when the network does. Folders no stored run
uses are removed after a week unused, or sooner when they fill more than 2 GB (:func:`clean_networks`).

Loading goes through the engine's own spec function, :func:`dff_core.scenarios.spec.road_network`,
so the Data page checks the network and matches the sensors exactly as a run will.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dashboard.services.folders import cache_dir
from dff_core.data.crs import check_crs
from dff_core.data.digest import digest_bytes
from dff_core.data.report import ValidationReport
from dff_core.data.roadnet import DEFAULT_MATCH_M, RoadNetwork, SensorMatch
from dff_core.errors import DataError
from dff_core.scenarios.spec import ScenarioSpec, road_network

__all__ = [
    "NETWORK_DEFAULTS",
    "NETWORK_KINDS",
    "RoadView",
    "load_network",
    "network_options",
    "node_frame",
    "store_files",
]

#: The network's upload kinds: the links file, and the node coordinates (TNTP ``_node.tntp`` or a CSV).
NETWORK_KINDS = ("network", "network_nodes")
#: How the network is read, beyond its files (the scenario spec's fields), and their defaults.
NETWORK_DEFAULTS: dict[str, Any] = {"network_crs": None, "match_distance": DEFAULT_MATCH_M}
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class RoadView:
    """A checked road network, how the loaded sensors sit on it, and the spec fields that name it."""

    network: RoadNetwork
    match: SensorMatch
    #: ``network``, ``network_nodes``, ``network_crs``, ``match_distance``: what a run's scenario spec gets.
    spec: dict[str, Any]

    @property
    def name(self) -> str:
        return self.network.name

    @property
    def n_links(self) -> int:
        return len(self.network.links)

    @property
    def matched(self) -> int:
        return len(self.match.table)

    @property
    def dropped(self) -> int:
        """Sensors left out of the routing: farther than the matching distance from every link."""
        return len(self.match.unmatched)

    def __repr__(self) -> str:
        return f"RoadView({self.name!r}, links={self.n_links}, matched={self.matched}, dropped={self.dropped})"

    def distances(self) -> tuple[float, float]:
        """Median and largest distance (m) from a matched sensor to its link."""
        d = self.match.table["distance_m"].to_numpy(float)
        return float(np.median(d)), float(np.max(d))


def network_options(network_crs: str | None = None, match_distance: float | str | None = None) -> dict[str, Any]:
    """The network options that differ from the defaults (empty text and the default distance count as not given).

    Raises ``ValueError`` naming the option when the distance is not a positive number of metres.
    """
    out: dict[str, Any] = {}
    crs = network_crs.strip() if isinstance(network_crs, str) else network_crs
    if crs:
        try:
            check_crs(crs)
        except ValueError as err:
            raise ValueError(f"Coordinate system of the network: {err}") from None
        out["network_crs"] = crs
    if match_distance not in (None, ""):
        try:
            d = float(match_distance)
        except (TypeError, ValueError):
            d = float("nan")
        if not (np.isfinite(d) and d > 0):
            raise ValueError(
                f"Maximum matching distance: {match_distance!r} is not a positive number of metres; give e.g. 200."
            )
        if d != NETWORK_DEFAULTS["match_distance"]:
            out["match_distance"] = d
    return out


def _safe_name(name: str, fallback: str) -> str:
    """The base name of an uploaded file with only plain characters (it becomes a file on the server)."""
    base = _SAFE.sub("_", Path(str(name)).name).strip("._") or fallback
    return base[:120]


def store_files(files: Mapping[str, tuple[str, bytes]]) -> dict[str, str]:
    """Write the uploaded network files (``{kind: (name, bytes)}``) to their content-addressed folder.

    Returns the spec fields ``network`` (and ``network_nodes``) as absolute paths. Writing is
    skipped when the folder already holds the same bytes; a file is written aside and renamed, so a
    reader never sees half of it.
    """
    if "network" not in files:
        raise DataError(["The node file needs its road network: upload the links file (e.g. X_net.tntp) too."])
    parts = {k: files[k][1] for k in NETWORK_KINDS if k in files}
    names = repr(sorted(name for name, _ in files.values())).encode()
    folder = cache_dir() / "networks" / digest_bytes({**parts, "names": names})
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, str] = {}
    names: set[str] = set()
    for kind in NETWORK_KINDS:
        if kind not in files:
            continue
        name = _safe_name(files[kind][0], f"{kind}.csv")
        name = f"nodes-{name}" if name in names else name
        names.add(name)
        path = folder / name
        blob = files[kind][1]
        if not (path.is_file() and path.read_bytes() == blob):
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_bytes(blob)
            tmp.replace(path)
        out[kind] = str(path.resolve())
    os.utime(folder)  # used now: kept by clean_networks for another NETWORK_TTL_S
    clean_networks()
    return out


#: Uploaded networks no stored run uses are removed once untouched this long (seconds) ...
NETWORK_TTL_S = 7 * 24 * 3600.0
#: ... or, oldest first, while such networks take more than this many bytes together.
NETWORK_CAP_BYTES = 2_000_000_000
_RUN_SPEC = "summary.json"


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.iterdir() if f.is_file())


def clean_networks(ttl_s: float = NETWORK_TTL_S, cap_bytes: int = NETWORK_CAP_BYTES) -> list[str]:
    """Remove uploaded network folders no stored run names; returns the removed folders' names.

    A folder is kept while a run in the store uses it (the run's spec names its files, and reopening
    the run reads them again) or while it was uploaded or used within ``ttl_s``; beyond that, and
    oldest first whenever the unused ones take more than ``cap_bytes``, it is removed.
    """
    root = cache_dir() / "networks"
    if not root.is_dir():
        return []
    used: set[str] = set()
    for summary in cache_dir().glob(f"*/{_RUN_SPEC}"):
        try:
            used |= set(re.findall(r"networks[\\/]+([0-9a-f]{16,64})", summary.read_text(encoding="utf-8")))
        except OSError:
            continue
    now = time.time()
    unused = []
    for folder in root.iterdir():
        if folder.is_dir() and folder.name not in used:
            try:
                unused.append((folder.stat().st_mtime, _size(folder), folder))
            except OSError:
                continue
    unused.sort(key=lambda t: t[0])  # oldest first
    total = sum(size for _, size, _ in unused)
    removed = []
    for mtime, size, folder in unused:
        if now - mtime < ttl_s and total <= cap_bytes:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        total -= size
        removed.append(folder.name)
    return removed


def load_network(
    files: Mapping[str, tuple[str, bytes]], dataset: Any, report: ValidationReport, options: Mapping[str, Any]
) -> RoadView:
    """Check the uploaded network and match ``dataset``'s sensors onto its links (results go into ``report``).

    Raises the engine's :class:`DataError` (file, line, what to do) for a network it refuses, and
    ``ValueError`` for an option it refuses (an unknown coordinate system).
    """
    if dataset is None:
        raise DataError(["A road network needs sensor readings and their locations: upload readings and sensors."])
    spec_fields = {**store_files(files), **{k: v for k, v in options.items() if k in NETWORK_DEFAULTS}}
    spec = ScenarioSpec(kind="traffic", **spec_fields)
    network, match = road_network(spec, dataset, report)
    return RoadView(network, match, spec_fields)


def node_frame(nodes: pd.DataFrame) -> pd.DataFrame:
    """A network's nodes (index node id; ``longitude``/``latitude``) as ``sensor_id, lat, lon`` places for maps."""
    return pd.DataFrame(
        {
            "sensor_id": nodes.index.astype(str),
            "lat": nodes["latitude"].astype(float).to_numpy(),
            "lon": nodes["longitude"].astype(float).to_numpy(),
        }
    )
