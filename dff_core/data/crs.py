"""Coordinates in any reference system: check a ``crs`` argument and convert x/y to longitude/latitude.

Many open-data portals publish sensor positions in a projected system (UTM or a national grid, in
metres). ``crs="EPSG:32721"`` (any text pyproj understands) declares that system; the sensors'
coordinates are converted to WGS84 longitude/latitude, which the maps and distances use.
"""

from __future__ import annotations

import numpy as np
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

__all__ = ["WGS84", "check_crs", "looks_projected", "to_lonlat"]

WGS84 = "EPSG:4326"
#: Coordinates larger than this in absolute value cannot be degrees and are most likely metres.
PROJECTED_MAGNITUDE = 1000.0


def check_crs(crs: str) -> CRS:
    """The coordinate reference system ``crs`` names; ``ValueError`` naming the argument otherwise."""
    try:
        return CRS.from_user_input(str(crs).strip())
    except (CRSError, TypeError, ValueError) as exc:
        raise ValueError(
            f"crs={crs!r} is not a coordinate reference system; give an EPSG code such as 'EPSG:32631' "
            "(UTM zone 31N) or 'EPSG:27700' (British National Grid)."
        ) from exc


def to_lonlat(x: np.ndarray, y: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """``x``/``y`` in ``crs`` (easting/northing, or longitude/latitude for a geographic system) as
    WGS84 longitude/latitude; points that cannot be converted become NaN."""
    transformer = Transformer.from_crs(check_crs(crs), WGS84, always_xy=True)
    lon, lat = transformer.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float), errcheck=False)
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    bad = ~np.isfinite(lon) | ~np.isfinite(lat) | (np.abs(lat) > 90) | (np.abs(lon) > 180)
    lon[bad] = np.nan
    lat[bad] = np.nan
    return lon, lat


def looks_projected(values: np.ndarray) -> bool:
    """Whether out-of-range "degrees" are rather projected coordinates (metres: far beyond 180)."""
    v = np.abs(np.asarray(values, dtype=float))
    v = v[np.isfinite(v)]
    return bool(len(v)) and bool(np.median(v) > PROJECTED_MAGNITUDE)
